// "用此条目答复" on the intake form: fills the direct answer from the chosen knowledge-base entry and
// records which entry it was. A delegated listener, because the suggestions are swapped in by htmx and
// the Content-Security-Policy allows no inline handlers.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.knowledge-use") : null;
    if (!button || !button.form) { return; }
    var form = button.form;
    form.elements["direct_answer"].value = button.dataset.body;
    form.elements["knowledge_entry_id"].value = button.dataset.entry;
    var chosen = document.getElementById("knowledge-chosen");
    if (chosen) { chosen.textContent = button.dataset.chosen; }
  });
})();
