// Moves the import progress bar: polls the job's progress.json every second and reloads the
// page when the job has finished, so the server renders the result. Without JavaScript the
// page still works: reloading it shows the current progress.
(() => {
  const box = document.querySelector("[data-progress-url]");
  if (!box) return;
  const bar = box.querySelector("progress");
  const status = box.querySelector("[data-progress-status]");
  const rows = box.querySelector("[data-progress-rows]");
  const percent = box.querySelector("[data-progress-percent]");
  const number = new Intl.NumberFormat(document.documentElement.lang || undefined);

  async function poll() {
    try {
      const response = await fetch(box.dataset.progressUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.ok) {
        const progress = await response.json();
        bar.value = progress.percent;
        bar.textContent = `${progress.percent}%`;
        status.textContent = progress.status_label;
        rows.textContent = `${number.format(progress.processed_rows)} / ${number.format(progress.total_rows)}`;
        percent.textContent = progress.percent;
        if (progress.done) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // A dropped connection or a server restart: try again on the next tick.
    }
    window.setTimeout(poll, 1000);
  }

  window.setTimeout(poll, 1000);
})();
