// Draws each report section's chart with ECharts (served from static/vendor). Every chart reads the JSON
// block embedded next to its section; the same numbers are in the section's table, so the page reads
// without script too.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var charts = [];
  document.querySelectorAll("[data-report-chart]").forEach(function (el) {
    var block = document.getElementById(el.getAttribute("data-report-chart"));
    if (!block) { return; }
    var spec = JSON.parse(block.textContent);
    var labels = spec.rows.map(function (r) { return String(r[spec.x] === null ? "—" : r[spec.x]); });
    var chart = echarts.init(el, null, { renderer: "svg" });
    var option;
    if (spec.type === "pie") {
      option = {
        tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: "65%", data: spec.rows.map(function (r, i) {
          return { name: labels[i], value: r[spec.y[0]] };
        }) }]
      };
    } else {
      option = {
        tooltip: { trigger: "axis" },
        legend: { data: spec.names },
        grid: { left: 48, right: 24, top: 32, bottom: 72 },
        xAxis: { type: "category", data: labels, axisLabel: { rotate: labels.length > 8 ? 40 : 0 } },
        yAxis: { type: "value" },
        series: spec.y.map(function (key, i) {
          return { name: spec.names[i], type: spec.type === "line" ? "line" : "bar",
                   data: spec.rows.map(function (r) { return r[key]; }) };
        })
      };
    }
    chart.setOption(option);
    el.setAttribute("data-rendered", "true");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
