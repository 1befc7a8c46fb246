"""Sign in, sign out and create an account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moorage.domain.actor import Actor
from moorage.domain.errors import RegistryError, ServiceError, Throttled, as_service_error
from moorage.ui.session import SESSION_COOKIE
from moorage.ui.web import (
    csrf_token,
    ctx,
    field,
    form,
    me,
    page,
    redirect,
    render,
    safe_next,
    with_csrf_cookie,
)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _start_session(request: Request, user_id: int, target: str, flash: str | None = None) -> Response:
    c = ctx(request)
    new = await c.sessions.create(user_id, _ip(request), request.headers.get("user-agent"))
    response = redirect(request, target, flash)
    response.set_cookie(**c.sessions.cookie(new, secure=c.settings.secure_cookies))
    return response


async def signin_page(request: Request) -> Response:
    if not me(request).is_anonymous:
        return redirect(request, safe_next(request.query_params.get("next")))
    return render(request, "signin.html", next=safe_next(request.query_params.get("next")), username="")


async def signin(request: Request) -> Response:
    data = await form(request)
    username = field(data, "username", max_length=255)
    password = data.get("password")
    password = password if isinstance(password, str) else ""
    target = safe_next(field(data, "next"))

    def again(error: str, status: int) -> Response:
        return render(request, "signin.html", status=status, error=error, username=username, next=target)

    if not username or not password:
        return again("Enter your username and password.", 400)
    c = ctx(request)
    try:
        principal = await c.credentials.verify(username, password, _ip(request), where="ui")
    except Throttled as exc:
        return again(f"Too many failed sign-ins. {exc.detail.split('; ', 1)[-1].capitalize()}.", 429)
    if principal is None or principal.is_robot or principal.via != "password" or principal.id is None:
        # robots and tokens are for programs; a person signs in with their password
        return again("Wrong username or password.", 401)
    return await _start_session(request, principal.id, target)


async def csrf_token_json(request: Request) -> Response:
    """Quay's ``GET /csrf_token``: the token an API client sends as ``X-CSRF-Token`` with
    ``POST /api/v1/signin`` (signed out: the double-submit cookie's, set here when missing) and,
    once signed in, with every unsafe API request its session cookie authenticates."""
    response = JSONResponse({"csrf_token": csrf_token(request)}, headers={"Cache-Control": "no-store"})
    return with_csrf_cookie(request, response)


async def signout(request: Request) -> Response:
    token = getattr(request.state, "session_token", None)
    if token:
        await ctx(request).sessions.end(token)
    response = redirect(request, "/", "You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _signup_mode(request: Request) -> tuple[str, str]:
    mode = ctx(request).settings.user_creation
    return mode, request.query_params.get("invite", "")


async def signup_page(request: Request) -> Response:
    mode, invite = _signup_mode(request)
    valid_invite = bool(invite) and await ctx(request).sessions.invitation_valid(invite)
    return render(
        request,
        "signup.html",
        mode=mode,
        invite=invite,
        allowed=mode == "open" or (mode == "invite" and valid_invite),
        values={},
    )


async def signup(request: Request) -> Response:
    c = ctx(request)
    data = await form(request)
    mode = c.settings.user_creation
    invite = field(data, "invite", max_length=128)
    values = {
        "username": field(data, "username", max_length=255),
        "email": field(data, "email", max_length=320),
    }

    def again(error: str, status: int = 400) -> Response:
        return render(
            request,
            "signup.html",
            status=status,
            error=error,
            mode=mode,
            invite=invite,
            allowed=True,
            values=values,
        )

    if mode == "disabled" or (mode == "invite" and not await c.sessions.invitation_valid(invite)):
        return render(
            request,
            "signup.html",
            status=403,
            mode=mode,
            invite=invite,
            allowed=False,
            values={},
            error="Account creation needs a valid invitation." if mode == "invite" else None,
        )
    password = data.get("password")
    confirm = data.get("confirm")
    if not isinstance(password, str) or not isinstance(confirm, str) or not values["username"]:
        return again("Choose a username and a password.")
    if password != confirm:
        return again("The two passwords differ.")
    ip = request.client.host if request.client else None
    try:
        user = await c.users.create(
            values["username"],
            password,
            email=values["email"] or None,
            actor=Actor(values["username"], "user", ip),
        )
    except (ServiceError, RegistryError) as exc:
        exc = as_service_error(exc)
        return again(exc.detail[:1].upper() + exc.detail[1:] + ".", exc.status)
    if mode == "invite":
        await c.sessions.use_invitation(invite, user.username)
    return await _start_session(request, user.id, "/", f"Welcome, {user.username}! Your account is ready.")


routes = [
    page("/csrf_token", csrf_token_json),
    page("/signin", signin_page, name="signin"),
    page("/signin", signin, methods=("POST",)),
    page("/signout", signout, methods=("POST",), name="signout"),
    page("/signup", signup_page, name="signup"),
    page("/signup", signup, methods=("POST",)),
]
