// The review queue updates itself: the server pushes `alert` and `queue_changed` on /moderation,
// and this script re-fetches the server-rendered list (escaped on the server, so no HTML is built here).
(function () {
  "use strict";

  function start() {
    var region = document.querySelector("[data-queue]");
    var status = document.querySelector("[data-live-status]");
    if (!region || typeof io !== "function") { return; }
    var listUrl = region.getAttribute("data-list-url");
    var pending = null;

    function say(text) { if (status) { status.textContent = text; } }

    function refresh() {
      // Several events in a burst become one fetch.
      if (pending) { return; }
      pending = setTimeout(function () {
        pending = null;
        fetch(listUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { if (!r.ok) { throw new Error("queue " + r.status); } return r.text(); })
          .then(function (html) { region.innerHTML = html; })
          .catch(function () { say("Couldn't refresh the list; reload the page to see the latest."); });
      }, 150);
    }

    var socket = io("/moderation", { withCredentials: true });
    socket.on("connect", function () { say("Live: new items appear here without reloading."); refresh(); });
    socket.on("disconnect", function () { say("Live updates paused; reconnecting…"); });
    socket.on("connect_error", function () { say("Live updates unavailable; reload the page to see new items."); });
    socket.on("alert", function (payload) {
      var level = payload && payload.level === "check_in" ? "A check-in request" : "A new urgent item";
      say(level + " arrived at " + new Date().toLocaleTimeString() + ".");
      refresh();
    });
    socket.on("queue_changed", refresh);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
