// The unread-notification count in the header, kept live over Socket.IO (/notifications namespace).
(function () {
  "use strict";

  function showCount(count) {
    document.querySelectorAll("[data-unread-count]").forEach(function (badge) {
      badge.textContent = String(count);
      badge.hidden = !count;
    });
    // " unread" is read out only with a number: "Notifications unread" alone says nothing true.
    document.querySelectorAll("[data-unread-suffix]").forEach(function (suffix) { suffix.hidden = !count; });
    var base = document.title.replace(/^\(\d+\) /, "");
    document.title = count ? "(" + count + ") " + base : base;
  }

  function connect() {
    if (typeof window.io !== "function" || !document.querySelector("[data-unread-count]")) { return; }
    var socket = window.io("/notifications", { transports: ["websocket", "polling"], withCredentials: true });
    socket.on("unread", function (data) {
      if (data && typeof data.count === "number") { showCount(data.count); }
    });
  }

  document.addEventListener("DOMContentLoaded", connect);
})();
