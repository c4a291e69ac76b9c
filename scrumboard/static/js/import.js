// The import job page: polls the job through the API every second while it runs, moves the
// progress bar, and reloads the page when the job has finished. Without JavaScript the page
// refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box) return;
  var bar = document.getElementById("import-progress");
  var percent = box.querySelector("[data-percent]");
  var url = box.getAttribute("data-url");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return setTimeout(poll, 2000);
        bar.value = job.progress.percent;
        bar.textContent = job.progress.percent + " %";
        percent.textContent = job.progress.percent;
        if (job.state === "succeeded" || job.state === "failed") {
          window.location.reload();
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 1000);
})();
