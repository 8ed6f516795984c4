// Charts of the report tables, drawn from the JSON each table carries (no inline script under the policy).
// The tables hold every figure; a chart only pictures them, with a gap where a count is not shown.
(function () {
  "use strict";

  var palette = ["#1f5fa8", "#d9822b", "#2a9d8f", "#a3261b", "#7b5ea7", "#5a6372", "#c9a227", "#3d8b37", "#c2185b", "#00838f"];
  var PERIOD = /^\d{4}(-\d{2}| Q[1-4])?$/;  // 2025, 2025-01, 2025 Q1: rows in time order
  var PRINT_WIDTH = 960;  // within the width of a landscape page (A4 or Letter), in CSS pixels
  var PRINT_HEIGHT = 224;  // as .chart-box in print (14rem)
  var charts = [];

  // The age scheme's custom bands matter only with "Custom bands": the field shows only then.
  var scheme = document.getElementById("id_age_scheme");
  var bandsField = document.querySelector(".report-form .field-bands");
  if (scheme && bandsField) {
    var syncBands = function () {
      bandsField.hidden = scheme.value !== "custom" && !bandsField.classList.contains("invalid");
    };
    scheme.addEventListener("change", function () {
      syncBands();
      if (scheme.value === "custom") {
        var input = bandsField.querySelector("input");
        if (input) { input.focus(); }
      }
    });
    syncBands();
  }

  // Wide tables scroll sideways; say so when they do.
  function markOverflow(box) {
    var wide = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("wide", wide);
    box.classList.toggle("more-right", wide && box.scrollLeft + box.clientWidth < box.scrollWidth - 1);
    var hint = box.parentNode.querySelector(".scroll-hint");
    if (hint) { hint.hidden = !wide; }
  }
  var scrollBoxes = document.querySelectorAll(".table-scroll");
  scrollBoxes.forEach(function (box) {
    markOverflow(box);
    box.addEventListener("scroll", function () { markOverflow(box); }, { passive: true });
  });
  window.addEventListener("resize", function () { scrollBoxes.forEach(markOverflow); });

  var Chart = window.Chart;

  function hatch() {
    var tile = document.createElement("canvas");
    tile.width = 6;
    tile.height = 6;
    var ctx = tile.getContext("2d");
    ctx.fillStyle = "#eef1f5";
    ctx.fillRect(0, 0, 6, 6);
    ctx.strokeStyle = "#5a6372";
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    ctx.moveTo(0, 6);
    ctx.lineTo(6, 0);
    ctx.moveTo(-1, 1);
    ctx.lineTo(1, -1);
    ctx.moveTo(5, 7);
    ctx.lineTo(7, 5);
    ctx.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  // Split a long category label over lines of about `width` characters (Chart.js draws an array as lines).
  function wrap(label, width) {
    var words = String(label).split(" ");
    var lines = [];
    var line = "";
    words.forEach(function (word) {
      if (line && (line + " " + word).length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? line + " " + word : word;
      }
    });
    if (line) { lines.push(line); }
    return lines;
  }

  // A hatched mark where a bar has a count not shown: at the base of a missing bar, on top of a stack
  // that lacks some of its parts. Lines need none: their gaps show.
  var withheldMarks = {
    id: "withheldMarks",
    afterDatasetsDraw: function (chart, args, options) {
      if (!options.pattern || chart.config.type !== "bar") {
        return;
      }
      var ctx = chart.ctx;
      var horizontal = chart.options.indexAxis === "y";
      var valueScale = horizontal ? chart.scales.x : chart.scales.y;
      var stacked = !!valueScale.options.stacked;
      var base = valueScale.getPixelForValue(0);
      var depth = 7;
      ctx.save();
      ctx.fillStyle = options.pattern;
      ctx.strokeStyle = "#5a6372";
      ctx.lineWidth = 1;
      var mark = function (element, from) {
        var size = horizontal ? element.height : element.width;
        if (!size || isNaN(size)) { return; }
        var across = (horizontal ? element.y : element.x) - size / 2;
        if (horizontal) {
          ctx.fillRect(from, across, depth, size);
          ctx.strokeRect(from, across, depth, size);
        } else {
          ctx.fillRect(across, from - depth, size, depth);
          ctx.strokeRect(across, from - depth, size, depth);
        }
      };
      var count = chart.data.labels.length;
      for (var i = 0; i < count; i += 1) {
        var top = 0;
        var missing = null;
        chart.data.datasets.forEach(function (dataset, d) {
          var meta = chart.getDatasetMeta(d);
          if (!chart.isDatasetVisible(d) || !meta.data[i]) { return; }
          var value = dataset.data[i];
          if (value === null) {
            if (stacked) { missing = meta.data[i]; } else { mark(meta.data[i], base); }
          } else {
            top += value;
          }
        });
        if (missing) {
          mark(missing, valueScale.getPixelForValue(top));
        }
      }
      ctx.restore();
    }
  };

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) {
      return;
    }
    var figure = canvas.closest("figure");
    var box = canvas.parentNode;
    var data = JSON.parse(source.textContent);
    var values = [];
    data.series.forEach(function (series) { values = values.concat(series.values); });
    if (!data.labels.length || values.every(function (value) { return !value; })) {
      // Nothing but zeros and hidden counts: an empty frame would only look like a fault.
      box.hidden = true;
      var caption = figure.querySelector("figcaption");
      if (caption) { caption.hidden = true; }
      var note = document.createElement("p");
      note.className = "muted chart-empty";
      note.textContent = figure.getAttribute("data-empty");
      figure.insertBefore(note, box);
      return;
    }
    var gaps = values.some(function (value) { return value === null; });
    var periods = data.labels.every(function (label) { return PERIOD.test(label); });
    var line = data.type === "line" && data.labels.length > 2;  // one or two periods: bars say more than a line
    var stacked = data.type === "stacked";
    var longest = Math.max.apply(null, data.labels.map(function (label) { return String(label).length; }));
    // Categories (agencies, platforms, steps, regions) read best down the page, one per line.
    var horizontal = !line && !periods && (data.labels.length > 8 || longest > 18);
    if (horizontal) {
      var many = data.labels.length > 30;  // regions: kept to about one line of text each
      var perCategory = stacked || many ? (many ? 16 : 24) : Math.max(22, data.series.length * 8 + 8);
      if (box.clientWidth < 640) {  // narrow screens: labels go over several lines, each needs the room
        var lines = Math.max.apply(null, data.labels.map(function (label) { return wrap(label, 16).length; }));
        perCategory = Math.max(perCategory, lines * 15 + 8);
      }
      var legendRows = Math.ceil(data.series.length / 4);
      var printCategory = many ? 12 : stacked ? 18 : Math.max(16, data.series.length * 5 + 4);
      box.classList.add("horizontal");
      box.style.height = (data.labels.length * perCategory + 60 + legendRows * 22) + "px";
      box.setAttribute("data-print-height", data.labels.length * printCategory + 60 + legendRows * 22);
    }
    var pattern = gaps && !line ? hatch() : null;
    var notShown = figure.getAttribute("data-withheld") || "";  // the text is the template's, in the reader's language
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
        tension: 0,
        maxBarThickness: 48
      };
    });
    var categoryTicks = {
      autoSkip: periods,
      maxRotation: 0,
      callback: function (value) {
        var label = this.getLabelForValue(value);
        if (periods) { return label; }
        if (horizontal) { return this.chart.width < 640 ? wrap(label, 16) : label; }
        return wrap(label, 12);
      }
    };
    var valueAxis = { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } };
    var categoryAxis = { stacked: stacked, ticks: categoryTicks, grid: { display: !horizontal } };
    var legendLabels = {
      boxWidth: 14,
      boxHeight: 10,
      generateLabels: function (chart) {
        var items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
        if (pattern) {
          items.push({ text: notShown, fillStyle: pattern, strokeStyle: "#5a6372", lineWidth: 1, hidden: false, withheld: true });
        }
        return items;
      }
    };
    charts.push(new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      plugins: [withheldMarks],
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false, axis: horizontal ? "y" : "x" },
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          withheldMarks: { pattern: pattern },
          legend: {
            position: "bottom",
            labels: legendLabels,
            onClick: function (event, item, legend) {
              if (!item.withheld) {
                Chart.defaults.plugins.legend.onClick.call(this, event, item, legend);
              }
            }
          },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = context.raw === null ? notShown : context.formattedValue;
                return context.dataset.label + ": " + value;
              }
            }
          }
        }
      }
    }));
  }

  if (typeof Chart !== "undefined") {
    Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = "#1d2330";
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  var report = document.querySelector(".report");
  var toggle = document.querySelector(".charts-toggle");
  if (report && toggle && document.querySelector("figure.chart")) {
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
  // Charts are drawn at about a landscape page's width for print (the style sheet scales them to fit),
  // then back at the screen's size.
  var printLog = document.getElementById("print-log");
  var logged = false;
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (chart) {
      var box = chart.canvas.parentNode;
      var height = Number(box.getAttribute("data-print-height")) || PRINT_HEIGHT;
      if (box.hasAttribute("data-print-height")) {
        box.setAttribute("data-screen-height", box.style.height);
        box.style.height = height + "px";
      }
      chart.resize(PRINT_WIDTH, height);
    });
    if (printLog && !logged && navigator.sendBeacon) {
      logged = navigator.sendBeacon(printLog.action, new FormData(printLog));
    }
  });
  window.addEventListener("afterprint", function () {
    charts.forEach(function (chart) {
      var box = chart.canvas.parentNode;
      if (box.hasAttribute("data-screen-height")) {
        box.style.height = box.getAttribute("data-screen-height");
      }
      chart.resize();
    });
  });
})();
