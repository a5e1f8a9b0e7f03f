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

  function renderSuggestions(box, result) {
    box.textContent = "";
    if (!result || !result.guides || !result.guides.length) { return; }
    var label = document.createElement("p");
    label.textContent = result.level === "crisis"
      ? "If you are thinking about ending your life, please reach out now: the support panel lists people you can call or text any time."
      : "Guides that may fit what you are writing:";
    box.appendChild(label);
    var list = document.createElement("ul");
    result.guides.forEach(function (slug) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "/guides/" + encodeURIComponent(slug);
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = slug.replace(/-/g, " ");
      item.appendChild(link);
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function wireSuggestions(form) {
    var field = form.querySelector("[data-screen]");
    var box = form.querySelector("[data-suggestions]");
    if (!field || !box) { return; }
    var check = debounce(function () {
      var text = field.value;
      if (text.trim().length < 20) { box.textContent = ""; return; }
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

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.compose").forEach(wireSuggestions);
  });
})();
