// Transit pages: refresh a stop's departures in place, and offer "use my position".
// Everything here is an enhancement; the pages work without it (Refresh link, forms).
(function () {
  "use strict";

  var board = document.getElementById("transit-board");
  if (board && window.fetch) {
    var url = board.getAttribute("data-refresh-url");
    var seconds = parseInt(board.getAttribute("data-refresh-seconds"), 10) || 30;
    var refresh = function () {
      if (document.visibilityState === "hidden") {
        return;
      }
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html) {
            board.innerHTML = html;
          }
        })
        .catch(function () {
          // Offline or the server is away: keep what is shown; the next round tries again.
        });
    };
    window.setInterval(refresh, Math.max(seconds, 15) * 1000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        refresh();
      }
    });
  }

  var locate = document.querySelector("form[data-geolocate]");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("submit", function (event) {
      event.preventDefault();
      navigator.geolocation.getCurrentPosition(function (position) {
        locate.elements.lat.value = position.coords.latitude.toFixed(6);
        locate.elements.lon.value = position.coords.longitude.toFixed(6);
        locate.submit();
      });
    });
  }
})();
