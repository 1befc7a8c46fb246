"""OAuth 2 for applications (RFC 6749): the consent page and the token endpoint.

``GET /oauth/authorize`` shows a signed-in user which application asks for which scopes;
``POST /oauth/authorize`` (the Authorize / Deny form, CSRF-checked) sends the browser back to the
application with a code (``response_type=code``) or a token in the fragment (``response_type=token``);
``POST /oauth/access_token`` exchanges a code for a token.

Redirect URIs: the ``redirect_uri`` of a request must **equal** the one registered for the
application (or be omitted, meaning the registered one). Quay accepts any URI that starts with the
registered one; a prefix rule lets ``https://app.example/cb`` also match ``https://app.example/cb/../evil``
or ``https://app.example/cb.evil.example``, the classic way an authorization code leaks, so
Moorage uses exact matching as the OAuth 2.0 Security Best Current Practice (RFC 9700) asks. An
unknown client or a mismatched URI shows an error page and never redirects (no open redirect).

Tokens never exceed their user: the permission evaluator intersects the scopes with what the user
may do on every request.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, Throttled
from moorage.domain.principal import Principal
from moorage.identity.oauth import ApplicationInfo, parse_scopes
from moorage.ui.web import actor, content_security_policy, ctx, form, page, redirect, render, require_user

CODE_FLOW_TOKEN_LIFETIME = timedelta(days=30)
# tokens of the implicit flow travel in the browser's address bar: they live shorter
IMPLICIT_TOKEN_LIFETIME = timedelta(hours=8)

SCOPE_TEXT = {
    "repo:read": "See and pull the repositories you can read.",
    "repo:write": "Push images to, and delete tags in, the repositories you can write to.",
    "repo:admin": "Administer the repositories you administer: permissions, visibility, deletion.",
    "repo:create": "Create repositories where you may create them.",
    "org:admin": "Administer the organizations you administer: teams, members, robot accounts, applications.",
    "user:read": "Read your user name, e-mail address and organization memberships.",
    "user:admin": "Manage your account: your robot accounts, audit logs and settings.",
    "super:user": "Act as a superuser of this registry: manage every account, organization and repository.",
}

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})


class Refused(Exception):
    """A request that must not redirect anywhere: answered with an error page."""


@dataclass(frozen=True, slots=True)
class AuthRequest:
    app: ApplicationInfo
    redirect_uri: str  # where the browser goes back to
    redirect_given: str | None  # as the request named it (the code is bound to it)
    form_action: str  # the CSP source of redirect_uri, for the consent page's form


def _csp_source(uri: str) -> str | None:
    """The Content-Security-Policy source that allows a form to end at ``uri``; None when the URI is
    not usable as a redirect target (relative, with a fragment, a script scheme, odd characters)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme) or scheme in _FORBIDDEN_SCHEMES or parts.fragment or "#" in uri:
        return None
    if any(ch.isspace() or ch in "\"'<>;," for ch in uri):
        return None
    if scheme in ("http", "https"):
        if not parts.netloc or not _HOST.match(parts.netloc):
            return None
        return f"{scheme}://{parts.netloc}"
    return f"{scheme}:"


async def _validate_client(request: Request, client_id: str, given: str | None) -> AuthRequest:
    """The application and where to send the browser back; Refused when neither can be trusted."""
    app = await ctx(request).oauth.by_client_id(client_id) if client_id else None
    if app is None:
        raise Refused("No application is registered under this client_id. Check the link you followed.")
    registered = app.redirect_uri
    if not registered:
        raise Refused(
            f"The application {app.name} has no redirect URI registered; the administrators of "
            f"{app.organization} must set one before it can ask for access."
        )
    if given is not None and given != registered:
        raise Refused(
            f"The redirect URI of this request is not the one registered for {app.name}, so it was "
            "not followed. If you maintain the application, send the registered URI exactly."
        )
    source = _csp_source(registered)
    if source is None:
        raise Refused(f"The redirect URI registered for {app.name} cannot be used: ask its maintainers.")
    return AuthRequest(app, registered, given, source)


