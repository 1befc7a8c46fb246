"""Visit every page of the web UI a person can reach, in a real Chromium, and check each one.

The page set is discovered, never listed: starting at ``/``, every local link of every page is
followed (as ``test_ui_links.py`` does over HTTP), so a page another change adds is checked as soon
as something links to it. To keep the crawl finite on large data (60 tags, their manifests, pages
of logs) at most ``PER_ROUTE`` addresses are visited per UI route and set of query parameters; the
route is the one the live application's router would pick (``moorage.ui.pages``).

On each page, at a phone's width (390 px):

- the document must not scroll sideways (``scrollWidth`` of the scrolling element <= its
  ``clientWidth``); the failure names the page and its widest elements;
- the top bar must stay one row, and every top-bar menu, opened, and every dialog, shown, must
  fit the screen;

and at a laptop's width, axe-core (vendored, see ``tests/support/vendor/axe-core/README.md``) must
find no violation of impact *serious* or *critical*, nor any of the heading-order and landmark rules
(one ``<main>``, distinctly labelled ``<nav>``s), whatever their impact.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

from playwright.sync_api import Page
from starlette.routing import Route

from moorage.ui import pages

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 800}
PER_ROUTE = 6
MAX_PAGES = 400
SKIP_PREFIXES = ("/api/", "/static/", "/v2/", "/signout", "/health/", "/metrics")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")

# The widest elements that stick out of the screen without a scroll container clipping them.
_OVERFLOW_JS = """
() => {
  const root = document.scrollingElement;
  const width = root.clientWidth;
  if (root.scrollWidth <= width) return null;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.overflowX !== "visible" || s.position === "fixed") return true;
    }
    return false;
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    if (el.classList.length) d += "." + [...el.classList].join(".");
    const text = (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    return d + (text ? ' "' + text + '"' : "");
  };
  const all = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) continue;
    all.push({right: r.right, width: r.width, what: describe(el), clipped: clipped(el)});
  }
  let out = all.filter(o => !o.clipped);
  if (!out.length) {
    // text sticking out of its box, or a positioned element escaping a scroll box: find the
    // deepest elements without which the page would fit
    for (const el of document.body.querySelectorAll("*")) {
      const display = el.style.display;
      el.style.display = "none";
      const fits = root.scrollWidth <= width;
      el.style.display = display;
      if (fits) out.push(describe(el) + " (its text sticks out, or a positioned part)");
    }
    return {scrollWidth: root.scrollWidth, clientWidth: width, widest: out.slice(-3).reverse()};
  }
  out.sort((a, b) => b.right - a.right || a.width - b.width);
  return {scrollWidth: root.scrollWidth, clientWidth: width,
          widest: out.slice(0, 3).map(o => o.what + " (" + Math.round(o.width) + " px wide, right edge at "
                                            + Math.round(o.right) + " px)")};
}
"""

# Open each top-bar menu and show each dialog a button opens; report those that leave the screen.
_POPUPS_JS = """
() => {
  const width = document.scrollingElement.clientWidth;
  const bad = [];
  const check = (what, el) => {
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1 || el.scrollWidth > el.clientWidth + 1)
      bad.push(what + " spans " + Math.round(r.left) + ".." + Math.round(r.right) + " px (scrollWidth "
               + el.scrollWidth + ") on a " + width + " px screen");
  };
  const nav = document.querySelector(".topnav");
  if (nav) {  // one row: the middles of the bar's items line up
    const mids = [...nav.children].map(c => c.getBoundingClientRect()).filter(r => r.width > 1)
      .map(r => r.top + r.height / 2);
    if (Math.max(...mids) - Math.min(...mids) > 8) bad.push("the top bar takes more than one row");
  }
  for (const d of document.querySelectorAll("details.menu")) {
    d.open = true;
    const items = d.querySelector(".menu-items");
    if (items) check("menu '" + d.querySelector("summary").textContent.trim() + "'", items);
    d.open = false;
  }
  const ids = new Set([...document.querySelectorAll("[data-open]")].map(e => e.getAttribute("data-open")));
  for (const id of ids) {
    const dlg = document.getElementById(id);
    if (!dlg || !dlg.showModal || dlg.open) continue;
    dlg.showModal();
    check("dialog #" + id, dlg);
    dlg.close();
  }
  return bad;
}
"""

_AXE_RUN_JS = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  const always = ["heading-order", "landmark-unique", "landmark-one-main", "landmark-no-duplicate-main",
                  "landmark-no-duplicate-banner", "landmark-no-duplicate-contentinfo",
                  "landmark-main-is-top-level"];
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical" || always.includes(v.id))
    .map(v => v.id + " (" + v.impact + "): " + v.help + " — " + v.nodes.length + " element(s), e.g. "
              + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
}
"""


@dataclass
class PageReport:
    url: str
    status: int
    overflow: str | None = None
    popups: list[str] = field(default_factory=list)
    axe: list[str] = field(default_factory=list)


def ui_routes() -> list[Route]:
    """The GET routes of the web UI, in the order the router tries them."""
    return [r for m in pages.MODULES for r in m.routes if isinstance(r, Route) and "GET" in (r.methods or ())]


def route_key(url: str, routes: list[Route]) -> str:
    """The UI route a GET of ``url`` lands on, with the names of its query parameters."""
    parts = urlsplit(url)
    keys = ",".join(sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}))
    for route in routes:
        if route.path_regex.match(parts.path):
            return f"{route.path}?{keys}"
    return f"{parts.path}?{keys}"


def _local(base: str, current: str, href: str) -> str | None:
    target, _ = urldefrag(urljoin(current, href))
    parts, origin = urlsplit(target), urlsplit(base)
    if parts.scheme not in ("http", "https") or parts.netloc != origin.netloc:
        return None
    if parts.path.startswith(SKIP_PREFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(page: Page, base: str, *, axe: bool = True, start: str = "/") -> list[PageReport]:
    """Visit every reachable page from ``start`` and check it (see the module's docstring)."""
    axe_source = AXE.read_text(encoding="utf-8") if axe else ""
    routes = ui_routes()
    per_key: dict[str, int] = {}
    seen: set[str] = set()
    queue = deque([start])
    reports: list[PageReport] = []
    while queue and len(reports) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        key = route_key(url, routes)
        if per_key.get(key, 0) >= PER_ROUTE:
            continue
        per_key[key] = per_key.get(key, 0) + 1
        page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        response = page.goto(url, wait_until="load")
        if response is None or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        report = PageReport(url, response.status)
        reports.append(report)
        overflow = page.evaluate(_OVERFLOW_JS)
        if overflow:
            report.overflow = (
                f"{overflow['scrollWidth']} px wide on a {overflow['clientWidth']} px screen; widest: "
                + "; ".join(overflow["widest"])
            )
        report.popups = page.evaluate(_POPUPS_JS)
        if axe:
            page.set_viewport_size(LAPTOP)  # type: ignore[arg-type]
            page.evaluate(axe_source)
            report.axe = page.evaluate(_AXE_RUN_JS)
        hrefs: list[str] = page.eval_on_selector_all(
            "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            local = _local(base, page.url, href)
            if local is not None and local not in seen:
                queue.append(local)
    return reports
