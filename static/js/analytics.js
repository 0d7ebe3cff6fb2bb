/* Analytics page: draws the server-computed series with the vendored Chart.js.
   The data holds dates and numbers only; texts people typed are rendered by the template. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  if (typeof window.Chart !== "function") return;
  // Tooltips for the whole day under the pointer, not only on exact hits.
  const base = { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } };
  const countAxis = { beginAtZero: true, ticks: { precision: 0 } };
  // "2026-11-29" → "Nov 29", as in the page's tables. The server sends the workspace zone's
  // calendar dates; formatting them as UTC midnights keeps each on its own date.
  const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", timeZone: "UTC" });
  const days = (isoDates) => isoDates.map((iso) => dayFormat.format(new Date(iso + "T00:00:00Z")));

  // Day labels: at most about 8, always today's (the last), never one crowding it; Chart.js's
  // own skipping could drop the last label and leave today's bar under yesterday's date.
  function dayAxis(labels, extra) {
    const last = labels.length - 1;
    const step = Math.max(1, Math.ceil(labels.length / 8));
    const shown = (index) => index === last || (index % step === 0 && last - index >= step);
    return Object.assign({ ticks: { autoSkip: false, maxRotation: 0, callback: (value, index) => (shown(index) ? labels[index] : "") } }, extra || {});
  }
  const point = { pointRadius: 4, pointHoverRadius: 6 };  // one day of data is still visible

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }

  draw("uploads-chart", {
    type: "bar",
    data: { labels: days(data.uploads.labels), datasets: [{ label: "Uploads", data: data.uploads.values, backgroundColor: "#1d4ed8" }] },
    options: { ...base, plugins: { legend: { display: false } }, scales: { x: dayAxis(days(data.uploads.labels)), y: countAxis } },
  });

  draw("status-chart", {
    type: "doughnut",
    data: { labels: data.status.labels,
            datasets: [{ data: data.status.values, backgroundColor: ["#98a2b3", "#2e90fa", "#12b76a", "#f04438"] }] },
    options: base,
  });

  const q = data.queries;
  if (!q) return;
  const queryDays = days(q.labels);

  draw("queries-chart", {
    type: "bar",
    data: { labels: queryDays, datasets: [
      { label: "Searches", data: q.searches, backgroundColor: "#1d4ed8" },
      { label: "Questions", data: q.asks, backgroundColor: "#12b76a" },
    ] },
    options: { ...base, scales: { x: dayAxis(queryDays, { stacked: true }), y: { ...countAxis, stacked: true } } },
  });

  draw("latency-chart", {
    type: "line",
    data: { labels: queryDays, datasets: [
      { label: "Median (ms)", data: q.p50, borderColor: "#1d4ed8", backgroundColor: "#1d4ed8", ...point },
      { label: "95th percentile (ms)", data: q.p95, borderColor: "#f79009", backgroundColor: "#f79009", ...point },
    ] },
    options: { ...base, scales: { x: dayAxis(queryDays), y: { beginAtZero: true, title: { display: true, text: "ms" } } } },
  });

  if (q.tokens) {
    draw("spend-chart", {
      type: "bar",
      data: { labels: queryDays, datasets: [
        { label: "Tokens", data: q.tokens, backgroundColor: "#98a2b3", yAxisID: "y" },
        { label: "Estimated cost (USD)", data: q.cost, type: "line", borderColor: "#b42318",
          backgroundColor: "#b42318", ...point, yAxisID: "cost" },
      ] },
      options: { ...base, scales: {
        x: dayAxis(queryDays),
        y: { ...countAxis, title: { display: true, text: "tokens" } },
        cost: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
                title: { display: true, text: "USD" } },
      } },
    });
  }
})();
