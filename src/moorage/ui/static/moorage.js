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
      // without script the opener is a link to a page with the same form
      if (dlg && dlg.showModal) {
        ev.preventDefault();
        // a dialog with data-body loads the opener's own page into it (rows of long lists carry
        // just the link: no per-row htmx attributes)
        var into = dlg.getAttribute("data-body");
        if (into && window.htmx && !opener.hasAttribute("hx-get") && opener.getAttribute("href")) {
          window.htmx.ajax("GET", opener.getAttribute("href"), { target: "#" + into });
        }
        openDialog(dlg, opener);
      }
      return;
    }
    var closer = ev.target.closest("[data-close]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) { ev.preventDefault(); d.close(); }
    }
  });

  // Dialogs are modal (the page behind is inert), labelled by their heading, closed by Escape
  // (the browser's cancel) or Cancel; Tab cycles inside; focus returns to what opened them.
  function focusables(root) {
    return Array.prototype.filter.call(
      root.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"),
      function (el) { return el.offsetParent !== null || el === document.activeElement; });
  }
  function openDialog(dlg, opener) {
    dlg._opener = opener || document.activeElement;
    if (!dlg._wired) {
      dlg._wired = true;
      dlg.addEventListener("close", function () {
        var back = dlg._opener;
        dlg._opener = null;
        if (back && document.contains(back) && back.focus) back.focus();
      });
    }
    dlg.showModal();
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Tab") return;
    var dlg = document.querySelector("dialog[open]");
    if (!dlg) return;
    var items = focusables(dlg);
    if (!items.length) { ev.preventDefault(); return; }
    var first = items[0], last = items[items.length - 1];
    if (ev.shiftKey && (document.activeElement === first || !dlg.contains(document.activeElement))) {
      ev.preventDefault(); last.focus();
    } else if (!ev.shiftKey && (document.activeElement === last || !dlg.contains(document.activeElement))) {
      ev.preventDefault(); first.focus();
    }
  });
  // content loaded into an open dialog (htmx): focus its first control
  document.addEventListener("htmx:afterSwap", function (ev) {
    var dlg = ev.target.closest && ev.target.closest("dialog[open]");
    if (!dlg) return;
    var items = focusables(ev.target);
    var pick = ev.target.querySelector("[autofocus]") || items[0];
    if (pick) pick.focus();
  });

  // The app's own confirmation dialog (instead of the browser's window.confirm).
  var confirmDialog = null;
  function confirmBox() {
    if (confirmDialog) return confirmDialog;
    var d = document.createElement("dialog");
    d.id = "confirm-dialog";
    d.className = "confirm-dialog";
    d.setAttribute("aria-labelledby", "confirm-dialog-title");
    d.setAttribute("aria-describedby", "confirm-dialog-text");
    d.innerHTML = '<h2 id="confirm-dialog-title">Are you sure?</h2><p id="confirm-dialog-text"></p>' +
      '<div class="dialog-actions"><button type="button" data-close>Cancel</button>' +
      '<button type="button" class="danger" data-confirm-ok>Confirm</button></div>';
    document.body.appendChild(d);
    confirmDialog = d;
    return d;
  }
  function askConfirm(message, label, opener, onYes) {
    var d = confirmBox();
    d.querySelector("#confirm-dialog-text").textContent = message;
    var ok = d.querySelector("[data-confirm-ok]");
    ok.textContent = label || "Confirm";
    ok.onclick = function () { d.close(); onYes(); };
    openDialog(d, opener);
    d.querySelector("[data-close]").focus();  // the safe choice first
  }

  // Forms with data-confirm ask first, in the app's dialog; data-confirm-name makes the user type a name.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    // one form may serve every row of a table: {value} is the value of the button that submitted
    var msg = f.getAttribute("data-confirm");
    if (!msg) return;
    if (f._confirmed) { f._confirmed = false; return; }
    ev.preventDefault();
    var submitter = ev.submitter || f.querySelector("[type=submit]");
    askConfirm(msg, submitter ? submitter.textContent.trim() : "", submitter, function () {
      f._confirmed = true;
      if (f.requestSubmit) { f.requestSubmit(submitter && submitter.form === f ? submitter : undefined); }
      else { f.submit(); }
    });
  }, true);

  // a table wider than a phone scrolls on its own: keyboard users reach it with Tab when it holds
  // nothing focusable of its own
  function markScrollables() {
    document.querySelectorAll("table.list").forEach(function (t) {
      var scrolls = t.scrollWidth > t.clientWidth + 1;
      if (t.hasAttribute("data-scroll-focus")) {
        if (!scrolls) { t.removeAttribute("tabindex"); t.removeAttribute("data-scroll-focus"); }
      } else if (scrolls && !t.hasAttribute("tabindex") && !focusables(t).length) {
        t.setAttribute("tabindex", "0");
        t.setAttribute("data-scroll-focus", "");
      }
    });
  }
  window.addEventListener("load", markScrollables);
  window.addEventListener("resize", markScrollables);

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
