// Personal practice pages: tell the server the person's own date, so "today" is their today, not UTC's.
// Without this script everything still works, on the server's UTC day.
(function () {
  "use strict";

  function localIsoDate(date) {
    var month = String(date.getMonth() + 1).padStart(2, "0");
    var day = String(date.getDate()).padStart(2, "0");
    return date.getFullYear() + "-" + month + "-" + day;
  }

  function shiftDays(iso, days) {
    var parts = iso.split("-");
    var date = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]) + days);
    return localIsoDate(date);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var today = localIsoDate(new Date());
    document.querySelectorAll("[data-local-today]").forEach(function (input) {
      input.value = today;
    });
    // The date picker's range follows the person's calendar; the server checks it again.
    document.querySelectorAll("input[type=date][data-local-date]").forEach(function (input) {
      var serverToday = input.getAttribute("max");
      if (input.value === serverToday) { input.value = today; }
      input.setAttribute("max", today);
      input.setAttribute("min", shiftDays(today, -7));
    });
  });
})();
