/* The operator's usage page: daily series of one tenant drawn with the vendored Chart.js
   (a file, not inline: the admin's content security policy allows scripts from 'self'). */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("usage-data").textContent);
  if (typeof window.Chart !== "function") return;
  const base = { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } };
  const count = { beginAtZero: true, ticks: { precision: 0 } };
  const bytes = (value) => {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let size = value, unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return size.toFixed(unit ? 1 : 0) + " " + units[unit];
  };
  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }
  const x = { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } };
  draw("usage-queries", {
    type: "bar",
    data: { labels: data.labels, datasets: [
      { label: "Searches", data: data.searches, backgroundColor: "#1d4ed8", stack: "q" },
      { label: "Questions", data: data.asks, backgroundColor: "#12b76a", stack: "q" } ] },
    options: { ...base, scales: { x: { ...x, stacked: true }, y: { ...count, stacked: true } } },
  });
  draw("usage-cost", {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: "USD", data: data.cost, backgroundColor: "#b54708" }] },
    options: { ...base, plugins: { legend: { display: false } }, scales: { x: x, y: { beginAtZero: true } } },
  });
  draw("usage-stored", {
    type: "line",
    data: { labels: data.labels, datasets: [{ label: "Stored", data: data.stored, borderColor: "#6941c6", pointRadius: 3 }] },
    options: { ...base, plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => bytes(c.parsed.y) } } },
               scales: { x: x, y: { beginAtZero: true, ticks: { callback: bytes } } } },
  });
  draw("usage-users", {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: "People", data: data.users, backgroundColor: "#0e9384" }] },
    options: { ...base, plugins: { legend: { display: false } }, scales: { x: x, y: count } },
  });
})();
