// The analyst studio: the file in bpmn-js (Modeler) or dmn-js (Modeler, opened on its first decision
// table), validate on the server (errors are listed and BPMN elements with errors are marked), save as a
// draft, or load a file from disk (e.g. edited in Camunda Modeler).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("studio-data").textContent);
  var container = document.getElementById("studio-canvas");
  var status = document.getElementById("studio-status");
  var list = document.getElementById("studio-errors");
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var textarea = document.getElementById("studio-text");
  // A task form is JSON in a text area; diagrams and tables open in bpmn-js / dmn-js.
  var modeler = data.kind === "form" ? {
    importXML: function (text) { textarea.value = text; return Promise.resolve(); },
    saveXML: function () { return Promise.resolve({ xml: textarea.value }); }
  } : data.kind === "bpmn" ? new BpmnJS({ container: container }) : new DmnJS({ container: container });
  var marked = [];

  function say(text, ok) {
    status.textContent = text;
    status.className = ok ? "ok" : "error";
  }

  function openFirstTable() {
    if (data.kind !== "dmn") { return; }
    var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    if (table) { return modeler.open(table); }
  }

  function load(xml) {
    return modeler.importXML(xml).then(openFirstTable).then(function () {
      if (data.kind === "bpmn") { modeler.get("canvas").zoom("fit-viewport"); }
      container.setAttribute("data-ready", "true");
      if (textarea) { textarea.setAttribute("data-ready", "true"); }
    }).catch(function (err) { say(String(err && err.message || err), false); });
  }

  function clearMarks() {
    if (data.kind !== "bpmn") { return; }
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "lint-error"); });
    marked = [];
  }

  function showErrors(errors) {
    list.textContent = "";
    clearMarks();
    var zh = document.documentElement.lang !== "en";
    errors.forEach(function (e) {
      var item = document.createElement("li");
      item.setAttribute("data-element", e.element || "");
      item.textContent = [e.file, e.element, e.rule && ("rule " + e.rule), e.cell].filter(Boolean).join(" · ")
        + ": " + (zh ? e.message_zh : e.message_en);
      list.appendChild(item);
      if (data.kind === "bpmn" && e.element && modeler.get("elementRegistry").get(e.element)) {
        modeler.get("canvas").addMarker(e.element, "lint-error");
        marked.push(e.element);
      }
    });
  }

  function post(url) {
    return modeler.saveXML({ format: true }).then(function (result) {
      return fetch(url, { method: "POST", body: result.xml, credentials: "same-origin",
                          headers: { "Content-Type": data.kind === "form" ? "application/json" : "application/xml",
                                     "X-CSRFToken": csrf } });
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    });
  }

  document.getElementById("studio-validate").addEventListener("click", function () {
    post(data.urls.validate).then(function (r) {
      if (!r.ok) { say(r.body.error ? r.body.error.message : data.labels.failed, false); return; }
      showErrors(r.body.errors);
      say(r.body.valid ? data.labels.valid : data.labels.invalid + " (" + r.body.errors.length + ")", r.body.valid);
      document.body.setAttribute("data-validated", r.body.valid ? "valid" : "invalid");
    }).catch(function () { say(data.labels.failed, false); });
  });

  document.getElementById("studio-save").addEventListener("click", function () {
    post(data.urls.draft).then(function (r) {
      say(r.ok ? data.labels.saved : (r.body.error ? r.body.error.message : data.labels.failed), r.ok);
      if (r.ok) { document.body.setAttribute("data-saved", r.body.updated_at); }
    }).catch(function () { say(data.labels.failed, false); });
  });

  document.getElementById("studio-upload").addEventListener("change", function (event) {
    var file = event.target.files[0];
    if (!file) { return; }
    var reader = new FileReader();
    reader.onload = function () { load(String(reader.result)); };
    reader.readAsText(file, "utf-8");
  });

  window.HotlineStudio = { modeler: modeler };
  load(data.content);
})();
