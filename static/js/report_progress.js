// Moves the progress bars of the reports being prepared: polls each one's progress.json every
// two seconds and reloads the page once one has finished, so the server renders its download
// link. Without JavaScript the page still works: reloading it shows the current progress.
(() => {
  const rows = [...document.querySelectorAll("[data-report-progress-url]")];
  if (!rows.length) return;

  async function poll() {
    let finished = false;
    for (const row of rows) {
      try {
        const response = await fetch(row.dataset.reportProgressUrl, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!response.ok) continue;
        const progress = await response.json();
        const bar = row.querySelector("progress");
        if (bar) {
          bar.value = progress.progress;
          bar.textContent = `${progress.progress}%`;
        }
        const status = row.querySelector("[data-report-status]");
        if (status) status.textContent = progress.status_label;
        const percent = row.querySelector("[data-report-percent]");
        if (percent) percent.textContent = progress.progress;
        finished = finished || progress.done;
      } catch (error) {
        // A dropped connection or a server restart: try again on the next tick.
      }
    }
    if (finished) {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, 2000);
  }

  window.setTimeout(poll, 1500);
})();
