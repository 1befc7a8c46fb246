"""The cast of the security matrix: one organization with teams, robots, an OAuth app and repositories.

Principals (Quay's model):

- ``anon``: no credentials;
- ``admin``: a superuser (Basic);
- ``owner``: created organization A (its ``owners`` team, role admin) and owns a personal namespace
  with a private repository, a personal robot and an application token;
- ``orgadmin``: in A's team ``admins`` (role admin);
- ``member``: in A's team ``readers`` (role member), which has read on ``A/app``;
- ``stranger``: a user with no relation to A;
- ``robot_a``: ``A+reader``, granted read on ``A/app``;
- ``robot_b``: ``B+bot``, a robot of another organization;
- ``oauth``: an OAuth token of ``orgadmin`` with the ``repo:read`` scope only (Bearer on the API,
  ``$oauthtoken`` Basic on /v2);
- ``disabled``: a user account disabled by a superuser (it never logged in before being disabled).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.api.support import Env, User
from tests.protocol.helpers import basic, bearer, push_blob, push_manifest, sha256

from moorage.domain.actor import SYSTEM
from moorage.identity.throttle import LoginThrottler, ThrottlePolicy

PRINCIPALS = (
    "anon",
    "admin",
    "owner",
    "orgadmin",
    "member",
    "stranger",
    "robot_a",
    "robot_b",
    "oauth",
    "disabled",
)


def fresh_name(prefix: str = "f") -> str:
    return prefix + secrets.token_hex(5)


@dataclass
class World:
    env: Env
    uid: str
    users: dict[str, User]
    org_a: str
    org_b: str
    repo: str  # A/app: private, tag latest
    personal_repo: str  # owner/secret: private, tag latest
    digest: str  # manifest digest of A/app:latest
    manifest: bytes
    layer_digest: str
    oauth_token: str
    client_id: str
    prototype_id: str
    token_uuid: str  # an application token of owner
    user_robot: str  # shortname of owner's personal robot
    upload: str = ""  # an upload session on A/app (started by the superuser)
    # uuids of auto-prune policies and immutability rules: prune_org, prune_user, prune_repo,
    # imm_org, imm_user, imm_repo (their patterns match no tag the other rows use)
    policies: dict[str, str] = field(default_factory=dict)
    job: str = ""  # a queued background job (uploads.purge, due in an hour)
    quota_id: str = ""  # A's quota (Warning 80 %, Reject 100 % of 1 TB)
    limit_id: str = ""  # its Warning limit
    uquota_id: str = ""  # owner's personal quota (Reject 100 %)
    ulimit_id: str = ""  # its Reject limit
    v2_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    api_headers: dict[str, dict[str, str]] = field(default_factory=dict)

    # -- placeholders every row can use
    def base(self) -> dict[str, str]:
        return {
            "org": self.org_a,
            "team": "readers",
            "member": self.users["member"].name,
            "shortname": "reader",
            "ushort": self.user_robot,
            "client_id": self.client_id,
            "prototype_id": self.prototype_id,
            "token_uuid": self.token_uuid,
            "repo": self.repo,
            "kind": "team",
            "name": "readers",
            "tag": "latest",
            "digest": self.digest,
            "blob": self.layer_digest,
            "username": self.users["stranger"].name,
            "key": "user:nobody",
            "upload": self.upload,
            "job_id": self.job,
            "quota_id": self.quota_id,
            "limit_id": self.limit_id,
            "uquota_id": self.uquota_id,
            "ulimit_id": self.ulimit_id,
            "path": "swagger-ui/favicon.png",  # a file under the REST API's /static mount
            **self.policies,
        }

    # -- fresh objects for rows that change or destroy what they touch
    async def fresh_repo(self) -> dict[str, str]:
        name = f"{self.org_a}/{fresh_name()}"
        await self.env.repo(name)
        await self.env.grant(name, "team", "readers", "read")
        await self.env.grant(name, "robot", f"{self.org_a}+reader", "read")
        return {"repo": name}

    async def fresh_tag(self) -> dict[str, str]:
        tag = fresh_name("tag")
        await self.env.api(
            "PUT",
            f"/repository/{self.repo}/tag/{tag}",
            self.env.admin,
            json_body={"manifest_digest": self.digest},
            expect=200,
        )
        return {"tag": tag}

    async def fresh_deleted_tag(self) -> dict[str, str]:
        """A tag of A/app that pointed at ``digest`` and was deleted: restorable (time machine)."""
        tag = (await self.fresh_tag())["tag"]
        await self.env.api("DELETE", f"/repository/{self.repo}/tag/{tag}", self.env.admin, expect=200)
        return {"tag": tag}
    async def _policy(self, kind: str, scope: str) -> str:
        """A new auto-prune policy (kind "prune") or immutability rule ("imm") of org A ("org"),
        the owner's namespace ("user") or A/app ("repo"); its pattern matches no tag in use."""
        path = {"org": f"/organization/{self.org_a}", "user": "/user", "repo": f"/repository/{self.repo}"}[
            scope
        ]
        who = self.users["owner"] if scope == "user" else self.env.admin
        pattern = f"^never-{fresh_name()}$"
        if kind == "prune":
            r = await self.env.api(
                "POST",
                f"{path}/autoprunepolicy/",
                who,
                json_body={"method": "number_of_tags", "value": 1, "tagPattern": pattern},
                expect=201,
            )
        else:
            r = await self.env.api(
                "POST", f"{path}/immutabilitypolicy/", who, json_body={"tagPattern": pattern}, expect=201
            )
        uuid: str = r.json()["uuid"]
        return uuid

    async def fresh_policy(self, key: str) -> dict[str, str]:
        kind, scope = key.split("_")
        return {key: await self._policy(kind, scope)}

    async def fresh_team(self) -> dict[str, str]:
        team = fresh_name("team")
        await self.env.team(self.org_a, team, "member", self.users["member"].name)
        return {"team": team}

    async def fresh_robot(self) -> dict[str, str]:
        short = fresh_name("bot")
        await self.env.robot(self.org_a, short)
        return {"shortname": short}

    async def fresh_user_robot(self) -> dict[str, str]:
        short = fresh_name("bot")
        await self.env.api("PUT", f"/user/robots/{short}", self.users["owner"], json_body={}, expect=201)
        return {"ushort": short}

    async def fresh_prototype(self) -> dict[str, str]:
        r = await self.env.api(
            "POST",
            f"/organization/{self.org_a}/prototypes",
            self.env.admin,
            json_body={"role": "read", "delegate": {"name": "readers", "kind": "team"}},
            expect=201,
        )
        return {"prototype_id": r.json()["id"]}

    async def fresh_app(self) -> dict[str, str]:
        r = await self.env.api(
            "POST",
            f"/organization/{self.org_a}/applications",
            self.env.admin,
            json_body={"name": fresh_name("app")},
            expect=201,
        )
        return {"client_id": r.json()["client_id"]}

    async def fresh_app_token(self) -> dict[str, str]:
        r = await self.env.api(
            "POST", "/user/apptoken", self.users["owner"], json_body={"title": "fresh"}, expect=201
        )
        return {"token_uuid": r.json()["token"]["uuid"]}

    async def fresh_user(self) -> dict[str, str]:
        name = fresh_name("usr")
        await self.env.api(
            "POST",
            "/superuser/users/",
            self.env.admin,
            json_body={"username": name, "password": "a-long-password"},
            expect=201,
        )
        return {"username": name}

    async def fresh_lock(self) -> dict[str, str]:
        name = fresh_name("locked")
        throttle = LoginThrottler(self.env.services.db, ThrottlePolicy(delay_after=100, lock_after=2))
        await throttle.failed(name, None)
        await throttle.failed(name, None)
        return {"key": f"user:{name}"}

    async def fresh_org(self) -> dict[str, str]:
        name = fresh_name("org")
        owner = self.users["owner"]
        await self.env.api("POST", "/organization/", owner, json_body={"name": name}, expect=201)
        await self.env.team(name, "admins", "admin", self.users["orgadmin"].name, who=owner)
        await self.env.team(name, "readers", "member", self.users["member"].name, who=owner)
        return {"org": name}

    async def fresh_quota(self) -> dict[str, str]:
        """A new organization with a quota (one quota per namespace) and no limits."""
        org = (await self.fresh_org())["org"]
        r = await self.env.api(
            "POST",
            f"/organization/{org}/quota",
            self.env.admin,
            json_body={"limit_bytes": 10**12},
            expect=201,
        )
        return {"org": org, "quota_id": str(r.json()["id"])}

    async def fresh_quota_limit(self) -> dict[str, str]:
        found = await self.fresh_quota()
        r = await self.env.api(
            "POST",
            f"/organization/{found['org']}/quota/{found['quota_id']}/limit",
            self.env.admin,
            json_body={"type": "Warning", "threshold_percent": 60},
            expect=201,
        )
        return {**found, "limit_id": str(r.json()["id"])}

    async def fresh_upload(self) -> dict[str, str]:
        r = await self.env.client.post(f"/v2/{self.repo}/blobs/uploads/", headers=self.env.admin.auth)
        assert r.status_code == 202, r.text
        return {"upload": r.headers["location"].rstrip("/").rsplit("/", 1)[1]}

    async def fresh_job(self) -> dict[str, str]:
        """A queued job (due in an hour, so no worker takes it meanwhile): cancellable."""
        job = await self.env.services.jobs.queue.enqueue("uploads.purge", delay_seconds=3600)
        return {"job_id": str(job.id)}

    async def fresh_cancelled_job(self) -> dict[str, str]:
        """A cancelled job: retryable (queued again, due in an hour)."""
        queue = self.env.services.jobs.queue
        job = await queue.enqueue("uploads.purge", delay_seconds=3600)
        await queue.cancel(job.id, SYSTEM)
        return {"job_id": str(job.id)}

    async def fresh_manifest(self) -> dict[str, str]:
        m = json.loads(self.manifest)
        m["annotations"] = {"fresh": fresh_name()}
        raw = json.dumps(m).encode()
        r = await push_manifest(
            self.env.client, self.repo, fresh_name("m"), raw, m["mediaType"], self.env.admin.auth
        )
        assert r.status_code == 201, r.text
        return {"digest": sha256(raw)}

    async def fresh_blob(self) -> dict[str, str]:
        digest = await push_blob(
            self.env.client, self.repo, fresh_name("blob").encode() * 10, self.env.admin.auth
        )
        return {"blob": digest}


