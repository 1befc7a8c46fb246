"""Repository descriptions as Markdown, as Quay renders them: CommonMark (with tables and
strikethrough), then sanitized by an allow-list, so a description can never run script, load
something from elsewhere or style the page.

Raw HTML in the source is not interpreted (it shows as text); the sanitizer (nh3) is the second
line of defence: only the tags and attributes below, links only to http, https and mailto (with
``rel="nofollow noopener noreferrer"``), no images (the pages' Content-Security-Policy would block
other sites' anyway), no ``style``, ``class`` or event attributes.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def markdown_renderer() -> tuple[Callable[[str | None], Markup], Callable[[str | None], str]]:
    """``(to_html, to_text)``: safe HTML of a Markdown text, and its plain text (for lists)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])

    def render(source: str) -> str:
        """Markdown to HTML, headings two levels down: the page's own h1 and h2 come first."""
        tokens = md.parse(source)
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) + 2)}"
        out: str = md.renderer.render(tokens, md.options, {})
        return out

    def to_html(source: str | None) -> Markup:
        if not source:
            return Markup("")
        html = nh3.clean(
            render(source),
            tags=set(TAGS),
            attributes={k: set(v) for k, v in ATTRIBUTES.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel="nofollow noopener noreferrer",
            strip_comments=True,
        )
        return Markup(html)  # noqa: S704 - sanitized by the allow-list just above

    def to_text(source: str | None) -> str:
        if not source:
            return ""
        # no tags left; the entities go back to characters (the template escapes the result)
        return " ".join(html.unescape(nh3.clean(render(source), tags=set())).split())

    return to_html, to_text
