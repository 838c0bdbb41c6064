// Download all my data: follow the archive's progress without reloading the page.
// Without JavaScript the page says to reload it; nothing here is needed for the flow.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("data-export-progress");
    if (!box) return;
    var bar = box.querySelector("progress");
    var label = box.querySelector("label");
    var live = box.querySelector("[data-export-live]");
    var url = box.getAttribute("data-status-url");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) return;
          bar.value = data.percent;
          bar.textContent = data.percent + "%";
          label.textContent = data.parts_done + " / " + data.parts_total;
          if (data.status === "pending" || data.status === "building") {
            window.setTimeout(poll, 2000);
          } else {
            live.textContent = data.status_label;
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
