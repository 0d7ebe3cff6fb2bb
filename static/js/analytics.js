/* Analytics page: draws the server-computed series with the vendored Chart.js. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  if (typeof window.Chart !== "function") return;
  const uploads = document.getElementById("uploads-chart");
  if (uploads) {
    new window.Chart(uploads, {
      type: "bar",
      data: { labels: data.uploads.labels, datasets: [{ label: "Uploads", data: data.uploads.values, backgroundColor: "#1d4ed8" }] },
      options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
  const status = document.getElementById("status-chart");
  if (status) {
    new window.Chart(status, {
      type: "doughnut",
      data: { labels: data.status.labels,
              datasets: [{ data: data.status.values, backgroundColor: ["#98a2b3", "#2e90fa", "#12b76a", "#f04438"] }] },
      options: { maintainAspectRatio: false, animation: false },
    });
  }
})();
