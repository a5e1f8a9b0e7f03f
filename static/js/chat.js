// Live chat over Socket.IO (/chat). Messages are saved on the server before anyone sees them; this
// script keeps the id of the last one it showed and asks for everything after it on every (re)connect,
// and resends unacknowledged messages with the same client_id, which the server turns into one message.
// body_html is sanitised on the server; everything else from the network is inserted as text only.
(function () {
  "use strict";

  var TYPING_IDLE_MS = 4000;
  var TYPING_REPEAT_MS = 3000;
  var ACK_TIMEOUT_MS = 10000;
  var LEFT_AFTER_MS = 4000;   // how long someone stays away before "left" is said (a reload comes back sooner)
  var NOT_OPEN_RETRY_MS = 5000; // a check-in not yet open: how often the page asks to join again
  var SETTLE_MS = 10000;       // longer than any plausible reordering of live emits
  var ENDED_TEXT = "You're no longer connected to chat. Reload the page to continue.";
  var SUSPENDED_TEXT = "Your account has been suspended, so chat has stopped. Reload the page to see why.";
  var OPENED_TEXT = "The host has opened the check-in. You can send messages now.";
  var WATCH_MAX = 100;           // check-ins a page may hear the places of (checkins.WATCH_MAX): the soonest
  // The status line of someone following a check-in from outside its talk, by why they are outside: the
  // refusal of their join (not open yet, full, ended), or running with a place they could take.
  var OUTSIDE_TEXT = {
    room_not_open: "This check-in hasn't opened yet. Save a place to take part, and we'll tell you when it opens.",
    full_not_open: "This check-in hasn't opened yet, and all its places are taken.",
    looking_in: "This check-in has started. Take part to join the conversation.",
    room_full: "This check-in has started, and all its places are taken.",
    room_closed: "This check-in has ended."
  };

  function $(root, selector) { return root.querySelector(selector); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function timeLabel(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // --- places in check-ins: live on the list of check-ins and on a check-in's page -------------------

  // A check-in's places as a `places` event (or a join) says them: the count, its state (on the list, and on
  // its own page, where people outside its talk hear of a new state only this way), and which of the viewer's
  // buttons fits now (the server refuses the others).
  function drawPlaces(p) {
    var states = '[data-places-state="' + p.id + '"], [data-checkin="' + p.id + '"] [data-checkin-state]';
    document.querySelectorAll(states).forEach(function (state) {
      state.textContent = p.state.replace(/_/g, " ");
    });
    var box = document.querySelector('[data-places="' + p.id + '"]');
    if (!box) { return; }
    box.hidden = p.state === "closed";
    $(box, "[data-places-taken]").textContent = String(p.taken);
    var actions = $(box, "[data-place-actions]");
    if (!actions) { return; } // the host's or a moderator's view: they run it without a place
    var scheduled = p.state === "scheduled";
    if (box.getAttribute("data-mine") === "1") { actions.hidden = !scheduled; return; } // given back only before it opens
    var full = p.taken >= p.capacity;
    $(actions, "[data-place-offer]").hidden = full;
    $(actions, "[data-places-full]").hidden = !full;
    actions.querySelectorAll("[data-place-text]").forEach(function (node) {
      node.textContent = node.getAttribute(scheduled ? "data-before" : "data-during");
    });
  }

  // Why someone outside a check-in's talk is outside, as its places say it now (a key of OUTSIDE_TEXT).
  function outsideBecause(p) {
    if (p.state === "closed") { return "room_closed"; }
    if (p.state === "scheduled") { return p.taken >= p.capacity ? "full_not_open" : "room_not_open"; }
    return p.taken >= p.capacity ? "room_full" : "looking_in";
  }

  // The check-ins whose places this page shows (the soonest, up to what the server watches for one page).
  function placesShown() {
    var ids = [];
    document.querySelectorAll("[data-places], [data-places-state]").forEach(function (node) {
      var id = parseInt(node.getAttribute("data-places") || node.getAttribute("data-places-state"), 10);
      if (id && ids.indexOf(id) < 0) { ids.push(id); }
    });
    return ids.slice(0, WATCH_MAX);
  }

  // A /chat socket that hears the places of the check-ins this page shows: it names them as it connects (and
  // reconnects), is told them as they are now (what changed since the page was made), then every change. A
  // change can overtake that first answer, and is then the newer: the answer is drawn only for the others.
  function placesSocket() {
    var ids = placesShown();
    var socket = io("/chat", ids.length ? { withCredentials: true, auth: { places: ids } } : { withCredentials: true });
    if (!ids.length) { return socket; }
    var heard = {}; // check-ins with a change heard on this connection before its first answer
    socket.on("places", function (p) { heard[p.id] = true; drawPlaces(p); });
    socket.on("places_now", function (now) {
      now.places.forEach(function (p) { if (!heard[p.id]) { drawPlaces(p); } });
      heard = {};
    });
    socket.on("disconnect", function () { heard = {}; });
    return socket;
  }

  // The schedule form's start is entered on the host's own clock: its offset from UTC on the day entered
  // goes with it (utc_offset), and the hint says which clock. Without script the hint says UTC, and the
  // server reads it so.
  function wireStartTime(box) {
    var input = $(box, "input[type=datetime-local]");
    var offset = box.closest("form").querySelector("input[name=utc_offset]");
    var hint = $(box, ".hint");
    if (!input || !offset) { return; }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (hint) { hint.textContent = "Enter the time on your own clock" + (zone ? " (" + zone + ")" : "") + "."; }
    function keep() {
      var d = new Date(input.value); // a date and time without an offset is read as local time
      offset.value = isNaN(d.getTime()) ? "" : String(-d.getTimezoneOffset());
    }
    input.addEventListener("change", keep);
    box.closest("form").addEventListener("submit", keep);
    keep();
  }

  function htmlToText(html) {
    // A detached template parses without running anything; only its text is read.
    var t = document.createElement("template");
    t.innerHTML = html;
    return (t.content.textContent || "").trim();
  }

  function Chat(root) {
    this.root = root;
    this.roomKey = root.getAttribute("data-chat-room");
    this.me = parseInt(root.getAttribute("data-me"), 10);
    this.isModerator = root.getAttribute("data-moderator") === "1";
    this.log = $(root, "[data-chat-log]");
    this.status = $(root, "[data-chat-status]");
    this.announcer = $(root, "[data-chat-announce]");
    this.form = $(root, "[data-chat-form]");
    this.input = $(root, "#chat-body");
    this.sendButton = $(root, "[data-chat-send]");
    this.error = $(root, "[data-chat-error]");
    this.presentList = $(root, "[data-chat-present]");
    this.typingLine = $(root, "[data-chat-typing]");
    this.lastId = null;
    this.historyId = null;       // newest id known to have no gaps before it (see resumePoint)
    this.liveArrivals = [];      // [{id, at}] of live messages not yet settled
    this.shown = {};
    this.sources = {};           // {id: body_md}: what an edit starts from
    this.pending = {};
    this.typers = {};
    this.present = {};           // {id: username} of the people listed (a crowded room lists a page)
    this.presentCount = 0;       // how many are here in all
    this.presentMore = false;    // the server has more pages of people
    this.presentNote = null;
    this.readTimer = null;
    this.typingSentAt = 0;
    this.typingStopTimer = null;
    this.ended = false;          // the server closed this socket: it never reconnects
    this.linkShown = false;      // a #m<id> link has been followed (showLinkedMessage)
    this.myName = root.getAttribute("data-me-name");
    this.sharedPhases = {};      // {start: true, end: true}: the rounds this person has shared their mood in
    this.leaving = {};           // {user id: timer}: a "left" not yet said (announceLeaving)
    this.waitingToOpen = false;  // in a check-in before its host opened it (waitForOpening)
    this.lookingIn = false;      // outside a check-in's talk (no place, full, not open, ended): its state, not its talk (lookIn)
    this.inCheckin = !!$(root, "[data-checkin]");
    this.joinTimer = null;       // the next try to join a check-in that hasn't opened yet
    this.runsCheckin = root.getAttribute("data-runs-checkin") === "1";  // its host or a moderator: may send before it opens
  }

  Chat.prototype.start = function () {
    var self = this;
    this.keepDraftAcrossReloads();
    this.socket = placesSocket();
    this.socket.on("connect", function () { self.join(); });
    this.socket.on("places", function (p) { self.onPlaces(p); });
    // The places as they are on connecting, unless a change was heard first (it is the newer).
    this.socket.on("places_now", function (now) {
      now.places.forEach(function (p) { if (!self.latestPlaces) { self.onPlaces(p); } });
    });
    this.socket.on("disconnect", function (reason) {
      self.latestPlaces = null; // a reconnect is told them afresh
      if (reason === "io server disconnect") {
        self.end();
      } else {
        self.say("Connection lost; reconnecting… Nothing you send is lost.");
      }
    });
    this.socket.on("connect_error", function () {
      // An inactive socket was refused by the server (signed out or suspended while away): no retry is coming.
      if (self.socket.active) { self.say("Can't reach the chat right now; retrying…"); } else { self.end(); }
    });
    this.socket.on("message", function (m) { self.addMessage(m, true); });
    this.socket.on("edited", function (m) { self.updateMessage(m); });
    this.socket.on("retracted", function (p) { self.retract(p); });
    this.socket.on("presence", function (p) { self.onPresence(p); });
    this.socket.on("typing", function (p) { self.onTyping(p); });
    this.socket.on("support", function (p) { self.showSupport(p); });
    this.socket.on("room", function (p) { self.onRoom(p); });
    this.socket.on("checkin", function (p) { self.onCheckin(p); });
    this.socket.on("muted", function (p) { self.showError("A moderator paused your messages here until " + timeLabel(p.until) + "."); });
    this.wireForm();
    this.wireMoodForm();
    this.wireSupport();
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { self.markRead(); } });
  };

  // The status line is a live region: setting the words it already says would have them read out again.
  Chat.prototype.say = function (text) {
    if (this.status && this.status.textContent !== text) { this.status.textContent = text; }
  };

  Chat.prototype.announce = function (text) {
    if (!this.announcer) { return; }
    var line = el("p", null, text);
    this.announcer.appendChild(line);
    while (this.announcer.childNodes.length > 5) { this.announcer.removeChild(this.announcer.firstChild); }
  };

  Chat.prototype.showError = function (text) { if (this.error) { this.error.textContent = text || ""; } };

  // The server closed this socket (signed out elsewhere, suspended) and the client will not reconnect, so
  // nothing more can be sent. The box keeps its words, read-only so they can still be copied, and messages
  // still waiting for an answer are shown as unconfirmed with their words, not left "Sending…" forever.
  Chat.prototype.end = function () {
    var self = this;
    this.ended = true;
    this.input.readOnly = true;
    this.sendButton.disabled = true;
    Object.keys(this.pending).forEach(function (clientId) { self.keepUnsent(clientId, "Not confirmed as sent"); });
    this.explainEnd();
  };

  // The server closes a socket without saying why. Asking for this page again tells: a suspended member
  // is answered 403 (the suspension page, with the crisis lines); anyone else is sent to sign in.
  Chat.prototype.explainEnd = function () {
    var self = this;
    this.say(ENDED_TEXT);
    window.fetch(window.location.href, { method: "HEAD", credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (response) { if (response.status === 403) { self.say(SUSPENDED_TEXT); } }, function () {});
  };

  // --- joining --------------------------------------------------------------------------------

  // `quietly`: the page asking again, every few seconds, whether a check-in has opened. Nothing changed
  // for the person, so the status line keeps its words rather than flicker to "Joining…" and back, which
  // a screen reader would read out each time.
  Chat.prototype.join = function (quietly) {
    var self = this;
    if (this.ended) { return; } // a retry timer outlived the socket
    if (!quietly) { this.say("Joining…"); }
    this.socket.timeout(ACK_TIMEOUT_MS).emit("join", { room: this.roomKey, after: this.resumePoint() }, function (err, ack) {
      if (err) { self.say("The server didn't answer; retrying…"); setTimeout(function () { self.join(); }, 2000); return; }
      if (!ack || !ack.ok) {
        var code = ack && ack.error && ack.error.code;
        self.stopSending("Not sent: you're not in this room. Your words are still here to copy.");
        // A check-in not open yet, full or ended is followed from outside its talk, as someone looking in
        // follows it: its state and places stay live, and an empty conversation doesn't read as nobody there.
        if (self.inCheckin && Object.prototype.hasOwnProperty.call(OUTSIDE_TEXT, code)) {
          self.stepOutside();
          self.say(OUTSIDE_TEXT[self.latestPlaces ? outsideBecause(self.latestPlaces) : code]);
        } else {
          self.say((ack && ack.error && ack.error.message) || "You can't join this room.");
        }
        // Until it opens, this socket is in no room: ask again now and then (at once when `places` says it opened).
        if (code === "room_not_open") { self.joinTimer = setTimeout(function () { self.joinTimer = null; self.join(true); }, NOT_OPEN_RETRY_MS); }
        return;
      }
      if (ack.looking_in) { self.lookIn(ack.room.checkin); return; }
      self.stopLookingIn(); // a place taken since (another tab): this rejoin lets them in
      self.onRoom(ack.room);
      if (ack.room.checkin) { self.onCheckin(ack.room.checkin); }
      ack.history.forEach(function (m) { self.addMessage(m, false); });
      // An empty first history means the room had nothing this person may see: everything is after 0.
      // Left at null, a reconnect would ask for the latest page only and could skip what came between.
      if (self.historyId === null && !ack.room.has_more) { self.historyId = 0; }
      (ack.retracted || []).forEach(function (p) { self.retract(p); });
      self.present = {};
      ack.present.forEach(function (p) { self.present[p.id] = p.username; });
      self.presentCount = typeof ack.present_count === "number" ? ack.present_count : ack.present.length;
      self.presentMore = !!ack.present_more;
      self.drawPresent();
      self.resendPending();
      self.markRead();
      self.showLinkedMessage();
    });
  };

  // A link to one message (#m<id>, as a review item gives moderators) opens the room at it, once: marked,
  // scrolled to and focused. A message older than the history a join sends is not on the page; say so.
  Chat.prototype.showLinkedMessage = function () {
    var wanted = /^#m(\d+)$/.exec(window.location.hash);
    if (this.linkShown || !wanted) { return; }
    this.linkShown = true;
    var item = this.shown[wanted[1]]; // keys are ids; a property name is a string either way
    if (!item) {
      var missing = "The message this link points to is not among the recent messages shown here.";
      this.announce(missing);
      this.log.parentNode.insertBefore(el("p", "meta", missing), this.log);
      return;
    }
    item.classList.add("chat-linked");
    item.setAttribute("tabindex", "-1");
    item.scrollIntoView({ block: "center" });
    item.focus({ preventScroll: true });
  };

  // Where to resume after a reconnect. Live messages can arrive slightly out of id order (sends are
  // handled concurrently), so the newest id seen is not proof that every older one arrived: resume from
  // the newest id that has been settled for SETTLE_MS, and let the id check in addMessage drop repeats.
  Chat.prototype.resumePoint = function () {
    var settledBefore = Date.now() - SETTLE_MS;
    var point = this.historyId;
    this.liveArrivals = this.liveArrivals.filter(function (arrival) {
      if (arrival.at <= settledBefore) {
        if (point === null || arrival.id > point) { point = arrival.id; }
        return false;
      }
      return true;
    });
    var pendingLow = this.liveArrivals.reduce(function (low, arrival) { return Math.min(low, arrival.id); }, Infinity);
    if (pendingLow !== Infinity && point !== null && point >= pendingLow) { point = pendingLow - 1; }
    this.historyId = point;
    return point;
  };

  Chat.prototype.onRoom = function (room) {
    if (room.closed) {
      this.say("This room is closed. You can read, but not send.");
      this.stopSending("Not sent: the room closed. Your words are still here to copy.");
    } else {
      this.resumeSending();
      this.say(room.slow_mode_seconds ? "Live. Slow mode: one message every " + room.slow_mode_seconds + " seconds." : "Live.");
    }
  };

  // The host's check-in controls (open, mood round, end) are forms that reload the page: words half typed
  // in the message box would go with it. They are kept for this tab (sessionStorage: gone when it closes)
  // and put back once, on the page that comes next.
  Chat.prototype.keepDraftAcrossReloads = function () {
    var self = this;
    var key = "hearth-chat-draft:" + this.roomKey;
    var store = null;
    try { store = window.sessionStorage; } catch (e) { return; } // storage off: the draft can't be kept
    var kept = store.getItem(key);
    store.removeItem(key);
    if (kept && !this.input.value) { this.input.value = kept; }
    this.root.addEventListener("submit", function (event) {
      var reloads = event.target !== self.form && !event.defaultPrevented; // the mood form is sent without a reload
      if (reloads && self.input.value.trim()) { store.setItem(key, self.input.value); }
    });
  };

  // Sending stops (the room closed, or this person can't join it): the box goes, unless it holds words. Someone
  // mid-sentence, perhaps in crisis, keeps them, read-only so they can be copied, with why they were not sent.
  Chat.prototype.stopSending = function (why) {
    var typed = this.input.value.trim() !== "";
    this.form.hidden = !typed;
    this.input.readOnly = true;
    this.sendButton.disabled = true;
    if (typed) { this.showError(why); }
  };

  Chat.prototype.resumeSending = function () {
    if (this.ended) { return; }
    this.form.hidden = false;
    this.input.readOnly = false;
    this.sendButton.disabled = false;
  };

  // --- messages -------------------------------------------------------------------------------

  Chat.prototype.addMessage = function (m, live) {
    if (m.room !== this.roomKey) { return; }
    var pendingItem = this.pending[m.client_id];
    if (pendingItem && m.author_id === this.me) {
      delete this.pending[m.client_id];
      if (pendingItem.node.parentNode) { pendingItem.node.parentNode.removeChild(pendingItem.node); }
    }
    if (this.shown[m.id]) { return; }
    var item = this.renderMessage(m);
    this.shown[m.id] = item;
    this.sources[m.id] = m.body_md;
    this.insertInOrder(item, m.id);
    if (this.lastId === null || m.id > this.lastId) { this.lastId = m.id; }
    if (live) {
      this.liveArrivals.push({ id: m.id, at: Date.now() });
    } else if (this.historyId === null || m.id > this.historyId) {
      this.historyId = m.id;
    }
    if (m.kind === "mood" && m.mood) { this.addMood({ author: m.author, phase: m.mood.phase, mood: m.mood.value, word: m.mood.word }); }
    if (live && m.author_id !== this.me) {
      this.announce(m.author + ": " + htmlToText(m.body_html));
      this.scheduleRead();
    }
    if (live) { item.scrollIntoView({ block: "nearest" }); }
  };

  Chat.prototype.insertInOrder = function (item, id) {
    var children = this.log.children;
    for (var i = children.length - 1; i >= 0; i--) {
      var otherId = parseInt(children[i].getAttribute("data-id") || "0", 10);
      if (otherId && otherId < id) { children[i].after(item); return; }
    }
    this.log.insertBefore(item, this.log.firstChild);
  };

  Chat.prototype.renderMessage = function (m) {
    var item = el("li", "chat-message" + (m.author_id === this.me ? " mine" : "") + (m.kind === "mood" ? " chat-mood" : ""));
    item.setAttribute("data-id", String(m.id));
    item.id = "m" + m.id;
    var head = el("p", "chat-meta");
    head.appendChild(el("strong", "author", m.author));
    var time = el("time", "meta", timeLabel(m.created_at));
    time.setAttribute("datetime", m.created_at);
    head.appendChild(document.createTextNode(" "));
    head.appendChild(time);
    var edited = el("span", "meta chat-edited", m.edited_at ? " (edited)" : "");
    head.appendChild(edited);
    item.appendChild(head);
    var body = el("div", "chat-body post-body");
    body.innerHTML = m.body_html; // sanitised on the server at write time (markdown-it + nh3)
    item.appendChild(body);
    item.appendChild(this.renderActions(m, item));
    return item;
  };

  Chat.prototype.renderActions = function (m, item) {
    var self = this;
    var bar = el("div", "chat-actions");
    function button(label, handler) {
      var b = el("button", "link-button", label);
      b.type = "button";
      b.addEventListener("click", handler);
      bar.appendChild(b);
      return b;
    }
    if (m.author_id === this.me && m.kind === "text") {
      button("Edit", function () { self.startEdit(m, item); });
    }
    if (m.author_id === this.me) {
      var del = button("Delete", function () {
        if (del.getAttribute("data-armed") !== "1") {
          del.setAttribute("data-armed", "1");
          del.textContent = "Really delete?";
          return;
        }
        self.request("delete", { room: self.roomKey, id: m.id });
      });
    } else if (this.isModerator) {
      button("Remove", function () { self.request("remove", { room: self.roomKey, id: m.id, reason: "removed in chat" }); });
      if (m.author_id) {
        button("Mute for an hour", function () {
          self.request("mute", { room: self.roomKey, user_id: m.author_id, minutes: 60, reason: "muted in chat" }, function () {
            self.say(m.author + " can't send here for an hour.");
          });
        });
      }
    }
    return bar;
  };

  Chat.prototype.startEdit = function (m, item) {
    var self = this;
    var body = item.querySelector(".chat-body");
    var form = el("form", "chat-edit");
    var label = el("label", "visually-hidden", "Edit your message");
    var area = el("textarea");
    area.id = "edit-" + m.id;
    label.setAttribute("for", area.id);
    area.value = this.sources[m.id]; // the Markdown: the rendered text would lose its emphasis, lists and links
    area.rows = 2;
    var save = el("button", "small", "Save");
    save.type = "submit";
    var cancel = el("button", "small", "Cancel");
    cancel.type = "button";
    form.appendChild(label);
    form.appendChild(area);
    form.appendChild(save);
    form.appendChild(cancel);
    body.hidden = true;
    item.insertBefore(form, body.nextSibling);
    area.focus();
    function close() { form.remove(); body.hidden = false; }
    cancel.addEventListener("click", close);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.request("edit", { room: self.roomKey, id: m.id, body: area.value }, function (ack) {
        self.updateMessage(ack.message);
        close();
      });
    });
  };

  Chat.prototype.updateMessage = function (m) {
    var item = this.shown[m.id];
    if (!item) { return; }
    var body = item.querySelector(".chat-body");
    body.innerHTML = m.body_html; // sanitised on the server
    this.sources[m.id] = m.body_md;
    var edited = item.querySelector(".chat-edited");
    if (edited) { edited.textContent = " (edited)"; }
  };

  Chat.prototype.retract = function (p) {
    var item = this.shown[p.id];
    if (!item) { return; }
    delete this.sources[p.id];
    item.textContent = "";
    item.className = "chat-message retracted";
    item.appendChild(el("p", "removed", p.by === "moderator" ? "Removed by a moderator." : "Deleted by its author."));
  };

  Chat.prototype.request = function (event, data, onOk) {
    var self = this;
    if (this.ended) { this.showError(ENDED_TEXT); return; }
    this.socket.timeout(ACK_TIMEOUT_MS).emit(event, data, function (err, ack) {
      if (err) { self.showError("The server didn't answer. Please try again."); return; }
      if (!ack || !ack.ok) { self.showError((ack && ack.error && ack.error.message) || "That didn't work."); return; }
      self.showError("");
      if (onOk) { onOk(ack); }
    });
  };

  // --- sending --------------------------------------------------------------------------------

  Chat.prototype.wireForm = function () {
    var self = this;
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.sendFromInput();
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.sendFromInput();
      }
    });
    this.input.addEventListener("input", function () { self.typing(); });
  };

  Chat.prototype.sendFromInput = function () {
    var body = this.input.value.trim();
    if (!body || this.ended) { return; } // ended: the words stay in the box, as nothing could send them
    if (this.waitingToOpen) { // Enter as well as Send waits for the host: the words stay in the box
      this.showError("Not sent yet: you can send once the host opens the check-in. Your words are still here.");
      return;
    }
    var clientId = newClientId();
    var node = el("li", "chat-message mine pending");
    node.appendChild(el("p", "meta", "Sending…"));
    node.appendChild(el("div", "chat-body", body));
    this.log.appendChild(node);
    this.pending[clientId] = { body: body, node: node };
    this.input.value = "";
    this.stopTyping();
    this.sendPending(clientId);
  };

  Chat.prototype.sendPending = function (clientId) {
    var self = this;
    var item = this.pending[clientId];
    if (!item || !this.socket.connected) { return; }
    this.socket.timeout(ACK_TIMEOUT_MS).emit("send", { room: this.roomKey, body: item.body, client_id: clientId }, function (err, ack) {
      if (err) { return; } // kept pending: resent with the same client_id on reconnect
      if (!ack.ok) {
        self.refuse(clientId);
        var wait = ack.error.retry_after ? " (try again in " + ack.error.retry_after + " s)" : "";
        self.showError(ack.error.message + wait);
        if (ack.error.support) { self.showSupport(ack.error.support); } // refused, but its words need help now
        return;
      }
      self.showError("");
      self.addMessage(ack.message, false);
    });
  };

  // Refused words are never lost: they go back into an empty box; if the person has started the next
  // message, they stay in the log as "Not sent" rather than overwrite or mix into what is being typed.
  Chat.prototype.refuse = function (clientId) {
    var item = this.pending[clientId];
    this.keepUnsent(clientId, "Not sent");
    if (!this.input.value) { this.putBack(item); }
  };

  // A message that was not sent stays where it was typed, with its words and a way to take them back.
  Chat.prototype.keepUnsent = function (clientId, note) {
    var self = this;
    var item = this.pending[clientId];
    delete this.pending[clientId];
    item.node.className = "chat-message mine not-sent";
    item.node.querySelector(".meta").textContent = note;
    var bar = el("div", "chat-actions");
    var back = el("button", "link-button", "Put back in the box");
    back.type = "button";
    back.addEventListener("click", function () { self.putBack(item); });
    bar.appendChild(back);
    item.node.appendChild(bar);
  };

  // The unsent words go before anything typed since, as they came first.
  Chat.prototype.putBack = function (item) {
    item.node.remove();
    this.input.value = this.input.value ? item.body + "\n" + this.input.value : item.body;
    this.input.focus();
  };

  Chat.prototype.resendPending = function () {
    var self = this;
    Object.keys(this.pending).forEach(function (clientId) { self.sendPending(clientId); });
  };

  // --- read marks, presence, typing -------------------------------------------------------------

  Chat.prototype.scheduleRead = function () {
    var self = this;
    if (this.readTimer) { return; }
    this.readTimer = setTimeout(function () { self.readTimer = null; self.markRead(); }, 1500);
  };

  Chat.prototype.markRead = function () {
    if (document.hidden || this.lastId === null || !this.socket.connected) { return; }
    this.socket.emit("read", { room: this.roomKey, last_id: this.lastId });
  };

  // Joins and leaves are announced only in rooms small enough to list everyone; a crowded room's count
  // is the one the last join (or page) gave.
  Chat.prototype.onPresence = function (p) {
    if (p.room !== this.roomKey) { return; }
    if (p.action === "join") {
      if (!(p.user.id in this.present)) { this.presentCount += 1; }
      this.present[p.user.id] = p.user.username;
      if (!this.cancelLeaving(p.user.id)) { this.announce(p.user.username + " joined."); }
    } else {
      var name = this.present[p.user.id];
      delete this.present[p.user.id];
      this.presentCount = Math.max(this.presentCount - 1, Object.keys(this.present).length);
      delete this.typers[p.user.id];
      this.drawTyping();
      if (name) { this.announceLeaving(p.user.id, name); }
    }
    this.drawPresent();
  };

  // A page reloaded (a host moving the check-in on, someone refreshing) leaves and joins again within a
  // second or two: "left" is said only once they have stayed away a moment, so a screen reader is not
  // told "left, joined" at every reload. The list itself changes at once.
  Chat.prototype.announceLeaving = function (id, name) {
    var self = this;
    this.cancelLeaving(id);
    this.leaving[id] = setTimeout(function () { delete self.leaving[id]; self.announce(name + " left."); }, LEFT_AFTER_MS);
  };

  Chat.prototype.cancelLeaving = function (id) {
    if (!(id in this.leaving)) { return false; }
    clearTimeout(this.leaving[id]);
    delete this.leaving[id];
    return true;
  };

  Chat.prototype.drawPresent = function () {
    var list = this.presentList;
    var present = this.present;
    list.textContent = "";
    Object.keys(present).forEach(function (id) { list.appendChild(el("li", null, present[id])); });
    this.drawPresentNote(Object.keys(present).length);
    // "Here now" over nobody would read as an empty room: it shows once someone is listed or counted.
    var side = $(this.root, "[data-chat-side]");
    if (side) { side.hidden = !list.children.length && this.presentCount <= 0; }
  };

  // Below the list in a crowded room: how many more are here, and a button that pages through them.
  Chat.prototype.drawPresentNote = function (listed) {
    var self = this;
    if (!this.presentNote) {
      this.presentNote = el("p", "chat-present-more");
      this.presentList.parentNode.insertBefore(this.presentNote, this.presentList.nextSibling);
    }
    var note = this.presentNote;
    var others = this.presentCount - listed;
    note.textContent = "";
    note.hidden = others <= 0;
    if (others <= 0) { return; }
    note.appendChild(document.createTextNode("and " + others + " more here "));
    if (this.presentMore) {
      var button = el("button", "link-button", "Show everyone");
      button.type = "button";
      button.addEventListener("click", function () { button.disabled = true; self.loadMorePresent(); });
      note.appendChild(button);
    }
  };

  // People come in id order, so the highest listed id is where the next page starts.
  Chat.prototype.loadMorePresent = function () {
    var self = this;
    var ids = Object.keys(this.present).map(Number);
    var after = ids.length ? Math.max.apply(null, ids) : 0;
    this.socket.timeout(ACK_TIMEOUT_MS).emit("present", { room: this.roomKey, after: after }, function (err, ack) {
      if (err || !ack || !ack.ok) { self.drawPresent(); return; }
      ack.present.forEach(function (p) { self.present[p.id] = p.username; });
      self.presentCount = ack.present_count;
      self.presentMore = ack.more && ack.present.length > 0;
      if (self.presentMore) { self.loadMorePresent(); } else { self.drawPresent(); }
    });
  };

  Chat.prototype.onTyping = function (p) {
    var self = this;
    if (p.room !== this.roomKey || p.user.id === this.me) { return; }
    clearTimeout(this.typers[p.user.id] && this.typers[p.user.id].timer);
    if (p.typing) {
      this.typers[p.user.id] = { name: p.user.username, timer: setTimeout(function () {
        delete self.typers[p.user.id];
        self.drawTyping();
      }, TYPING_IDLE_MS + 2000) };
    } else {
      delete this.typers[p.user.id];
    }
    this.drawTyping();
  };

  Chat.prototype.drawTyping = function () {
    var typers = this.typers;
    var names = Object.keys(typers).map(function (id) { return typers[id].name; });
    this.typingLine.textContent = names.length === 0 ? "" :
      names.length === 1 ? names[0] + " is typing…" : names.join(", ") + " are typing…";
  };

  Chat.prototype.typing = function () {
    var self = this;
    var now = Date.now();
    if (now - this.typingSentAt > TYPING_REPEAT_MS && this.socket.connected) {
      this.typingSentAt = now;
      this.socket.emit("typing", { room: this.roomKey, typing: true });
    }
    clearTimeout(this.typingStopTimer);
    this.typingStopTimer = setTimeout(function () { self.stopTyping(); }, TYPING_IDLE_MS);
  };

  Chat.prototype.stopTyping = function () {
    clearTimeout(this.typingStopTimer);
    if (this.typingSentAt && this.socket.connected) { this.socket.emit("typing", { room: this.roomKey, typing: false }); }
    this.typingSentAt = 0;
  };

  // --- the support panel ------------------------------------------------------------------------

  Chat.prototype.wireSupport = function () {
    var panel = $(this.root, "[data-chat-support]");
    var dismiss = panel && $(panel, "[data-support-dismiss]");
    var input = this.input;
    if (dismiss) { dismiss.addEventListener("click", function () { panel.hidden = true; input.focus(); }); }
    var askButton = panel && $(panel, "[data-check-in]");
    if (askButton) { askButton.addEventListener("click", function () { askForCheckIn(panel); }); }
  };

  // The request a draft's button makes (site.js), from chat: an urgent item about the member for the
  // moderators. It is a button outside the message form, so nothing typed in the box is sent or cleared.
  // A refusal keeps the button, with the reason and when to ask again, beside it.
  function askForCheckIn(panel) {
    var ask = $(panel, "[data-check-in-ask]");
    var button = $(ask, "[data-check-in]");
    var status = $(panel, "[data-check-in-status]");
    button.disabled = true;
    status.textContent = "Asking the moderators…";
    window.Hearth.requestCheckIn("chat").then(function (refusal) {
      if (refusal === null) {
        ask.hidden = true;
        status.textContent = window.Hearth.checkInThanks;
        return;
      }
      button.disabled = false;
      status.textContent = refusal;
    });
  }

  Chat.prototype.showSupport = function (p) {
    var panel = $(this.root, "[data-chat-support]");
    if (!panel) { return; }
    var urgent = p.level === "crisis" || p.level === "unknown";
    panel.className = "support-panel support-" + (urgent ? p.level : "concern");
    $(panel, "[data-support-heading]").textContent = urgent
      ? "You don't have to hold this alone" : "It sounds like things are hard right now";
    var words = $(panel, "[data-support-words]");
    words.textContent = "";
    (p.words || []).forEach(function (line) { words.appendChild(el("p", null, line)); });
    var resources = $(panel, "[data-support-resources]");
    resources.textContent = "";
    (p.resources || []).forEach(function (r) {
      var li = el("li");
      li.appendChild(el("strong", null, r.name));
      if (r.contact) { li.appendChild(document.createTextNode(": " + r.contact)); }
      if (r.url && /^https?:\/\//.test(r.url)) {
        li.appendChild(document.createTextNode(" · "));
        var a = el("a", null, r.url);
        a.href = r.url;
        a.rel = "noopener";
        li.appendChild(a);
      }
      resources.appendChild(li);
    });
    // Concern gets the lines too: its words point at them ("the people on these lines").
    var heading = $(panel, "[data-support-resources-heading]");
    heading.textContent = urgent ? "People you can reach right now" : "People you can talk to";
    heading.hidden = !resources.children.length;
    resources.hidden = !resources.children.length;
    var guides = $(panel, "[data-support-guides]");
    guides.textContent = "";
    (p.guides || []).forEach(function (g) {
      var li = el("li");
      var a = el("a", null, g.title);
      a.href = g.url;
      li.appendChild(a);
      guides.appendChild(li);
    });
    $(panel, "[data-support-guides-heading]").hidden = !(p.guides && p.guides.length);
    $(panel, "[data-support-check-in]").hidden = !p.can_request_check_in;
    var plan = $(panel, "[data-support-plan]"); // only there when the member saved a plan
    if (plan) { plan.hidden = !urgent; }
    panel.hidden = false;
    panel.focus();
  };

  // --- check-ins --------------------------------------------------------------------------------

  Chat.prototype.onCheckin = function (c) {
    if (c.room !== this.roomKey) { return; }
    drawPlaces(c);
    var round = $(this.root, "[data-checkin-round]");
    if (round && c.round) {
      round.textContent = "";
      var self = this;
      c.round.forEach(function (share) { self.addMood(share); });
      this.showRound();
    }
    // Shared already in this round (the round says so, after a reload too): the form would only be refused.
    var phase = c.state === "closing_round" ? "end" : "start";
    var form = $(this.root, "[data-mood-form]");
    if (form) {
      form.hidden = ["mood_round", "open_talk", "closing_round"].indexOf(c.state) < 0 || !!this.sharedPhases[phase];
      var legend = $(form, "[data-mood-legend]");
      if (legend) {
        legend.textContent = c.state === "closing_round"
          ? "Before we close: how are you now, 1 (very low) to 10 (very good), and one word"
          : "Share how you are, 1 (very low) to 10 (very good), and one word";
      }
    }
    if (c.summary) { this.drawSummary(c.summary); }
    var opened = this.waitForOpening(c.state === "scheduled");
    if (c.state === "closed") { this.onRoom({ closed: true }); }
    else if (c.state !== "scheduled" && !opened) { this.announce("The check-in is now: " + c.state.replace(/_/g, " ") + "."); }
  };

  // In before the host opens (a saved place lets people in): say so, and hold sending until it opens, rather
  // than offer a box whose every message is refused. When it opens, say so plainly, in the status line and
  // to screen readers, and let them send. Returns whether it has just opened for this person.
  Chat.prototype.waitForOpening = function (waiting) {
    if (waiting && !this.runsCheckin) {
      this.waitingToOpen = true;
      this.sendButton.disabled = true;
      this.say("You have a place. You can send messages once the host opens the check-in.");
      return false;
    }
    if (!this.waitingToOpen) { return false; }
    this.waitingToOpen = false;
    this.resumeSending();
    this.showError("");
    this.say(OPENED_TEXT);
    this.announce(OPENED_TEXT);
    return true;
  };

  // In a running check-in without a place: its state and places show, its conversation doesn't, and nothing
  // can be sent. The place box offers to take part (a saved place; the page then joins in full).
  Chat.prototype.lookIn = function (c) {
    this.stopSending("Not sent: take part in the check-in first. Your words are still here to copy.");
    this.stepOutside();
    drawPlaces(c);
    this.say(OUTSIDE_TEXT[outsideBecause(c)]);
  };

  // Outside the talk (looking in, or a join refused as not open, full or ended): the conversation and who is
  // in it are not this person's to see, so they are not shown as empty. Words being typed stay in sight.
  Chat.prototype.stepOutside = function () {
    this.lookingIn = true;
    var talk = $(this.root, "[data-chat-talk]");
    if (talk && !this.input.value.trim()) { talk.hidden = true; }
  };

  Chat.prototype.stopLookingIn = function () {
    if (!this.lookingIn) { return; }
    this.lookingIn = false;
    $(this.root, "[data-chat-talk]").hidden = false;
  };

  // A change in this check-in's places or state, as the list hears it (drawPlaces has drawn it). Someone
  // waiting for it to open joins at once when it does; someone outside its talk is told what changed: that
  // it runs, whether a place is free to take, that it has ended.
  Chat.prototype.onPlaces = function (p) {
    if (p.room !== this.roomKey) { return; }
    this.latestPlaces = p; // a join refused after this says why from it: full before opening, not "save a place"
    if (this.joinTimer && p.state !== "scheduled") {
      clearTimeout(this.joinTimer);
      this.joinTimer = null;
      this.join();
    }
    if (this.lookingIn) { this.say(OUTSIDE_TEXT[outsideBecause(p)]); }
  };

  Chat.prototype.addMood = function (share) {
    var round = $(this.root, "[data-checkin-round]");
    if (!round) { return; }
    if (share.author === this.myName) { this.sharedPhases[share.phase] = true; }
    var label = share.author + (share.phase === "end" ? " (end)" : "") + ": " + share.mood + "/10" + (share.word ? " · " + share.word : "");
    round.appendChild(el("li", "mood-share mood-" + share.phase, label));
    this.showRound();
  };

  // The round shows with its first share: before one (and to anyone outside the talk, who is sent none) its
  // heading would stand over nothing.
  Chat.prototype.showRound = function () {
    var round = $(this.root, "[data-checkin-round]");
    if (!round) { return; }
    round.hidden = !round.children.length;
    var heading = $(this.root, "[data-checkin-round-heading]");
    if (heading) { heading.hidden = round.hidden; }
  };

  Chat.prototype.drawSummary = function (s) {
    var box = $(this.root, "[data-checkin-summary]");
    if (!box) { return; }
    box.textContent = "";
    box.appendChild(el("h3", null, "Summary"));
    var list = el("ul", "checkin-summary");
    list.appendChild(el("li", null, s.participants + " took part"));
    list.appendChild(el("li", null, "Average mood at the start: " + (s.average_start === null ? "not shared" : s.average_start + " (" + s.shared_start + " shared)")));
    list.appendChild(el("li", null, "Average mood at the end: " + (s.average_end === null ? "not shared" : s.average_end + " (" + s.shared_end + " shared)")));
    // The two averages may be over different people; only those at both ends show how moods moved.
    if (s.shared_both) {
      list.appendChild(el("li", null, "The " + s.shared_both + " who shared both times: from " + s.both_start + " to " + s.both_end));
    }
    box.appendChild(list);
  };

  Chat.prototype.wireMoodForm = function () {
    var self = this;
    var form = $(this.root, "[data-mood-form]");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var mood = parseInt(form.querySelector("[name=mood]").value, 10);
      var word = form.querySelector("[name=word]").value.trim();
      self.request("mood", { room: self.roomKey, mood: mood, word: word, client_id: newClientId() }, function (ack) {
        self.addMessage(ack.message, false);
        form.hidden = true;
        self.say("Thank you for sharing.");
      });
    });
  };

  // --- moderators: live alerts ------------------------------------------------------------------

  function startAlerts(root) {
    var list = root.querySelector("[data-mod-alert-list]");
    var status = root.querySelector("[data-mod-alerts-status]");
    if (!list) { return; }
    var socket = io("/moderation", { withCredentials: true });
    socket.on("connect", function () { status.textContent = "Listening for urgent alerts."; });
    socket.on("connect_error", function () { status.textContent = "Alerts unavailable; reconnecting…"; });
    socket.on("alert", function (a) {
      var li = el("li", "mod-alert", null);
      li.setAttribute("data-testid", "mod-alert");
      var where = a.where || {};
      li.appendChild(el("strong", null, (a.level || "urgent").toUpperCase() + " "));
      li.appendChild(el("span", "meta", where.room_title ? "in " + where.room_title : (where.kind || "")));
      if (where.context && where.context.length) {
        var ctx = el("ol", "mod-context");
        where.context.forEach(function (c) { ctx.appendChild(el("li", "meta", c.author + ": " + c.body)); });
        li.appendChild(ctx);
      }
      li.appendChild(el("p", "mod-excerpt", (where.author ? where.author + ": " : "") + (a.excerpt || "")));
      if (a.item_id) {
        var link = el("a", null, "Open review item #" + a.item_id);
        link.href = "/moderation/items/" + encodeURIComponent(a.item_id);
        li.appendChild(link);
      }
      list.insertBefore(li, list.firstChild);
      status.textContent = "New urgent alert at " + new Date().toLocaleTimeString() + ".";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var start = document.querySelector("[data-start-time]");
    if (start) { wireStartTime(start); }
    if (typeof io !== "function") { return; }
    var root = document.querySelector("[data-chat-room]");
    if (!root) {
      if (placesShown().length) { placesSocket(); }
      return;
    }
    new Chat(root).start();
    if (root.getAttribute("data-moderator") === "1") { startAlerts(root); }
  });
})();