def _with_params(uri: str, params: dict[str, str], *, fragment: bool) -> str:
    """``uri`` with ``params`` added to its query (code flow) or as its fragment (implicit flow)."""
    clean = {k: v for k, v in params.items() if v}
    if fragment:
        return f"{uri}#{urlencode(clean)}"
    parts = urlsplit(uri)
    query = f"{parts.query}&{urlencode(clean)}" if parts.query else urlencode(clean)
    return urlunsplit(parts._replace(query=query))


def _back_with_error(ar: AuthRequest, error: str, description: str, state: str, *, fragment: bool) -> str:
    return _with_params(
        ar.redirect_uri,
        {"error": error, "error_description": description, "state": state},
        fragment=fragment,
    )


def _error_page(request: Request, detail: str) -> Response:
    return render(
        request, "oauth_error.html", status=400, title="Cannot authorize this application", detail=detail
    )


def _scopes_for(p: Principal, raw: str) -> frozenset[str]:
    """The requested scopes; InvalidInput for unknown ones or super:user asked of a non-superuser."""
    scopes = parse_scopes(raw)
    if "super:user" in scopes and not p.superuser:
        raise InvalidInput("only superusers can grant the super:user scope")
    return scopes


def _params(source: dict[str, str]) -> dict[str, str]:
    return {
        k: source.get(k, "")[:2048] for k in ("response_type", "client_id", "redirect_uri", "scope", "state")
    }


async def _check(
    request: Request, params: dict[str, str]
) -> tuple[AuthRequest, Principal, frozenset[str]] | Response:
    """Validate an authorization request: an error page, a redirect carrying the error back to the
    application, or what the consent needs."""
    try:
        ar = await _validate_client(request, params["client_id"], params["redirect_uri"] or None)
    except Refused as exc:
        return _error_page(request, str(exc))
    p = require_user(request)
    response_type, state = params["response_type"], params["state"]
    implicit = response_type == "token"
    if response_type not in ("code", "token"):
        return redirect(
            request,
            _back_with_error(
                ar, "unsupported_response_type", "response_type must be code or token", state, fragment=False
            ),
        )
    try:
        scopes = _scopes_for(p, params["scope"])
    except InvalidInput as exc:
        return redirect(request, _back_with_error(ar, "invalid_scope", exc.detail, state, fragment=implicit))
    return ar, p, scopes


async def authorize_page(request: Request) -> Response:
    params = _params(dict(request.query_params))
    checked = await _check(request, params)
    if isinstance(checked, Response):
        return checked
    ar, _, scopes = checked
    response = render(
        request,
        "oauth_authorize.html",
        title=f"Authorize {ar.app.name}",
        app=ar.app,
        scopes=[(s, SCOPE_TEXT[s]) for s in sorted(scopes, key=list(SCOPE_TEXT).index)],
        params=params,
        redirect_host=urlsplit(ar.redirect_uri).netloc or ar.redirect_uri,
        lifetime="8 hours" if params["response_type"] == "token" else "30 days",
    )
    # the Authorize/Deny form ends in a redirect to the application: allow that one origin
    response.headers["content-security-policy"] = content_security_policy(f"'self' {ar.form_action}")
    return response


async def authorize(request: Request) -> Response:
    data = await form(request)
    params = _params({k: v for k, v in data.items() if isinstance(v, str)})
    checked = await _check(request, params)
    if isinstance(checked, Response):
        return checked
    ar, p, scopes = checked
    state, implicit = params["state"], params["response_type"] == "token"
    if data.get("decision") != "allow":
        await ctx(request).audit.record(
            "oauth_deny", actor(request), namespace=ar.app.organization, client_id=ar.app.client_id
        )
        return redirect(
            request, _back_with_error(ar, "access_denied", "the user denied access", state, fragment=implicit)
        )
    assert p.id is not None
    c = ctx(request)
    if implicit:
        token = await c.oauth.issue_token(
            ar.app.organization,
            ar.app.client_id,
            user_id=p.id,
            scopes=scopes,
            expires_in=IMPLICIT_TOKEN_LIFETIME,
            actor=actor(request),
        )
        target = _with_params(
            ar.redirect_uri,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": str(int(IMPLICIT_TOKEN_LIFETIME.total_seconds())),
                "scope": " ".join(sorted(scopes)),
                "state": state,
            },
            fragment=True,
        )
        return redirect(request, target)
    code = await c.oauth.create_code(
        ar.app.client_id, user_id=p.id, scopes=scopes, redirect_uri=ar.redirect_given, actor=actor(request)
    )
    return redirect(request, _with_params(ar.redirect_uri, {"code": code, "state": state}, fragment=False))


