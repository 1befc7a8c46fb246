"""The superuser panel, accounts part: /superuser/users (list, search, create, per-user actions).

Mirrors ``api/routes/superuser.py`` and ``identity/users.py`` (which refuses to remove the last
enabled superuser). Everybody but a superuser gets 404 on every page and every form: the panel's
existence is nobody else's business. Organizations, invitations, storage and locks are in
``admin_registry.py``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from moorage.domain.errors import InvalidInput, NotFound, RegistryError, ServiceError, as_service_error
from moorage.domain.principal import Principal
from moorage.identity.users import UserInfo
from moorage.ui.web import actor, ctx, field, form, me, page, page_cursor, redirect, render

_PASSWORD_MAX = 1024


def require_superuser(request: Request) -> Principal:
    """The signed-in superuser; 404 for everybody else, signed in or not (as the REST API's
    ``superuser`` dependency, an OAuth-limited principal would also need the super:user scope)."""
    p = me(request)
    if p.is_anonymous or p.is_robot or not (p.superuser and p.has_scope("super:user")):
        raise NotFound("There is no page at this address.")
    return p


def capitalized(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _secret(data: Any, name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) and len(value) <= _PASSWORD_MAX else ""


# -- the list and the create form
async def _users_page(request: Request, status: int = 200, **variables: Any) -> Response:
    require_superuser(request)
    c = ctx(request)
    q = request.query_params.get("q", "").strip()[:255]
    after = request.query_params.get("after") or None
    limit = c.settings.page_size
    users = await c.users.find(search=q or None, limit=limit, after=after)
    locked = {
        lock.key.removeprefix("user:") for lock in await c.throttle.locked() if lock.key.startswith("user:")
    }
    variables.setdefault("values", {})
    return render(
        request,
        "admin_users.html",
        status=status,
        users=users,
        locked=locked,
        q=q,
        after=after,
        next_after=page_cursor(users, limit, lambda u: u.username),
        **variables,
    )


async def users_page(request: Request) -> Response:
    return await _users_page(request)


async def superuser_home(request: Request) -> Response:
    require_superuser(request)
    return redirect(request, "/superuser/users")


async def create_user(request: Request) -> Response:
    require_superuser(request)
    data = await form(request)
    values = {
        "username": field(data, "username", max_length=255),
        "email": field(data, "email", max_length=320),
        "superuser": "1" if data.get("superuser") else "",
    }
    password, repeat = _secret(data, "password"), _secret(data, "repeat")
    try:
        if not values["username"]:
            raise InvalidInput("Give the new account a username")
        if password != repeat:
            raise InvalidInput("The two passwords differ")
        if values["email"] and "@" not in values["email"]:
            raise InvalidInput("That does not look like an e-mail address")
        user = await ctx(request).users.create(
            values["username"],
            password,
            superuser=bool(values["superuser"]),
            email=values["email"] or None,
            actor=actor(request),
        )
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _users_page(request, exc.status, error=capitalized(exc.detail), values=values)
    kind = "Superuser" if user.superuser else "User"
    return redirect(request, f"/superuser/users/{user.username}", f"{kind} {user.username} created.")


# -- one account
async def _user(request: Request) -> UserInfo:
    user = await ctx(request).users.get(request.path_params["username"])
    if user is None:
        raise NotFound(f"There is no user named {request.path_params['username']!r}.")
    return user


async def _user_page(request: Request, status: int = 200, **variables: Any) -> Response:
    p = require_superuser(request)
    c = ctx(request)
    user = await _user(request)
    lock = next((lk for lk in await c.throttle.locked() if lk.key == f"user:{user.username}"), None)
    return render(
        request,
        "admin_user.html",
        status=status,
        user=user,
        lock=lock,
        is_me=user.id == p.id,
        **variables,
    )


async def user_page(request: Request) -> Response:
    return await _user_page(request)


async def _change(
    request: Request, *, enabled: bool | None = None, superuser: bool | None = None
) -> Response:
    """Enable/disable or promote/demote: the service refuses to leave no enabled superuser."""
    require_superuser(request)
    c = ctx(request)
    user = await _user(request)
    try:
        updated = await c.users.update(
            user.username, enabled=enabled, superuser=superuser, actor=actor(request)
        )
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _user_page(request, exc.status, error=capitalized(exc.detail))
    if enabled is False:
        # the session check refuses disabled users already; ending the rows makes it final
        await c.sessions.end_all(updated.id)
    if enabled is not None:
        message = (
            f"{updated.username} is enabled again and may sign in."
            if updated.enabled
            else f"{updated.username} is disabled: signed out everywhere, tokens and logins refused."
        )
    else:
        message = (
            f"{updated.username} is now a superuser."
            if updated.superuser
            else f"{updated.username} is no longer a superuser."
        )
    return redirect(request, f"/superuser/users/{updated.username}", message)


def _flag(data: Any, name: str) -> bool:
    value: object = data.get(name)
    if value not in ("0", "1"):
        raise InvalidInput(f"{name} must be 0 or 1")
    return value == "1"


async def set_enabled(request: Request) -> Response:
    require_superuser(request)
    return await _change(request, enabled=_flag(await form(request), "enabled"))


async def set_superuser(request: Request) -> Response:
    require_superuser(request)
    return await _change(request, superuser=_flag(await form(request), "superuser"))


async def set_password(request: Request) -> Response:
    """A new password chosen by the superuser: the account's sessions end (it may be a takeover)."""
    require_superuser(request)
    c = ctx(request)
    user = await _user(request)
    data = await form(request)
    password, repeat = _secret(data, "password"), _secret(data, "repeat")
    try:
        if not password:
            raise InvalidInput("Type the new password twice")
        if password != repeat:
            raise InvalidInput("The two passwords differ")
        await c.users.set_password(user.username, password, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _user_page(request, exc.status, password_error=capitalized(exc.detail))
    own = getattr(request.state, "session_token", None) if user.id == me(request).id else None
    await c.sessions.end_all(user.id, except_token=own)
    return redirect(
        request,
        f"/superuser/users/{user.username}",
        f"New password set for {user.username}; their sessions and tokens were ended.",
    )


async def delete_user(request: Request) -> Response:
    require_superuser(request)
    c = ctx(request)
    user = await _user(request)
    data = await form(request)
    if field(data, "confirm", max_length=255) != user.username:
        return await _user_page(
            request, 400, delete_error=f"Type {user.username} to confirm that the account should go."
        )
    try:
        await c.users.delete(user.username, actor(request))
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return await _user_page(request, exc.status, delete_error=capitalized(exc.detail))
    return redirect(
        request, "/superuser/users", f"User {user.username} deleted with their namespace and repositories."
    )


routes = [
    page("/superuser", superuser_home, name="superuser"),
    page("/superuser/users", users_page),
    page("/superuser/users", create_user, methods=("POST",)),
    page("/superuser/users/{username}", user_page),
    page("/superuser/users/{username}/enabled", set_enabled, methods=("POST",)),
    page("/superuser/users/{username}/superuser", set_superuser, methods=("POST",)),
    page("/superuser/users/{username}/password", set_password, methods=("POST",)),
    page("/superuser/users/{username}/delete", delete_user, methods=("POST",)),
]
