// The card page's price history chart (Chart.js 4 + the date-fns adapter, vendored).
//
// The server renders the data as <script type="application/json"> next to the period
// buttons; a period button swaps that block through htmx and this script moves the new
// data into the existing chart, keeping the lines someone switched off switched off.
// Each line also gets a checkbox: Chart.js draws its legend on the canvas, which a
// keyboard or screen reader cannot reach.
//
// The server sets the x axis to the period (a first day of prices sits on a week, not on
// an axis of milliseconds), labels a line that has a single point with its day and says
// which lines start hidden. Times arrive as UTC wall-clock without a zone: the chart shows
// the day a source reported in every time zone, and never a time of day.
(function () {
  "use strict";

  var charts = window.TcgCharts;
  var reducedMotion = charts.reducedMotion;
  var moneyFormatter = charts.moneyFormatter;

  function pointRadius(points) {
    if (points === 1) {
      return 4;
    }
    return points > 40 ? 0 : 2;
  }

  function toDatasets(series, visibility) {
    return series.datasets.map(function (dataset) {
      var hidden = Object.prototype.hasOwnProperty.call(visibility, dataset.key)
        ? !visibility[dataset.key]
        : dataset.hidden;
      return {
        key: dataset.key,
        label: dataset.label,
        data: dataset.data,
        simulated: dataset.simulated,
        borderColor: dataset.borderColor,
        backgroundColor: dataset.backgroundColor,
        borderDash: dataset.borderDash,
        borderWidth: 2,
        // A line of one point has nothing to draw but its point: make it a marker.
        pointRadius: pointRadius(dataset.data.length),
        pointHoverRadius: dataset.data.length === 1 ? 6 : 4,
        tension: 0.2,
        spanGaps: true,
        hidden: hidden,
        // Higher is drawn first: simulated lines lie beneath real ones.
        order: dataset.simulated ? 1 : 0,
        // Room for a marker on the axis's first or last moment.
        clip: 6,
      };
    });
  }

  function create(canvas, series) {
    var money = moneyFormatter(series.currency);
    var compact = new Intl.NumberFormat("en-US", {
      style: "currency",
      currency: series.currency || "USD",
      notation: "compact",
      maximumFractionDigits: 1,
    });
    return new Chart(canvas, {
      type: "line",
      data: { datasets: toDatasets(series, {}) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion ? false : { duration: 250 },
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: {
            type: "time",
            min: series.axis.min,
            max: series.axis.max,
            time: {
              // Days at the finest: a time of day (or, on one day of data, a millisecond) is noise.
              minUnit: "day",
              tooltipFormat: "d MMM yyyy",
              displayFormats: { day: "d MMM", week: "d MMM", month: "MMM yyyy", quarter: "MMM yyyy", year: "yyyy" },
            },
            ticks: { maxRotation: 0, autoSkipPadding: 16, color: "#5b6475" },
            grid: { display: false },
          },
          y: {
            ticks: {
              color: "#5b6475",
              callback: function (value) {
                return Math.abs(value) >= 10000 ? compact.format(value) : money.format(value);
              },
            },
            grid: { color: "#eef1f7" },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                return " " + context.dataset.label + ": " + money.format(context.parsed.y);
              },
            },
          },
        },
      },
    });
  }

  function visibilityOf(chart) {
    var visibility = {};
    chart.data.datasets.forEach(function (dataset, index) {
      visibility[dataset.key] = chart.isDatasetVisible(index);
    });
    return visibility;
  }

  function renderToggles(canvas, chart) {
    var fieldset = document.querySelector('[data-chart-lines-for="' + canvas.id + '"]');
    if (!fieldset) {
      return;
    }
    fieldset.querySelectorAll("label").forEach(function (label) {
      label.remove();
    });
    chart.data.datasets.forEach(function (dataset, index) {
      var label = document.createElement("label");
      label.className = "chart-line-toggle";
      var box = document.createElement("input");
      box.type = "checkbox";
      box.checked = chart.isDatasetVisible(index);
      box.addEventListener("change", function () {
        chart.setDatasetVisibility(index, box.checked);
        chart.update();
      });
      var swatch = document.createElement("span");
      swatch.className = "chart-swatch" + (dataset.simulated ? " is-dashed" : "");
      swatch.style.borderColor = dataset.borderColor;
      swatch.setAttribute("aria-hidden", "true");
      label.append(box, swatch, document.createTextNode(dataset.label));
      fieldset.append(label);
    });
    fieldset.hidden = chart.data.datasets.length === 0;
  }

  function render(canvas) {
    var found = charts.readSeries(canvas, "priceChart");
    if (!found || typeof Chart === "undefined") {
      return;
    }
    var chart = Chart.getChart(canvas);
    if (chart && chart.$priceSource === found.script) {
      return;
    }
    if (chart) {
      chart.data.datasets = toDatasets(found.series, visibilityOf(chart));
      chart.options.scales.x.min = found.series.axis.min;
      chart.options.scales.x.max = found.series.axis.max;
      chart.update();
    } else {
      chart = create(canvas, found.series);
    }
    chart.$priceSource = found.script;
    canvas.dataset.period = found.series.period;
    renderToggles(canvas, chart);
  }

  charts.drawEach("canvas[data-price-chart]", render);
})();
