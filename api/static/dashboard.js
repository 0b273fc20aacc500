// Draws the dashboard's charts with ECharts (served from static/vendor). The numbers come from the JSON
// block the page embeds; the same numbers are in the tables next to each chart.
(function () {
  "use strict";
  // Choosing a city reloads the page (here, not in an inline onchange: the Content-Security-Policy blocks those).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  if (typeof echarts === "undefined") { return; }
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var c = data.charts, L = data.labels;
  var options = {
    status: { tooltip: {}, xAxis: { type: "category", data: c.status.map(function (r) { return r.name; }) },
              yAxis: { type: "value", minInterval: 1 }, series: [{ type: "bar", data: c.status.map(function (r) { return r.value; }) }] },
    overdue: { tooltip: {}, xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: c.overdue.map(function (r) { return r.name; }) },
               series: [{ type: "bar", itemStyle: { color: "#b91c1c" }, data: c.overdue.map(function (r) { return r.value; }) }] },
    trend: { tooltip: { trigger: "axis" }, xAxis: { type: "category", data: c.trend.map(function (r) { return r.day.slice(5); }) },
             yAxis: { type: "value", minInterval: 1 }, series: [{ name: L.intake, type: "line", data: c.trend.map(function (r) { return r.intake; }) }] },
    rates: { tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "category", data: c.rates.map(function (r) { return r.name; }) },
             yAxis: { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
             series: ["sign", "handle", "satisfaction"].map(function (k) {
               return { name: L[k], type: "bar", data: c.rates.map(function (r) { return r[k]; }) };
             }) }
  };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(options[el.getAttribute("data-chart")]);
    el.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