# -- the token endpoint
def _oauth_error(status: int, error: str, description: str | None = None) -> JSONResponse:
    body = {"error": error} | ({"error_description": description} if description else {})
    headers = {"Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="moorage"'
    return JSONResponse(body, status_code=status, headers=headers)


def _client_credentials(request: Request, data: dict[str, str]) -> tuple[str, str]:
    """client_id and client_secret from HTTP Basic (RFC 6749 2.3.1, form-encoded parts) or the body."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            raw = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = raw.partition(":")
        return unquote(client_id), unquote(secret)
    return data.get("client_id", ""), data.get("client_secret", "")


async def access_token(request: Request) -> Response:
    """Exchange an authorization code for an access token (RFC 6749 4.1.3).

    Registered as a plain Route, not with page(): programs call it with their client secret, not a
    browser with a session, so there is no CSRF token to check (and no cookie that could be abused:
    the session plays no part here). Failed client secrets are throttled per client and address,
    like passwords."""
    c = ctx(request)
    ip = request.client.host if request.client else None
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(
            400, "invalid_request", "send the parameters as application/x-www-form-urlencoded"
        )
    try:
        raw = await request.form()
    except Exception:  # a malformed body is the client's mistake, answered in OAuth's terms
        return _oauth_error(400, "invalid_request", "the form could not be read")
    data = {k: v[:4096] for k, v in raw.items() if isinstance(v, str)}
    client_id, secret = _client_credentials(request, data)
    if not client_id or not secret:
        return _oauth_error(401, "invalid_client", "client_id and client_secret are required")
    client_id = client_id[:64]
    try:
        await c.throttle.before_attempt(None, ip, client=client_id)
    except Throttled as exc:
        return _oauth_error(429, "invalid_client", exc.detail)
    app = await c.oauth.verify_client(client_id, secret)
    if app is None:
        locked = await c.throttle.failed(None, ip, client=client_id)
        await c.audit.record(
            "login_failure", Actor(client_id, "oauth_client", ip), where="oauth_token", locked=locked
        )
        return _oauth_error(401, "invalid_client", "unknown client or wrong client secret")
    await c.throttle.succeeded(None, client=client_id)
    if data.get("grant_type") != "authorization_code":
        return _oauth_error(400, "unsupported_grant_type", "only authorization_code is supported")
    if not data.get("code"):
        return _oauth_error(400, "invalid_request", "code is required")
    issued = await c.oauth.redeem_code(
        data["code"],
        client_id=app.client_id,
        redirect_uri=data.get("redirect_uri") or None,
        expires_in=CODE_FLOW_TOKEN_LIFETIME,
        actor=Actor(app.name, "oauth_client", ip),
    )
    if issued is None:
        return _oauth_error(
            400,
            "invalid_grant",
            "the code is unknown, used, expired, or issued to another client or redirect_uri",
        )
    return JSONResponse(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": int(CODE_FLOW_TOKEN_LIFETIME.total_seconds()),
            "scope": " ".join(sorted(issued.scopes)),
        },
        headers={"Pragma": "no-cache"},
    )


routes = [
    page("/oauth/authorize", authorize_page, name="oauth_authorize"),
    page("/oauth/authorize", authorize, methods=("POST",)),
    # no page(): see access_token's docstring for why this POST has no CSRF check
    Route("/oauth/access_token", access_token, methods=["POST"], name="oauth_access_token"),
]
