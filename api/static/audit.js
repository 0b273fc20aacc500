// The auditor's step-through: pick a step (click, or the arrow keys / previous / next buttons) and the
// diagram shows the tokens after it, with who, when, the input and the variables it changed.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("audit-data").textContent);
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-step]"));
  var detail = document.getElementById("audit-detail");
  var current = 0;

  function text(tag, value) { var el = document.createElement(tag); el.textContent = value; return el; }
  function show(value) { return value === undefined || value === null ? "—" : JSON.stringify(value); }

  function renderDetail(step) {
    detail.textContent = "";
    detail.appendChild(text("h3", step.step + ". " + (step.label || step.type) + (step.task_name ? " · " + step.task_name : "")));
    detail.appendChild(text("p", data.labels.actor + ": " + (step.actor || "—") + " · " + step.at));
    if (step.input) { detail.appendChild(text("p", data.labels.input + ": " + show(step.input))); }
    var names = Object.keys(step.changed || {});
    if (!names.length) { detail.appendChild(text("p", data.labels.no_change)); return; }
    var table = document.createElement("table");
    table.className = "diff";
    var head = table.insertRow();
    [data.labels.variable, data.labels.before, data.labels.after].forEach(function (h) { head.appendChild(text("th", h)); });
    names.forEach(function (name) {
      var row = table.insertRow();
      row.setAttribute("data-variable", name);
      row.appendChild(text("td", name));
      row.appendChild(text("td", show(step.changed[name].before)));
      row.appendChild(text("td", show(step.changed[name].after)));
    });
    detail.appendChild(table);
  }

  function select(index) {
    if (!data.steps.length) { return; }
    current = Math.max(0, Math.min(data.steps.length - 1, index));
    buttons.forEach(function (b, i) {
      if (i === current) { b.setAttribute("aria-current", "step"); } else { b.removeAttribute("aria-current"); }
    });
    var step = data.steps[current];
    var view = window.HotlineDiagram && window.HotlineDiagram.views["diagram-data"];
    if (view) { view.show(step.completed, step.active); }
    renderDetail(step);
    document.body.setAttribute("data-audit-step", String(current + 1));
  }

  buttons.forEach(function (b, i) { b.addEventListener("click", function () { select(i); }); });
  document.getElementById("audit-prev").addEventListener("click", function () { select(current - 1); });
  document.getElementById("audit-next").addEventListener("click", function () { select(current + 1); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowRight") { select(current + 1); e.preventDefault(); }
    if (e.key === "ArrowUp" || e.key === "ArrowLeft") { select(current - 1); e.preventDefault(); }
  });
  document.addEventListener("diagram:ready", function () { select(current); });
  select(0);
})();
