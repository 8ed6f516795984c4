// Charts of the report tables, drawn from the JSON each table carries (no inline script under the policy).
// The tables hold every figure; a chart only pictures them, with a gap where a count is not shown.
(function () {
  "use strict";

  var palette = ["#1f5fa8", "#d9822b", "#2a9d8f", "#a3261b", "#7b5ea7", "#5a6372", "#c9a227", "#3d8b37", "#c2185b", "#00838f"];
  var charts = [];

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var line = data.type === "line" && data.labels.length > 1;  // one period: a bar says more than a dot
    var stacked = data.type === "stacked";
    var datasets = data.series.map(function (series, index) {
      var colour = palette[index % palette.length];
      return {
        label: series.label,
        data: series.values,
        borderColor: colour,
        backgroundColor: colour,
        borderWidth: line ? 2 : 0,
        pointRadius: line ? 3 : 0,
        spanGaps: false,
        tension: 0
      };
    });
    charts.push(new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: stacked },
          y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } }
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = context.raw === null ? "not shown" : context.formattedValue;
                return context.dataset.label + ": " + value;
              }
            }
          }
        }
      }
    }));
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);

  var report = document.querySelector(".report");
  var toggle = document.querySelector(".charts-toggle");
  if (report && toggle && charts.length) {
    var show = function (hidden) {
      report.classList.toggle("charts-hidden", hidden);
      toggle.setAttribute("aria-pressed", hidden ? "true" : "false");
      toggle.textContent = toggle.getAttribute(hidden ? "data-show" : "data-hide");
      try {
        window.localStorage.setItem("reports.chartsHidden", hidden ? "1" : "");
      } catch (error) { /* storage refused: the choice lasts for this page only */ }
    };
    var stored = "";
    try {
      stored = window.localStorage.getItem("reports.chartsHidden") || "";
    } catch (error) { /* storage refused */ }
    toggle.hidden = false;
    show(stored === "1");
    toggle.addEventListener("click", function () {
      show(!report.classList.contains("charts-hidden"));
    });
  }

  // Printing (the button or the browser's own command) is recorded in the access log, once per page.
  var printLog = document.getElementById("print-log");
  var logged = false;
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (chart) { chart.resize(); });
    if (printLog && !logged && navigator.sendBeacon) {
      logged = navigator.sendBeacon(printLog.action, new FormData(printLog));
    }
  });
  window.addEventListener("afterprint", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