async def build_world(env: Env) -> World:
    uid = secrets.token_hex(4)
    users = {
        label: await env.user(uid, label) for label in ("owner", "orgadmin", "member", "stranger", "disabled")
    }
    owner = users["owner"]
    org_a = (await env.org(uid, owner, "orga")).name
    org_b = (await env.org(uid, env.admin, "orgb")).name
    await env.team(org_a, "admins", "admin", users["orgadmin"].name, who=owner)
    await env.team(org_a, "readers", "member", users["member"].name, who=owner)
    robot_a = await env.robot(org_a, "reader", owner)
    robot_b = await env.robot(org_b, "bot")
    repo = f"{org_a}/app"
    await env.repo(repo, owner)
    await env.grant(repo, "team", "readers", "read", owner)
    await env.grant(repo, "robot", robot_a.name, "read", owner)
    image_digest = await env.push(repo, "latest", owner)
    r = await env.client.get(
        f"/v2/{repo}/manifests/latest",
        headers={**owner.auth, "Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert r.status_code == 200
    manifest = r.content
    layer_digest = json.loads(manifest)["layers"][0]["digest"]
    personal = f"{owner.name}/secret"
    await env.push(personal, "latest", owner)
    # the disabled user's own repository, created for them by the superuser: it never logs in
    await env.repo(f"{users['disabled'].name}/own")
    await env.api(
        "PUT",
        f"/superuser/users/{users['disabled'].name}",
        env.admin,
        json_body={"enabled": False},
        expect=200,
    )
    oauth = await env.oauth_token(org_a, users["orgadmin"], ["repo:read"], app_owner=owner)
    r = await env.api(
        "POST", f"/organization/{org_a}/applications", owner, json_body={"name": "ci"}, expect=201
    )
    client_id = r.json()["client_id"]
    r = await env.api(
        "POST",
        f"/organization/{org_a}/prototypes",
        owner,
        json_body={"role": "read", "delegate": {"name": "readers", "kind": "team"}},
        expect=201,
    )
    prototype_id = r.json()["id"]
    r = await env.api(
        "POST",
        "/user/apptoken",
        owner,
        json_body={"title": "ci", "expiration": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        expect=201,
    )
    token_uuid = r.json()["token"]["uuid"]
    await env.api("PUT", "/user/robots/mine", owner, json_body={}, expect=201)
    all_users = dict(users)
    all_users["admin"] = env.admin
    all_users["robot_a"] = robot_a
    all_users["robot_b"] = robot_b
    world = World(
        env,
        uid,
        all_users,
        org_a,
        org_b,
        repo,
        personal,
        image_digest,
        manifest,
        layer_digest,
        oauth,
        client_id,
        prototype_id,
        token_uuid,
        "mine",
    )
    world.upload = (await world.fresh_upload())["upload"]
    for key in ("prune_org", "prune_user", "prune_repo", "imm_org", "imm_user", "imm_repo"):
        world.policies.update(await world.fresh_policy(key))
    world.job = (await world.fresh_job())["job_id"]
    r = await env.api(
        "POST", f"/organization/{org_a}/quota", env.admin, json_body={"limit_bytes": 10**12}, expect=201
    )
    world.quota_id = str(r.json()["id"])
    r = await env.api(
        "POST",
        f"/organization/{org_a}/quota/{world.quota_id}/limit",
        env.admin,
        json_body={"type": "Warning", "threshold_percent": 80},
        expect=201,
    )
    world.limit_id = str(r.json()["id"])
    await env.api(
        "POST",
        f"/organization/{org_a}/quota/{world.quota_id}/limit",
        env.admin,
        json_body={"type": "Reject", "threshold_percent": 100},
        expect=201,
    )
    personal_quota = await env.services.quotas.set(
        owner.name, 10**12, reject_percent=100, warning_percent=None, actor=None
    )
    world.uquota_id = str(personal_quota.id)
    world.ulimit_id = str(personal_quota.limits[0].id)
    for p in PRINCIPALS:
        if p == "anon":
            world.api_headers[p] = {}
            world.v2_headers[p] = {}
        elif p == "oauth":
            world.api_headers[p] = bearer(oauth)
            world.v2_headers[p] = basic("$oauthtoken", oauth)
        else:
            world.api_headers[p] = all_users[p].auth
            world.v2_headers[p] = all_users[p].auth
    return world
