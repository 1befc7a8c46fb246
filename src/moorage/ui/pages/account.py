"""The signed-in user's own settings: account facts, e-mail, password, application tokens, CLI login.

Mirrors ``api/routes/tokens.py`` (application tokens) and the account parts of ``identity/users.py``.
Only people reach these pages: a UI session always belongs to a user (robots cannot sign in here).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import (
    InvalidInput,
    NotFound,
    RegistryError,
    ServiceError,
    Throttled,
    as_service_error,
)
from moorage.domain.principal import Principal
from moorage.registry.lifecycle import human_duration, window_choices
from moorage.ui.web import actor, ctx, field, form, page, redirect, render, require_user

_PASSWORD_MAX = 1024


def _person(request: Request) -> tuple[Principal, int]:
    """The signed-in user and their id (robots and tokens never hold a UI session)."""
    p = require_user(request)
    if p.is_robot or p.id is None:
        raise NotFound("There is no page at this address.")
    return p, p.id


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _login_lines(request: Request, username: str) -> list[tuple[str, str]]:
    """What to type to log in from each client; podman and skopeo need --tls-verify=false over http."""
    commands = ctx(request).settings.commands
    return [
        ("Docker", commands.login("docker", username)),
        ("Podman", commands.login("podman", username)),
        ("Skopeo", commands.login("skopeo", username)),
    ]


async def _settings_page(request: Request, status: int = 200, **variables: Any) -> Response:
    p, _ = _person(request)
    info = await ctx(request).users.get(p.name)
    if info is None:
        raise NotFound("There is no page at this address.")
    variables.setdefault("email_value", info.email or "")
    lifecycle = ctx(request).lifecycle
    variables.setdefault("window", await lifecycle.namespace_window(p.name))
    return render(
        request,
        "account_settings.html",
        status=status,
        account=info,
        login_lines=_login_lines(request, p.name),
        window_choices=window_choices(lifecycle.window_options),
        **variables,
    )


async def settings_page(request: Request) -> Response:
    return await _settings_page(request)


async def change_email(request: Request) -> Response:
    p, _ = _person(request)
    data = await form(request)
    email = field(data, "email", max_length=320)
    try:
        if email and ("@" not in email or any(ch.isspace() for ch in email)):
            raise InvalidInput("That does not look like an e-mail address")
        await ctx(request).users.update(p.name, email=email, actor=actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _settings_page(request, exc.status, email_error=exc.detail, email_value=email)
    return redirect(request, "/settings", "E-mail address saved." if email else "E-mail address removed.")


async def change_window(request: Request) -> Response:
    """The user's time machine window, as PUT /api/v1/user/ {"tag_expiration_s"}."""
    p, _ = _person(request)
    data = await form(request)
    raw = field(data, "tag_expiration_s", max_length=20)
    try:
        if not raw.isdigit():
            raise InvalidInput("Choose how long ended tags stay restorable")
        seconds = await ctx(request).lifecycle.set_namespace_window(p.name, int(raw), actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _settings_page(request, exc.status, window_error=exc.detail)
    return redirect(request, "/settings", f"Ended tags now stay restorable for {human_duration(seconds)}.")


def _secret(data: Any, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) and len(value) <= _PASSWORD_MAX else ""


async def change_password(request: Request) -> Response:
    """Check the current password (throttled like a sign-in: a stolen session must not become a
    password oracle), set the new one and sign the user out of every other browser."""
    p, user_id = _person(request)
    c = ctx(request)
    data = await form(request)
    current, new, repeat = _secret(data, "current"), _secret(data, "new"), _secret(data, "repeat")

    async def again(error: str, status: int = 400) -> Response:
        return await _settings_page(request, status, password_error=error)

    if not current or not new or not repeat:
        return await again("Fill in your current password and the new one twice.")
    if new != repeat:
        return await again("The two new passwords differ.")
    if new == current:
        return await again("The new password is the same as the current one.")
    try:
        await c.throttle.before_attempt(p.name, _ip(request))
    except Throttled as exc:
        return await again(f"Too many wrong passwords. {exc.detail.split('; ', 1)[-1].capitalize()}.", 429)
    if await c.users.authenticate(p.name, current) is None:
        await c.throttle.failed(p.name, _ip(request))
        await c.audit.record("login_failure", actor(request), where="ui_password_change")
        return await again("Your current password is wrong.", 403)
    try:
        await c.users.set_password(p.name, new, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await again(exc.detail[:1].upper() + exc.detail[1:] + ".", exc.status)
    await c.throttle.succeeded(p.name)
    await c.sessions.end_all(user_id, except_token=getattr(request.state, "session_token", None))
    await c.audit.record("sessions_ended", actor(request), namespace=p.name, reason="password_change")
    return redirect(
        request,
        "/settings",
        "Password changed. Your other sessions, application tokens, OAuth authorizations and "
        "registry logins were ended.",
    )


# -- application tokens
async def _tokens_page(request: Request, status: int = 200, **variables: Any) -> Response:
    """The token list, paginated in memory: a user holds few tokens, the service returns them all."""
    _, user_id = _person(request)
    c = ctx(request)
    tokens = await c.app_tokens.list(user_id)
    after = request.query_params.get("after") or None
    start = next((i + 1 for i, t in enumerate(tokens) if t.uuid == after), 0) if after else 0
    limit = c.settings.page_size
    chunk = tokens[start : start + limit]
    next_after = chunk[-1].uuid if chunk and start + limit < len(tokens) else None
    variables.setdefault("values", {})
    return render(
        request,
        "account_tokens.html",
        status=status,
        tokens=chunk,
        after=after,
        next_after=next_after,
        min_expiry=datetime.now(UTC).date().isoformat(),
        **variables,
    )


async def tokens_page(request: Request) -> Response:
    return await _tokens_page(request)


def _expiry(value: str) -> datetime | None:
    """An expiry date typed as YYYY-MM-DD: the token works through that whole day (UTC)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Give the expiry date as YYYY-MM-DD") from None
    end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    if end <= datetime.now(UTC):
        raise InvalidInput("The expiry date must be today or later")
    return end


async def create_token(request: Request) -> Response:
    _, user_id = _person(request)
    data = await form(request)
    values = {"title": field(data, "title", max_length=255), "expires": field(data, "expires", max_length=32)}
    try:
        if not values["title"]:
            raise InvalidInput("Give the token a title, so you can tell it apart later")
        created = await ctx(request).app_tokens.create(
            user_id, values["title"], expires_at=_expiry(values["expires"]), actor=actor(request)
        )
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _tokens_page(request, exc.status, error=exc.detail, values=values)
    # the secret is in this answer only: rendered, never redirected through a cookie or the URL
    return await _tokens_page(request, created=created)


async def revoke_token(request: Request) -> Response:
    _, user_id = _person(request)
    token_uuid = request.path_params["token_uuid"]
    c = ctx(request)
    info = await c.app_tokens.get(user_id, token_uuid)  # NotFound for another user's token
    await c.app_tokens.revoke(user_id, token_uuid, actor(request))
    return redirect(
        request, "/settings/tokens", f"Token {info.title!r} revoked; programs using it are locked out."
    )


routes = [
    page("/settings", settings_page, name="settings"),
    page("/settings/email", change_email, methods=("POST",)),
    page("/settings/password", change_password, methods=("POST",)),
    page("/settings/time-machine", change_window, methods=("POST",)),
    page("/settings/tokens", tokens_page, name="settings_tokens"),
    page("/settings/tokens", create_token, methods=("POST",)),
    page("/settings/tokens/{token_uuid}/revoke", revoke_token, methods=("POST",)),
]
