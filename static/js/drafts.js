// Long writing (a journal entry, a plan, a reflection, a thread, a reply, an edit) is kept in this tab from the
// moment it is sent until the server has saved it. A session can end while someone writes (signed out in another
// tab or on another device, ended by a moderator, a password changed), and the form then lands on the sign-in
// page or a "form expired" page with nothing of what was written: here it comes back in its form, with a note.
//
// The privacy choices are those of the chat box's draft (chat.js keepDraftAcrossReloads):
// - sessionStorage only: it goes when the tab closes. Never localStorage, which would leave a journal on a
//   shared computer for whoever opens the browser next.
// - each draft is the signed-in person's own (its key names them): a page for anyone else removes the drafts of
//   this tab, so a next person never finds them, and signing out on purpose removes them all.
// - kept only from sending until saved: the page after a successful save removes it, not the send itself,
//   which may still be refused.
// Forms take part with data-keep-draft; the key is the address they send to, so the same form finds its draft
// on whichever page shows it (a thread's reply box is on each of its pages).
(function () {
  "use strict";

  var DRAFT = "hearth-draft:";   // + person + ":" + the form's address
  var SENT = "hearth-draft-sent"; // the draft just sent, so the page that follows can tell whether it was saved
  var CHAT = "hearth-chat-draft:"; // chat.js keeps a chat box's words across a reload, under no one's name
  var TAB_PERSON = "hearth-tab-person"; // who was signed in on this tab's last page, to tell when that changes

  var store = null;
  try {
    store = window.sessionStorage;
    store.getItem(SENT);
  } catch (e) {
    return; // storage off: nothing can be kept, and forms work as they always did
  }

  function person() {
    var meta = document.querySelector('meta[name="hearth-person"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function read(key) {
    try { return JSON.parse(store.getItem(key) || "null"); } catch (e) { return null; }
  }

  function write(key, value) {
    try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full: the form is sent as ever */ }
  }

  function keysFrom(prefix) {
    var keys = [];
    for (var i = 0; i < store.length; i++) {
      var key = store.key(i);
      if (key && key.indexOf(prefix) === 0) { keys.push(key); }
    }
    return keys;
  }

  function draftKeys() { return keysFrom(DRAFT); }

  function forgetAll() {
    draftKeys().concat(keysFrom(CHAT)).forEach(function (key) { store.removeItem(key); });
    store.removeItem(SENT);
    store.removeItem(TAB_PERSON);
  }

  function address(form) {
    return new URL(form.getAttribute("action") || window.location.href, window.location.href).pathname;
  }

  function keyFor(who, form) { return DRAFT + who + ":" + address(form); }

  // What is kept of a form: everything the person chose or wrote. Not the CSRF token (a new page has a valid
  // one) nor the person's date (practice.js fills in today's). Hidden fields are kept: the idempotency key makes
  // a second send of words already saved the same entry or post, and the version seen makes a plan or entry
  // changed elsewhere meanwhile a question (409) rather than silently replaced.
  function keptFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      if (!field.name || field.disabled || field.name === "csrf_token" || field.hasAttribute("data-local-today")) {
        return false;
      }
      return ["submit", "button", "reset", "file", "password"].indexOf(field.type) < 0;
    });
  }

  function isChoice(field) { return field.type === "checkbox" || field.type === "radio"; }

  function isWriting(field) { return field.tagName === "TEXTAREA" || (field.tagName === "INPUT" && field.type === "text"); }

  function snapshot(form) {
    var wrote = false;
    var fields = keptFields(form).map(function (field) {
      if (isWriting(field) && field.value.trim()) { wrote = true; }
      return isChoice(field)
        ? { name: field.name, choice: true, value: field.value, checked: field.checked }
        : { name: field.name, value: field.value };
    });
    return wrote ? fields : null;
  }

  // Each field of the form with what the draft kept for it, matched in order (a name can repeat). A box ticked
  // on the form comes back ticked even when it was last sent from a refusal page, which carries it as a hidden
  // field: a reply written "as a member" must never come back signed with the person's name.
  function pairs(form, fields) {
    var seen = {};
    return keptFields(form).map(function (field) {
      var nth = seen[field.name] = (seen[field.name] || 0) + 1;
      var kept = fields.filter(function (f) { return f.name === field.name; })[nth - 1];
      if (!kept || (kept.choice && !isChoice(field))) { return null; }
      if (isChoice(field) && !kept.choice) { kept = { choice: true, checked: kept.value === field.value }; }
      return { field: field, kept: kept };
    }).filter(function (pair) { return pair; });
  }

  function differs(pair) {
    return isChoice(pair.field) ? pair.field.checked !== pair.kept.checked : pair.field.value !== pair.kept.value;
  }

  // Puts a draft back. A form that already shows what the person wrote (the server's answer to the send, with
  // its errors, or a version newer than the one they opened) is left as it is: its hidden fields are the
  // server's word now. Answers whether anything changed, and how to put the page's own values back.
  function apply(form, fields) {
    var all = pairs(form, fields);
    var changed = all.some(function (pair) { return pair.field.type !== "hidden" && differs(pair); });
    var undo = [];
    if (changed) {
      all.filter(differs).forEach(function (pair) {
        var field = pair.field;
        if (isChoice(field)) {
          undo.push(function (was) { return function () { field.checked = was; }; }(field.checked));
          field.checked = pair.kept.checked;
        } else {
          undo.push(function (was) { return function () { field.value = was; }; }(field.value));
          field.value = pair.kept.value;
        }
      });
    }
    return { changed: changed, undo: function () { undo.forEach(function (fn) { fn(); }); } };
  }

  function note(text) {
    var p = document.createElement("p");
    p.className = "flash flash-info";
    p.setAttribute("role", "status");
    p.setAttribute("data-draft-kept", "");
    p.textContent = text;
    return p;
  }

  function smallButton(label, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.textContent = label;
    button.addEventListener("click", onClick);
    return button;
  }

  // The draft back in its form, with a note saying so above it and a way to let it go.
  function restore(form, key, draft) {
    var put = apply(form, draft.fields || []);
    if (!put.changed) { return; }
    var details = form.closest("details");
    if (details) { details.open = true; } // a homework reflection's form is folded away until opened
    // "Not saved" would be a guess: a connection lost after the server saved it looks the same from here.
    // (A post or reply sent again keeps its idempotency key, so it is not posted twice.)
    var said = note("What you wrote here before was kept in this tab, because no answer came to say it was " +
      "saved. If you don't find it saved, look it over and send it when you're ready. ");
    said.appendChild(smallButton("Start again without it", function () {
      put.undo();
      store.removeItem(key);
      said.remove();
    }));
    form.parentNode.insertBefore(said, form);
  }

  // The page that follows a send: a page reached by redirect, answered 2xx, for the same signed-in person, and
  // not the sign-in page is the server's "saved" (every form here redirects after a save). A refusal (a form
  // with errors, a changed-elsewhere, a rate limit, an expired form) is answered 4xx without a redirect, and a
  // session that ended is a redirect to sign in: the draft stays for both.
  function navigation() {
    var entries = window.performance && performance.getEntriesByType && performance.getEntriesByType("navigation");
    return entries && entries[0];
  }

  function responseStatus() {
    var nav = navigation();
    return nav && typeof nav.responseStatus === "number" ? nav.responseStatus : null;
  }

  function savedBySend(sent) {
    var nav = navigation();
    if (!nav || nav.type !== "navigate" || !(nav.redirectCount > 0)) { return false; }
    var status = responseStatus();
    if (status !== null && (status < 200 || status >= 300)) { return false; }
    return sent.person === person() && !document.querySelector("form[data-sign-in]");
  }

  function hasFormFor(key) {
    return Array.prototype.some.call(document.querySelectorAll("form[data-keep-draft]"), function (form) {
      return keyFor(person(), form) === key;
    });
  }

  function pathOf(url) {
    try { return new URL(url, window.location.href).pathname; } catch (e) { return null; }
  }

  // The sign-in page, when it stands between someone and a form whose words are kept: say they are.
  function tellOnSignIn(justSent) {
    var form = document.querySelector("form[data-sign-in]");
    if (!form) { return; }
    var next = pathOf(new URLSearchParams(window.location.search).get("next") || "");
    var waiting = justSent || draftKeys().some(function (key) {
      var draft = read(key);
      return draft && next && (key.slice(key.indexOf(":", DRAFT.length) + 1) === next || pathOf(draft.page) === next);
    });
    if (!waiting) { return; }
    var said = note("What you wrote was kept in this tab, but not saved. Sign in again and it will be back in its form. ");
    // On a shared computer someone may rather not leave it behind them at all.
    said.appendChild(smallButton("Forget it", function () { forgetAll(); said.remove(); }));
    form.parentNode.insertBefore(said, form);
  }

  // Any other page after a send that was not saved (the form expired, an error, a private page that answers a
  // stranger "not found"): a way back to the words. When the session has ended, the way back is signing in, with
  // the form as where to go next; a suspended account's page (403) already says what it can and cannot do.
  function tellElsewhere(sent) {
    var main = document.querySelector("main");
    var heading = main && main.querySelector("h1");
    if (!heading) { return; }
    var signIn = document.querySelector("a[data-sign-in-link]");
    var ended = !person() && signIn && responseStatus() !== 403;
    var said = note(ended ? "What you wrote was kept in this tab, but not saved: you were signed out. "
      : "What you wrote was kept in this tab, but not saved. ");
    var back = document.createElement("a");
    if (ended) {
      var login = new URL(signIn.getAttribute("href"), window.location.href);
      login.searchParams.set("next", sent.page);
      back.href = login.pathname + login.search;
      back.textContent = "Sign in again to go back to it";
    } else {
      back.href = sent.page;
      back.textContent = "Go back to it";
    }
    said.appendChild(back);
    heading.insertAdjacentElement("afterend", said);
  }

  function onLoad() {
    var me = person();
    // A tab now used by someone else keeps nothing of the one before: no draft of another person's, and no chat
    // words, which chat.js keeps without saying whose they are.
    if (me) {
      draftKeys().forEach(function (key) { if (key.indexOf(DRAFT + me + ":") !== 0) { store.removeItem(key); } });
      var before = store.getItem(TAB_PERSON);
      if (before && before !== me) { keysFrom(CHAT).forEach(function (key) { store.removeItem(key); }); }
      try { store.setItem(TAB_PERSON, me); } catch (e) { /* storage full: drafts are already checked above */ }
    }
    var sent = read(SENT);
    store.removeItem(SENT);
    if (sent && me && sent.person !== me) { sent = null; }
    var signIn = !!document.querySelector("form[data-sign-in]");
    if (sent && savedBySend(sent)) {
      store.removeItem(sent.key);
    } else if (sent && read(sent.key) && !hasFormFor(sent.key)) {
      if (signIn) { tellOnSignIn(true); } else { tellElsewhere(sent); }
    } else if (signIn) {
      tellOnSignIn(false);
    }
    if (!me) { return; }
    document.querySelectorAll("form[data-keep-draft]").forEach(function (form) {
      var key = keyFor(me, form);
      var draft = read(key);
      if (draft) { restore(form, key, draft); }
    });
  }

  // On window and bubbling, so it runs after every other submit listener (site.js may ask to confirm) and sees
  // whether the send was stopped.
  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form || !form.hasAttribute) { return; }
    if (form.hasAttribute("data-sign-out")) {
      forgetAll(); // the person leaves on purpose: nothing of theirs stays in this tab for whoever comes next
      return;
    }
    var me = person();
    if (!me || !form.hasAttribute("data-keep-draft")) { return; }
    var fields = snapshot(form);
    if (!fields) { return; }
    var key = keyFor(me, form);
    write(key, { page: window.location.pathname + window.location.search, fields: fields });
    write(SENT, { key: key, person: me, page: window.location.pathname + window.location.search });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onLoad);
  } else {
    onLoad();
  }
})();
