"""The security matrix: (method, path template) x principal -> expected HTTP status.

Every route x method of the REST API, of /v2 and of the control app (health, metrics) has one row;
``test_security_matrix.py`` runs each cell and the meta-tests (tests/support/routes.py) fail when a
route of the live app has no row for a method it answers (or a row names a route that is gone).
To add a route: add its rows to API_ROWS, V2_ROWS or CONTROL_ROWS below; the meta-test's message
names each missing ``METHOD route``. OPTIONS and undeclared methods need no row as long as the app
answers them 405 (the meta-test sends them).
Expectations are tuples in the order of ``world.PRINCIPALS``:

    anon, admin, owner, orgadmin, member, stranger, robot_a, robot_b, oauth, disabled

A cell may accept several statuses (a tuple) where either answer is a correct refusal.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tests.protocol.helpers import sha256
from tests.security.world import PRINCIPALS, World, fresh_name

Cell = int | tuple[int, ...]
Fresh = Callable[[World], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # a route template; {repo:path} style converters allowed
    expected: tuple[Cell, ...]
    json: Any = None
    content: bytes | None = None
    form: dict[str, str] | None = None
    params: dict[str, str] = field(default_factory=dict)
    fresh: tuple[Fresh, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)  # placeholder -> the value key it takes
    app: str = "api"  # api (path under /api/v1), registry (/v2) or control (health, metrics)

    def __post_init__(self) -> None:
        assert len(self.expected) == len(PRINCIPALS), (self.method, self.path)

    @property
    def is_v2(self) -> bool:
        return self.app == "registry"

    def expect(self, principal: str) -> tuple[int, ...]:
        cell = self.expected[PRINCIPALS.index(principal)]
        return cell if isinstance(cell, tuple) else (cell,)

    def id(self) -> str:
        return f"{self.method} {self.path}"


_PLACEHOLDER = re.compile(r"\{(\w+)(?::\w+)?\}")


def fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


# -- fresh values for creating rows (a new name each time)
async def new_org_name(_: World) -> dict[str, str]:
    return {"new": fresh_name("org")}


async def new_name(_: World) -> dict[str, str]:
    return {"new": fresh_name("n")}


async def new_tag(_: World) -> dict[str, str]:
    return {"tag": fresh_name("tag")}


async def new_short(_: World) -> dict[str, str]:
    return {"shortname": fresh_name("bot"), "ushort": fresh_name("bot")}


def _fresh(method: str) -> Fresh:
    async def run(w: World) -> dict[str, str]:
        result: dict[str, str] = await getattr(w, method)()
        return result

    run.__name__ = method
    return run


F_REPO = _fresh("fresh_repo")
F_TAG = _fresh("fresh_tag")
F_DELETED_TAG = _fresh("fresh_deleted_tag")
F_TEAM = _fresh("fresh_team")
F_ROBOT = _fresh("fresh_robot")
F_UROBOT = _fresh("fresh_user_robot")
F_PROTO = _fresh("fresh_prototype")
F_APP = _fresh("fresh_app")
F_APPTOKEN = _fresh("fresh_app_token")
F_USER = _fresh("fresh_user")
F_LOCK = _fresh("fresh_lock")
F_ORG = _fresh("fresh_org")
F_UPLOAD = _fresh("fresh_upload")
F_MANIFEST = _fresh("fresh_manifest")
F_BLOB = _fresh("fresh_blob")
F_QUOTA = _fresh("fresh_quota")
F_QLIMIT = _fresh("fresh_quota_limit")
F_JOB = _fresh("fresh_job")
F_CANCELLED_JOB = _fresh("fresh_cancelled_job")


def _fresh_policy(key: str) -> Fresh:
    async def run(w: World) -> dict[str, str]:
        return await w.fresh_policy(key)

    run.__name__ = f"fresh_{key}"
    return run


async def new_pattern(_: World) -> dict[str, str]:
    return {"pattern": f"^never-{fresh_name()}$"}


# -- expectation profiles     anon  admin owner oadm  membr strgr robA  robB  oauth disabled
PUBLIC = (200, 200, 200, 200, 200, 200, 200, 200, 200, 200)
NOT_ALLOWED = (405,) * 10  # the method is refused before anyone is asked for credentials
SUPER = (401, 200, 403, 403, 403, 403, 403, 403, 403, 401)
SUPER_201 = (401, 201, 403, 403, 403, 403, 403, 403, 403, 401)
SIGNED_IN = (401, 200, 200, 200, 200, 200, 200, 200, 200, 401)
# signed-in users acting on their own account; robots refused; a repo:read OAuth token has no scope
# for account management (Quay requires user:admin for robots, logs and tokens)
SELF = (401, 200, 200, 200, 200, 200, 403, 403, 403, 401)
SELF_201 = (401, 201, 201, 201, 201, 201, 403, 403, 403, 401)
# something owned by ``owner`` in their own account (others: not found)
OWNERS = (401, 404, 200, 404, 404, 404, 403, 403, (403, 404), 401)
ORG_MEMBER_R = (401, 200, 200, 200, 200, 404, 404, 404, 200, 401)
ORG_ADMIN_R = (401, 200, 200, 200, 403, 404, 404, 404, 403, 401)
ORG_ADMIN_W = (401, 200, 200, 200, 403, 404, 403, 403, 403, 401)
ORG_ADMIN_W201 = (401, 201, 201, 201, 403, 404, 403, 403, 403, 401)
REPO_READ = (404, 200, 200, 200, 200, 404, 200, 404, 200, 401)
REPO_WRITE = (401, 200, 200, 200, 403, 404, 403, 404, 403, 401)
REPO_ADMIN = REPO_WRITE
ORG_ADMIN_W204 = (401, 204, 204, 204, 403, 404, 403, 403, 403, 401)
REPO_ADMIN_201 = (401, 201, 201, 201, 403, 404, 403, 404, 403, 401)
REPO_ADMIN_204 = (401, 204, 204, 204, 403, 404, 403, 404, 403, 401)
OWNERS_204 = (401, 404, 204, 404, 404, 404, 403, 403, (403, 404), 401)


def v2_read(ok: int) -> tuple[Cell, ...]:
    return (401, ok, ok, ok, ok, 403, ok, 403, ok, 401)


def v2_write(ok: int) -> tuple[Cell, ...]:
    return (401, ok, ok, ok, 403, 403, 403, 403, 403, 401)


USER_ROBOT = {"shortname": "ushort"}
USER_QUOTA = {"quota_id": "uquota_id", "limit_id": "ulimit_id"}
_Q = "/organization/{org}/quota"

API_ROWS: tuple[Row, ...] = (
    # documentation
    Row("GET", "/openapi.json", PUBLIC),
    Row("HEAD", "/openapi.json", PUBLIC),
    Row("GET", "/docs", PUBLIC),
    Row("GET", "/static/{path:path}", PUBLIC),  # {path}: a file of the Swagger UI
    Row("HEAD", "/static/{path:path}", PUBLIC),
    Row("OPTIONS", "/user/", NOT_ALLOWED),
    Row("OPTIONS", "/repository/{repo:path}", NOT_ALLOWED),
    # password sign-in (Quay): without the X-CSRF-Token of GET /csrf_token nobody gets as far as
    # the password check, whatever Authorization they send
    Row("POST", "/signin", (403,) * 10, json={"username": "owner", "password": "wrong-password"}),
    # the caller
    Row("GET", "/user/", (401, 200, 200, 200, 200, 200, 200, 200, 403, 401)),
    Row("PUT", "/user/", SELF, json={"tag_expiration_s": 86400}),
    # anyone may look names up, as in Quay (anonymous: exact user names only); bad credentials: 401
    Row(
        "GET",
        "/entities/{prefix}",
        (200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
        params={"namespace": "{org}"},
        alias={"prefix": "name"},
    ),
    # superuser
    Row("GET", "/superuser/users/", SUPER),
    Row(
        "POST",
        "/superuser/users/",
        SUPER_201,
        json={"username": "{new}", "password": "a-long-password"},
        fresh=(new_name,),
    ),
    Row("GET", "/superuser/users/{username}", SUPER),
    Row("PUT", "/superuser/users/{username}", SUPER, json={"email": "someone@example.com"}),
    Row("DELETE", "/superuser/users/{username}", SUPER, fresh=(F_USER,)),
    Row("GET", "/superuser/lockedaccounts", SUPER),
    Row("DELETE", "/superuser/lockedaccounts/{key}", SUPER, fresh=(F_LOCK,)),
    Row("GET", "/superuser/jobs", SUPER, params={"state": "queued", "kind": "uploads.purge"}),
    Row("GET", "/superuser/jobs/{job_id}", SUPER),
    Row("POST", "/superuser/jobs/{job_id}/cancel", SUPER, fresh=(F_JOB,)),
    Row("POST", "/superuser/jobs/{job_id}/retry", SUPER, fresh=(F_CANCELLED_JOB,)),
    # organizations
    Row(
        "POST",
        "/organization/",
        (401, 201, 201, 201, 201, 201, 403, 403, 403, 401),
        json={"name": "{new}"},
        fresh=(new_org_name,),
    ),
    Row("GET", "/organization/", SIGNED_IN),
    Row("GET", "/organization/{org}", ORG_MEMBER_R),
    Row("PUT", "/organization/{org}", ORG_ADMIN_W, json={"email": "org@example.com"}),
    Row("DELETE", "/organization/{org}", ORG_ADMIN_W, fresh=(F_ORG,)),
    # teams
    Row("GET", "/organization/{org}/team", ORG_MEMBER_R),
    Row("GET", "/organization/{org}/team/{team}", ORG_MEMBER_R),
    Row("PUT", "/organization/{org}/team/{team}", ORG_ADMIN_W, json={"role": "member"}),
    Row("DELETE", "/organization/{org}/team/{team}", ORG_ADMIN_W, fresh=(F_TEAM,)),
    Row("GET", "/organization/{org}/team/{team}/members", ORG_MEMBER_R),
    Row("PUT", "/organization/{org}/team/{team}/members/{member}", ORG_ADMIN_W),
    Row("DELETE", "/organization/{org}/team/{team}/members/{member}", ORG_ADMIN_W, fresh=(F_TEAM,)),
    # robots of the organization
    Row("GET", "/organization/{org}/robots", ORG_ADMIN_R),
    Row("PUT", "/organization/{org}/robots/{shortname}", ORG_ADMIN_W201, json={}, fresh=(new_short,)),
    Row("GET", "/organization/{org}/robots/{shortname}", ORG_ADMIN_R, params={"token": "true"}),
    Row("POST", "/organization/{org}/robots/{shortname}/regenerate", ORG_ADMIN_W, fresh=(F_ROBOT,)),
    Row("DELETE", "/organization/{org}/robots/{shortname}", ORG_ADMIN_W, fresh=(F_ROBOT,)),
    Row("GET", "/organization/{org}/robots/{shortname}/permissions", ORG_ADMIN_R),
    # personal robots
    Row("GET", "/user/robots", SELF),
    Row("PUT", "/user/robots/{shortname}", SELF_201, json={}, fresh=(new_short,), alias=USER_ROBOT),
    Row("GET", "/user/robots/{shortname}", OWNERS, params={"token": "true"}, alias=USER_ROBOT),
    Row("POST", "/user/robots/{shortname}/regenerate", OWNERS, fresh=(F_UROBOT,), alias=USER_ROBOT),
    Row("DELETE", "/user/robots/{shortname}", OWNERS, fresh=(F_UROBOT,), alias=USER_ROBOT),
    Row("GET", "/user/robots/{shortname}/permissions", OWNERS, alias=USER_ROBOT),
    # default permissions
    Row("GET", "/organization/{org}/prototypes", ORG_ADMIN_R),
    Row(
        "POST",
        "/organization/{org}/prototypes",
        ORG_ADMIN_W201,
        json={"role": "read", "delegate": {"name": "readers", "kind": "team"}},
    ),
    Row("PUT", "/organization/{org}/prototypes/{prototype_id}", ORG_ADMIN_W, json={"role": "read"}),
    Row("DELETE", "/organization/{org}/prototypes/{prototype_id}", ORG_ADMIN_W, fresh=(F_PROTO,)),
    # auto-prune policies and immutability rules (Quay's shapes); {policy_uuid} takes the kind's uuid
    *(
        row
        for kind, body in (
            ("autoprune", {"method": "number_of_tags", "value": 3, "tagPattern": "{pattern}"}),
            ("immutability", {"tagPattern": "{pattern}", "tagPatternMatches": True}),
        )
        for prefix, scope, (read, create, one, change, remove) in (
            (
                "/organization/{org}",
                "org",
                (ORG_ADMIN_R, ORG_ADMIN_W201, ORG_ADMIN_R, ORG_ADMIN_W204, ORG_ADMIN_W),
            ),
            ("/user", "user", (SELF, SELF_201, OWNERS, OWNERS_204, OWNERS)),
            (
                "/repository/{repo:path}",
                "repo",
                (REPO_ADMIN, REPO_ADMIN_201, REPO_ADMIN, REPO_ADMIN_204, REPO_ADMIN),
            ),
        )
        for key in [f"{'prune' if kind == 'autoprune' else 'imm'}_{scope}"]
        for row in (
            Row("GET", f"{prefix}/{kind}policy/", read),
            Row("POST", f"{prefix}/{kind}policy/", create, json=body, fresh=(new_pattern,)),
            Row("GET", f"{prefix}/{kind}policy/{{policy_uuid}}", one, alias={"policy_uuid": key}),
            Row(
                "PUT",
                f"{prefix}/{kind}policy/{{policy_uuid}}",
                change,
                json=body,
                fresh=(new_pattern,),
                alias={"policy_uuid": key},
            ),
            Row(
                "DELETE",
                f"{prefix}/{kind}policy/{{policy_uuid}}",
                remove,
                fresh=(_fresh_policy(key),),
                alias={"policy_uuid": key},
            ),
            *(
                (
                    Row(
                        "GET",
                        f"{prefix}/{kind}policy/{{policy_uuid}}/preview",
                        one,
                        alias={"policy_uuid": key},
                    ),
                )
                if kind == "autoprune"
                else ()
            ),
        )
    ),
    # OAuth applications
    Row("GET", "/organization/{org}/applications", ORG_ADMIN_R),
    Row("POST", "/organization/{org}/applications", ORG_ADMIN_W201, json={"name": "an app"}),
    Row("GET", "/organization/{org}/applications/{client_id}", ORG_ADMIN_R),
    Row("PUT", "/organization/{org}/applications/{client_id}", ORG_ADMIN_W, json={"description": "d"}),
    Row("DELETE", "/organization/{org}/applications/{client_id}", ORG_ADMIN_W, fresh=(F_APP,)),
    Row(
        "POST", "/organization/{org}/applications/{client_id}/resetclientsecret", ORG_ADMIN_W, fresh=(F_APP,)
    ),
    Row(
        "POST",
        "/organization/{org}/applications/{client_id}/token",
        (401, 201, 201, 201, 201, 201, 403, 403, 403, 401),
        json={"scopes": ["repo:read"]},
    ),
    # storage quotas: members read, superusers change (Quay)
    Row("GET", _Q, ORG_MEMBER_R),
    Row("POST", _Q, SUPER_201, json={"limit_bytes": 1_000_000}, fresh=(F_ORG,)),
    Row("GET", _Q + "/{quota_id}", ORG_MEMBER_R),
    Row("PUT", _Q + "/{quota_id}", SUPER, json={"limit_bytes": 2 * 10**12}),
    Row("DELETE", _Q + "/{quota_id}", SUPER, fresh=(F_QUOTA,)),
    Row("GET", _Q + "/{quota_id}/limit", ORG_MEMBER_R),
    Row(
        "POST",
        _Q + "/{quota_id}/limit",
        SUPER_201,
        json={"type": "Warning", "threshold_percent": 50},
        fresh=(F_QUOTA,),
    ),
    Row("GET", _Q + "/{quota_id}/limit/{limit_id}", ORG_MEMBER_R),
    Row("PUT", _Q + "/{quota_id}/limit/{limit_id}", SUPER, json={"threshold_percent": 90}),
    Row("DELETE", _Q + "/{quota_id}/limit/{limit_id}", SUPER, fresh=(F_QLIMIT,)),
    Row("GET", "/user/quota", SELF),
    Row("GET", "/user/quota/{quota_id}", OWNERS, alias=USER_QUOTA),
    Row("GET", "/user/quota/{quota_id}/limit", OWNERS, alias=USER_QUOTA),
    Row("GET", "/user/quota/{quota_id}/limit/{limit_id}", OWNERS, alias=USER_QUOTA),
    # application tokens
    Row("GET", "/user/apptoken", SELF),
    Row("POST", "/user/apptoken", SELF_201, json={"title": "t"}),
    Row("GET", "/user/apptoken/{token_uuid}", (401, 404, 200, 404, 404, 404, 403, 403, 403, 401)),
    Row(
        "DELETE",
        "/user/apptoken/{token_uuid}",
        (401, 404, 200, 404, 404, 404, 403, 403, 403, 401),
        fresh=(F_APPTOKEN,),
    ),
    # repository permissions
    Row("GET", "/repository/{repo:path}/permissions/{kind}/", REPO_ADMIN),
    Row("GET", "/repository/{repo:path}/permissions/{kind}/{name}", REPO_ADMIN),
    Row("PUT", "/repository/{repo:path}/permissions/{kind}/{name}", REPO_ADMIN, json={"role": "read"}),
    Row("DELETE", "/repository/{repo:path}/permissions/{kind}/{name}", REPO_ADMIN, fresh=(F_REPO,)),
    # tags
    Row("GET", "/repository/{repo:path}/tag/", REPO_READ),
    Row(
        "PUT",
        "/repository/{repo:path}/tag/{tag}",
        REPO_WRITE,
        json={"manifest_digest": "{digest}"},
        fresh=(new_tag,),
    ),
    Row("DELETE", "/repository/{repo:path}/tag/{tag}", REPO_WRITE, fresh=(F_TAG,)),
    Row(
        "POST",
        "/repository/{repo:path}/tag/{tag}/restore",
        REPO_WRITE,
        json={"manifest_digest": "{digest}"},
        fresh=(F_DELETED_TAG,),
    ),
    # audit log
    Row("GET", "/repository/{repo:path}/logs", REPO_ADMIN),
    Row("GET", "/organization/{org}/logs", ORG_ADMIN_R),
    Row("GET", "/user/logs", SELF),
    # repositories
    Row(
        "POST",
        "/repository",
        (401, 201, 201, 201, 403, 403, 403, 403, 403, 401),
        json={"namespace": "{org}", "repository": "{new}"},
        fresh=(new_name,),
    ),
    Row("GET", "/repository", (200, 200, 200, 200, 200, 200, 200, 200, 200, 401)),
    Row(
        "POST",
        "/repository/{repo:path}/changevisibility",
        REPO_ADMIN,
        json={"visibility": "public"},
        fresh=(F_REPO,),
    ),
    Row("GET", "/repository/{repo:path}", REPO_READ),
    Row("PUT", "/repository/{repo:path}", REPO_ADMIN, json={"description": "described"}),
    Row("DELETE", "/repository/{repo:path}", REPO_ADMIN, fresh=(F_REPO,)),
)

_CHUNK = b"some bytes of a blob"

_V2_ROWS: tuple[Row, ...] = (
    Row("GET", "/v2/", (401, 200, 200, 200, 200, 200, 200, 200, 200, 401)),
    Row("HEAD", "/v2/", (401, 200, 200, 200, 200, 200, 200, 200, 200, 401)),
    Row("OPTIONS", "/v2/", NOT_ALLOWED),
    Row("DELETE", "/v2/", NOT_ALLOWED),
    Row(
        "GET",
        "/v2/auth",
        (200, 200, 200, 200, 200, 200, 200, 200, 200, 401),
        params={"service": "moorage", "scope": "repository:{repo}:pull"},
    ),
    Row(
        "POST",
        "/v2/auth",
        (401, 200, 200, 200, 200, 200, 200, 200, 200, 401),
        form={"grant_type": "password", "scope": "repository:{repo}:pull", "service": "moorage"},
    ),
    Row("GET", "/v2/_catalog", (401, 200, 200, 200, 200, 200, 200, 200, 200, 401)),
    Row("GET", "/v2/{repo}/tags/list", v2_read(200)),
    Row(
        "GET",
        "/v2/{repo}/manifests/{tag}",
        v2_read(200),
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    ),
    Row(
        "HEAD",
        "/v2/{repo}/manifests/{tag}",
        v2_read(200),
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    ),
    Row(
        "PUT",
        "/v2/{repo}/manifests/{tag}",
        v2_write(201),
        content=b"{manifest}",
        fresh=(new_tag,),
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    ),
    Row("DELETE", "/v2/{repo}/manifests/{digest}", v2_write(202), fresh=(F_MANIFEST,)),
    Row("POST", "/v2/{repo}/blobs/uploads/", v2_write(202)),
    Row("GET", "/v2/{repo}/blobs/uploads/{upload}", v2_write(204), fresh=(F_UPLOAD,)),
    Row(
        "PATCH",
        "/v2/{repo}/blobs/uploads/{upload}",
        v2_write(202),
        content=_CHUNK,
        fresh=(F_UPLOAD,),
        headers={"Content-Type": "application/octet-stream"},
    ),
    Row(
        "PUT",
        "/v2/{repo}/blobs/uploads/{upload}",
        v2_write(201),
        content=_CHUNK,
        fresh=(F_UPLOAD,),
        params={"digest": sha256(_CHUNK)},
        headers={"Content-Type": "application/octet-stream"},
    ),
    Row("DELETE", "/v2/{repo}/blobs/uploads/{upload}", v2_write(204), fresh=(F_UPLOAD,)),
    Row("GET", "/v2/{repo}/blobs/{blob}", v2_read(200)),
    Row("HEAD", "/v2/{repo}/blobs/{blob}", v2_read(200)),
    Row("DELETE", "/v2/{repo}/blobs/{blob}", v2_write(202), fresh=(F_BLOB,)),
    Row("GET", "/v2/{repo}/referrers/{digest}", v2_read(200)),
    Row("OPTIONS", "/v2/{repo}/manifests/{tag}", NOT_ALLOWED),
)
V2_ROWS = tuple(replace(r, app="registry") for r in _V2_ROWS)

# health and metrics: open to every caller (probes and scrapers carry no credentials)
_CONTROL_ROWS: tuple[Row, ...] = (
    Row("GET", "/health/instance", PUBLIC),
    Row("HEAD", "/health/instance", PUBLIC),
    Row("GET", "/health/endtoend", PUBLIC),
    Row("HEAD", "/health/endtoend", PUBLIC),
    Row("GET", "/metrics", PUBLIC),
    Row("HEAD", "/metrics", PUBLIC),
    Row("OPTIONS", "/metrics", NOT_ALLOWED),
    Row("POST", "/metrics", NOT_ALLOWED),
)
CONTROL_ROWS = tuple(replace(r, app="control") for r in _CONTROL_ROWS)

ROWS = API_ROWS + V2_ROWS + CONTROL_ROWS


def substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value
