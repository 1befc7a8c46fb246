"""Jinja2 environment of the UI: templates shipped in the package, autoescaped, with small filters."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from moorage.ui.markdown import markdown_renderer

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def filesize(n: int | None) -> str:
    if n is None:
        return "—"
    size = float(n)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _until(aware: datetime, secs: int) -> Markup:
    if secs < 3600:
        text = f"in {max(1, round(secs / 60))} min"
    elif secs < 86400:
        n = round(secs / 3600)
        text = f"in {n} hour{'s' if n != 1 else ''}"
    elif secs < 86400 * 45:
        n = round(secs / 86400)
        text = f"in {n} day{'s' if n != 1 else ''}"
    else:
        text = "on " + aware.strftime("%Y-%m-%d")
    iso = aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    exact = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup("<time datetime='{}' title='{}'>{}</time>").format(iso, exact, text)


def ago(dt: datetime | None) -> Markup:
    """A <time> element: relative text, the exact UTC time as its title."""
    if dt is None:
        return Markup("<span class='muted'>never</span>")
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    secs = int((datetime.now(UTC) - aware).total_seconds())
    if secs <= -45:  # in the future (a tag's expiration)
        return _until(aware, -secs)
    if secs < 45:
        text = "just now"
    elif secs < 3600:
        text = f"{max(1, round(secs / 60))} min ago"
    elif secs < 86400:
        n = round(secs / 3600)
        text = f"{n} hour{'s' if n != 1 else ''} ago"
    elif secs < 86400 * 45:
        n = round(secs / 86400)
        text = f"{n} day{'s' if n != 1 else ''} ago"
    else:
        text = aware.strftime("%Y-%m-%d")
    iso = aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    exact = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup("<time datetime='{}' title='{}'>{}</time>").format(iso, exact, text)


def shortdigest(digest: str | None, length: int = 12) -> str:
    if not digest:
        return ""
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:length]}" if hexpart else digest[:length]


def build_environment(static_versions: dict[str, str] | None = None) -> Environment:
    env = Environment(
        loader=PackageLoader("moorage.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["filesize"] = filesize
    env.filters["ago"] = ago
    env.filters["shortdigest"] = shortdigest
    env.filters["markdown"], env.filters["markdown_text"] = markdown_renderer()
    versions = static_versions or {}

    def static(name: str) -> str:
        """The address of a shipped static file, versioned by its content (cached as immutable)."""
        version = versions.get(name)
        return f"/static/{name}?v={version}" if version else f"/static/{name}"

    env.globals["static"] = static
    return env
