// Moorage web UI: small progressive enhancements (pages work without them).
(function () {
  "use strict";

  function toast(text) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.add("show");
    clearTimeout(t._timer);
    t._timer = setTimeout(function () { t.classList.remove("show"); }, 1600);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-copy]");
    if (el) {
      ev.preventDefault();
      copyText(el.getAttribute("data-copy")).then(function () { toast("Copied"); });
      return;
    }
    var opener = ev.target.closest("[data-open]");
    if (opener) {
      var dlg = document.getElementById(opener.getAttribute("data-open"));
      if (dlg && dlg.showModal) { ev.preventDefault(); dlg.showModal(); }
      return;
    }
    var closer = ev.target.closest("[data-close]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) { ev.preventDefault(); d.close(); }
    }
  });

  // Forms with data-confirm ask first; data-confirm-name makes the user type a name.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    // one form may serve every row of a table: {value} is the value of the button that submitted
    var msg = f.getAttribute("data-confirm");
    if (msg && ev.submitter) { msg = msg.replace("{value}", ev.submitter.value); }
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  }, true);

  document.addEventListener("input", function (ev) {
    var input = ev.target;
    var expected = input.getAttribute("data-confirm-name");
    if (expected === null) return;
    var button = input.form && input.form.querySelector("button[type=submit]");
    if (button) button.disabled = input.value !== expected;
  });

  // keep the menus tidy: close an open <details class=menu> when clicking elsewhere or pressing Escape
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (d) { d.removeAttribute("open"); });
    }
  });
})();
