// Renders a ticket's BPMN with bpmn-js (NavigatedViewer, served from static/vendor) and marks the
// elements it has completed and those holding a token. The data sits in a <script type="application/json">
// block next to the container, so no request and no inline code are needed.
(function () {
  "use strict";

  function mark(canvas, registry, ids, cls) {
    ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, cls); } });
  }

  function clear(canvas, registry) {
    registry.getAll().forEach(function (el) {
      canvas.removeMarker(el.id, "done");
      canvas.removeMarker(el.id, "active");
    });
  }

  function render(container) {
    var source = document.getElementById(container.getAttribute("data-diagram"));
    if (!source || typeof BpmnJS === "undefined") {
      container.setAttribute("data-rendered", "missing");
      return null;
    }
    var data = JSON.parse(source.textContent);
    var viewer = new BpmnJS({ container: container });
    var api = {
      viewer: viewer,
      show: function (completed, active) {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
        clear(canvas, registry);
        mark(canvas, registry, completed || [], "done");
        mark(canvas, registry, active || [], "active");
        container.setAttribute("data-active", (active || []).join(" "));
      }
    };
    viewer.importXML(data.xml).then(function () {
      viewer.get("canvas").zoom("fit-viewport");
      api.show(data.completed, data.active);
      container.setAttribute("data-rendered", "true");
      container.dispatchEvent(new CustomEvent("diagram:ready", { bubbles: true }));
    }).catch(function (err) {
      container.setAttribute("data-rendered", "error");
      container.textContent = String(err && err.message || err);
    });
    return api;
  }

  window.HotlineDiagram = { views: {} };
  document.querySelectorAll("[data-diagram]").forEach(function (container) {
    window.HotlineDiagram.views[container.getAttribute("data-diagram")] = render(container);
  });
})();
