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

  // Name fields of permission, team-member and default-permission forms (data-entities="NAMESPACE"):
  // suggest users, teams and robots from /api/v1/entities as one types (Quay's entity lookup), and
  // set the form's kind selector (data-entity-kind="ID") to the kind of the name picked.
  var entityTimer = null;
  function kindOf(entity) {
    if (entity.kind === "team") return "team";
    if (entity.kind === "org") return "org";
    return entity.is_robot ? "robot" : "user";
  }
  function labelOf(kind) { return kind === "robot" ? "robot account" : kind; }
  function pickKind(input) {
    var selectId = input.getAttribute("data-entity-kind");
    var found = input._entities && input._entities[input.value];
    if (!selectId || !found) return;
    var select = document.getElementById(selectId);
    if (select && select.querySelector("option[value='" + found + "']")) { select.value = found; }
  }
  function lookUp(input) {
    var prefix = input.value.trim();
    var list = input.list;
    if (!prefix || !list) return;
    var query = "?namespace=" + encodeURIComponent(input.getAttribute("data-entities") || "") +
      "&includeTeams=" + (input.getAttribute("data-entity-teams") === "false" ? "false" : "true");
    fetch("/api/v1/entities/" + encodeURIComponent(prefix) + query, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {results: []}; })
      .then(function (body) {
        if (input.value.trim() !== prefix) return;  // the user typed on meanwhile
        var robots = input.getAttribute("data-entity-robots") !== "false";
        var kinds = {};
        list.textContent = "";
        (body.results || []).forEach(function (e) {
          var kind = kindOf(e);
          if (kind === "org" || (kind === "robot" && !robots)) return;
          kinds[e.name] = kind;
          var option = document.createElement("option");
          option.value = e.name;
          option.textContent = labelOf(kind);
          list.appendChild(option);
        });
        input._entities = kinds;
        pickKind(input);
      })
      .catch(function () { /* the server still resolves what was typed */ });
  }
  document.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!input.hasAttribute || !input.hasAttribute("data-entities")) return;
    pickKind(input);
    clearTimeout(entityTimer);
    entityTimer = setTimeout(function () { lookUp(input); }, 150);
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
