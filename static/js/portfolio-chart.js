// A collection's value-over-time chart (Chart.js 4 + the date-fns adapter, vendored).
//
// The server renders the points as <script type="application/json"> next to the period
// buttons: {"currency", "points": [{"day", "value", "cost"}] in cents, "simulated"}. A
// period button swaps that block through htmx and this script moves the new points
// into the existing chart. Two lines: what the collection was worth each day, and what
// had been paid for it.
(function () {
  "use strict";

  var charts = window.TcgCharts;
  var reducedMotion = charts.reducedMotion;
  var formatter = charts.moneyFormatter;

  function toDatasets(series) {
    var points = series.points || [];
    function line(field) {
      return points.map(function (point) {
        return { x: point.day, y: point[field] / 100 };
      });
    }
    var radius = points.length > 40 ? 0 : 2;
    return [
      {
        label: series.simulated ? "Value (simulated prices)" : "Value",
        data: line("value"),
        borderColor: "#1d4ed8",
        backgroundColor: "rgba(29, 78, 216, .08)",
        borderDash: series.simulated ? [6, 4] : [],
        borderWidth: 2,
        fill: true,
        pointRadius: radius,
        pointHoverRadius: 4,
        tension: 0.2,
      },
      {
        label: "Cost",
        data: line("cost"),
        borderColor: "#f59e0b",
        backgroundColor: "#f59e0b",
        borderWidth: 2,
        stepped: true,
        pointRadius: 0,
        pointHoverRadius: 4,
      },
    ];
  }

  function create(canvas, series) {
    var money = formatter(series.currency, {});
    var compact = formatter(series.currency, { notation: "compact", maximumFractionDigits: 1 });
    return new Chart(canvas, {
      type: "line",
      data: { datasets: toDatasets(series) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion ? false : { duration: 250 },
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: {
            type: "time",
            time: { unit: "day", tooltipFormat: "d MMM yyyy", displayFormats: { day: "d MMM", week: "d MMM", month: "MMM yyyy" } },
            ticks: { maxRotation: 0, autoSkipPadding: 16, color: "#5b6475" },
            grid: { display: false },
          },
          y: {
            beginAtZero: true,
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
          legend: { display: true, position: "bottom", labels: { boxHeight: 2, color: "#1b1f2a" } },
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

  function render(canvas) {
    var found = charts.readSeries(canvas, "portfolioChart");
    if (!found || typeof Chart === "undefined") {
      return;
    }
    var chart = Chart.getChart(canvas);
    if (chart && chart.$portfolioSource === found.script) {
      return;
    }
    if (chart) {
      chart.data.datasets = toDatasets(found.series);
      chart.update();
    } else {
      chart = create(canvas, found.series);
    }
    chart.$portfolioSource = found.script;
    canvas.dataset.period = found.series.period || "";
  }

  charts.drawEach("canvas[data-portfolio-chart]", render);
})();
