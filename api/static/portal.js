// The citizen portal: check the chosen photos before sending (the server checks them again), and copy the
// receipt. Loaded from /static only (CSP script-src 'self'); the page works without it.
(function () {
  "use strict";
  var form = document.getElementById("portal-submit");
  if (form) {
    var input = form.querySelector("input[name=photos]");
    var out = document.getElementById("photo-check");
    var check = function () {
      var max = parseInt(form.dataset.maxPhotos, 10), limit = parseInt(form.dataset.maxBytes, 10), problem = "";
      var files = input.files || [];
      if (files.length > max) {
        problem = form.dataset.tooMany;
      }
      for (var i = 0; !problem && i < files.length; i++) {
        if (files[i].size > limit) {
          problem = form.dataset.tooLarge.replace("{name}", files[i].name).replace("{mb}", form.dataset.mb);
        }
      }
      out.textContent = problem;
      out.hidden = !problem;
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      return !problem;
    };
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) {
      if (!check()) {
        event.preventDefault();
        input.focus();
      }
    });
  }
  var copy = document.getElementById("copy-receipt");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.dataset.text).then(function () { copy.textContent = copy.dataset.done; });
    });
  }
})();
