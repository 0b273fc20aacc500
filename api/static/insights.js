// Draws the hot-words bar chart of the hot-issues page with ECharts (served from static/vendor). The numbers
// come from the JSON block the page embeds; the same numbers are in the table under the chart.
(function () {
  "use strict";
  var el = document.querySelector('[data-chart="hot-words"]');
  var block = document.getElementById("hot-words-data");
  if (typeof echarts === "undefined" || !el || !block) { return; }
  var data = JSON.parse(block.textContent);
  var terms = data.terms.slice().reverse();          // largest at the top of a horizontal bar chart
  var chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    tooltip: {},
    grid: { left: 96, right: 24, top: 8, bottom: 24 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: terms.map(function (r) { return r.name; }) },
    series: [{ name: data.labels.count, type: "bar", data: terms.map(function (r) { return r.value; }) }]
  });
  el.setAttribute("data-rendered", "true");
  window.addEventListener("resize", function () { chart.resize(); });
})();
