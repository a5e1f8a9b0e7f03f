// Hearth page behaviour. No inline script anywhere: the CSP allows only files from /static.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Ask before destructive one-click actions.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // While someone writes, suggest the guide that fits (the text is screened, never stored).
  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function paragraph(text) {
    var p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  // The crisis lines, as the support panel lists them: a draft in crisis gets them before it is sent.
  function resourceList(resources) {
    var list = document.createElement("ul");
    list.className = "resources";
    resources.forEach(function (r) {
      var item = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = r.name;
      item.appendChild(name);
      if (r.contact) { item.appendChild(document.createTextNode(": " + r.contact)); }
      if (r.url && /^https?:\/\//.test(r.url)) {
        item.appendChild(document.createTextNode(" \u00b7 "));
        var link = document.createElement("a");
        link.href = r.url;
        link.rel = "noopener";
        link.textContent = r.url;
        item.appendChild(link);
      }
      list.appendChild(item);
    });
    return list;
  }

  function guideList(links) {
    var list = document.createElement("ul");
    links.forEach(function (g) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = g.url;
      link.target = "_blank"; // a new tab keeps the words being written here
      link.rel = "noopener";
      link.textContent = g.title;
      var note = document.createElement("span");
      note.className = "visually-hidden";
      note.textContent = " (opens in a new tab)";
      link.appendChild(note);
      item.appendChild(link);
      list.appendChild(item);
    });
    return list;
  }

  function renderSuggestions(box, result) {
    // Rebuilt only when what it says changes: the box is a live region, and a rebuild after every pause in
    // typing would read the whole crisis block out again in the middle of a sentence.
    var said = suggestionKey(result);
    if (box.getAttribute("data-said") === said) { return; }
    box.setAttribute("data-said", said);
    box.textContent = "";
    if (!result) { return; }
    var urgent = result.level === "crisis" || result.level === "unknown";
    var resources = (result.support && result.support.resources) || [];
    if (urgent && resources.length) {
      box.appendChild(paragraph("If you are thinking about ending your life, please reach out now. People you can call or text any time:"));
      box.appendChild(resourceList(resources));
    }
    var links = result.guide_links || [];
    if (links.length) {
      box.appendChild(paragraph("Guides that may fit what you are writing:"));
      box.appendChild(guideList(links));
    }
    if (urgent) { box.appendChild(checkInButton()); }
  }

  function suggestionKey(result) {
    if (!result) { return ""; }
    var slugs = (result.guide_links || []).map(function (g) { return g.slug; });
    return result.level + "|" + slugs.join(",");
  }

  var CHECK_IN_THANKS = "Thank you for asking. A moderator will send you a private message soon.";

  // Ask the moderators to check in with this person: a draft's button here, the chat panel in chat.js.
  // Resolves to null once asked, or to a sentence saying why not and when to ask again.
  function requestCheckIn(source) {
    return fetch("/api/v1/check-ins", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ source: source })
    }).then(function (r) {
      if (r.ok) { return null; }
      return r.json().catch(function () { return null; }).then(function (body) { return checkInRefusal(r, body); });
    }, function () {
      return "That didn't go through: the connection failed. Please try again, or use one of the lines above.";
    });
  }

  function checkInRefusal(response, body) {
    var reason = (body && body.error && body.error.message) || "That didn't go through.";
    var seconds = retryAfter(response, body);
    var next = seconds ? " You can ask again in " + waitWords(seconds) + "," : " Please try again,";
    return reason + next + " or use one of the lines above.";
  }

  // From a draft: ask a moderator to check in without leaving the page (the draft is not sent or stored).
  // A refusal keeps the button, so asking again stays one tap away; the status beside it says what happened.
  function checkInButton() {
    var wrap = document.createElement("p");
    var button = document.createElement("button");
    var status = document.createElement("span");
    button.type = "button";
    button.className = "small";
    button.setAttribute("data-check-in", "draft");
    button.textContent = "Ask a moderator to check in with me";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "";
      requestCheckIn("draft").then(function (refusal) {
        if (refusal === null) {
          button.remove();
          status.textContent = CHECK_IN_THANKS;
          return;
        }
        button.disabled = false;
        status.textContent = refusal;
      });
    });

    wrap.appendChild(button);
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(status);
    return wrap;
  }

  // Seconds until a refused request may be made again: the error's retry_after, else the Retry-After header.
  function retryAfter(response, body) {
    var fromBody = body && body.error && body.error.retry_after;
    var seconds = Number(fromBody || response.headers.get("Retry-After"));
    return seconds > 0 ? Math.ceil(seconds) : null;
  }

  function waitWords(seconds) {
    if (seconds < 60) { return seconds === 1 ? "a second" : seconds + " seconds"; }
    var minutes = Math.ceil(seconds / 60);
    return minutes === 1 ? "a minute" : minutes + " minutes";
  }

  function wireSuggestions(form) {
    var field = form.querySelector("[data-screen]");
    var box = form.querySelector("[data-suggestions]");
    if (!field || !box) { return; }
    var check = debounce(function () {
      var text = field.value;
      if (text.trim().length < 20) { renderSuggestions(box, null); return; }
      fetch("/api/v1/screen", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ text: text })
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (result) { renderSuggestions(box, result); })
        .catch(function () { /* suggestions are a help, never a blocker */ });
    }, 800);
    field.addEventListener("input", check);
  }

  // The mood form's tags come ticked from one day's saved entry (its tags_from field names the day). They
  // belong to that day: choosing another day clears them, and choosing it again puts back what was ticked.
  // The tag boxes show what was saved for the chosen day (data-day-tags), so correcting a day's number keeps
  // its tags, whichever day it is and whatever the server thinks today is. A day with nothing saved starts
  // clear. tags_from names the day the ticks came from: the server asks before copying them to another.
  function wireMoodTags(form) {
    var from = form.querySelector("input[name=tags_from]");
    var day = form.querySelector("input[name=day]");
    var saved = JSON.parse(form.getAttribute("data-day-tags") || "{}");
    if (!from || !day) { return; }
    var boxes = Array.prototype.slice.call(form.querySelectorAll(".mood-tags input[type=checkbox]"));
    var shownDay = day.value;  // as the page came: its ticks are right for it (or are the person's own, after a refusal)
    function follow() {
      var chosen = day.value;  // an empty day is saved as today, which practice.js has put in the box
      if (chosen === shownDay) { return; }
      shownDay = chosen;
      var tags = saved[chosen] || [];
      boxes.forEach(function (box) { box.checked = tags.indexOf(box.name) >= 0; });
      from.value = tags.length ? chosen : "";
    }
    day.addEventListener("input", follow);
    day.addEventListener("change", follow);
    // Again once practice.js has moved the day to the person's own date, which may not be the server's.
    window.addEventListener("load", follow);
  }

  // A paste longer than a box's limit (maxlength) is cut by the browser without a word: say what was left out,
  // next to the box, before anyone saves a journal entry or a post that ends mid-sentence.
  function sayWhenAPasteIsCut(event) {
    var box = event.target;
    if (!box || (box.tagName !== "TEXTAREA" && box.tagName !== "INPUT") || !(box.maxLength > 0)) { return; }
    var pasted = (event.clipboardData && event.clipboardData.getData("text")) || "";
    var room = box.maxLength - (box.value.length - (box.selectionEnd - box.selectionStart));
    var note = box.parentNode.querySelector("[data-cut-note]");
    if (pasted.length <= room) { if (note) { note.remove(); } return; }
    if (!note) {
      note = document.createElement("p");
      note.className = "error";
      note.setAttribute("role", "status");
      note.setAttribute("data-cut-note", "");
      box.insertAdjacentElement("afterend", note);
    }
    note.textContent = "This box holds " + box.maxLength.toLocaleString() + " characters: the last " +
      (pasted.length - Math.max(room, 0)).toLocaleString() + " of what you pasted did not fit and were left out.";
  }

  document.addEventListener("paste", sayWhenAPasteIsCut, true);

  // Times are printed in UTC (<time datetime data-local-time>, the `when` filter), which reads right without
  // script and lets a page be kept and served to anyone. Here they are said in the reader's own time zone,
  // naming it, as chat messages are: a check-in's start is planned around, and "19:00 UTC" is nobody's clock.
  // The UTC wording stays as the title; the year is said only when it isn't this one.
  function localTimeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    var options = {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    };
    if (d.getFullYear() !== new Date().getFullYear()) { options.year = "numeric"; }
    return d.toLocaleString([], options);
  }

  function localiseTimes(root) {
    root.querySelectorAll("time[data-local-time]").forEach(function (time) {
      var local = localTimeLabel(time.getAttribute("datetime"));
      if (!local) { return; }
      if (!time.title) { time.title = time.textContent; }
      time.textContent = local;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.compose").forEach(wireSuggestions);
    document.querySelectorAll("form.mood-form").forEach(wireMoodTags);
    localiseTimes(document);
  });

  // For page scripts that load after this one (chat.js): one copy of what they share with it.
  window.Hearth = { requestCheckIn: requestCheckIn, checkInThanks: CHECK_IN_THANKS };
})();
