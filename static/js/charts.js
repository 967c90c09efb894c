// What the site's charts share (Chart.js 4 + the date-fns adapter, vendored): each chart
// reads its data from a <script type="application/json"> that the server renders next to
// its period buttons and that htmx swaps; each draws again after every swap and after
// htmx restores a page from its history cache (a fresh canvas without its chart).
(function () {
  "use strict";

  function readSeries(canvas, dataAttribute) {
    var script = document.getElementById(canvas.dataset[dataAttribute]);
    if (!script) {
      return null;
    }
    return { script: script, series: JSON.parse(script.textContent) };
  }

  function moneyFormatter(currency, options) {
    try {
      return new Intl.NumberFormat("en-US", Object.assign({ style: "currency", currency: currency || "USD" }, options));
    } catch (error) {
      return new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
  }

  // Calls render(canvas) for every canvas the selector finds, now and after each swap.
  function drawEach(selector, render) {
    function renderAll() {
      document.querySelectorAll(selector).forEach(render);
    }
    document.addEventListener("DOMContentLoaded", renderAll);
    document.addEventListener("htmx:afterSwap", renderAll);
    document.addEventListener("htmx:historyRestore", renderAll);
  }

  window.TcgCharts = {
    reducedMotion: !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches),
    readSeries: readSeries,
    moneyFormatter: moneyFormatter,
    drawEach: drawEach,
  };
})();
