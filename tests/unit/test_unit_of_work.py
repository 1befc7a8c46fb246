"""The unit of work: a change, its audit rows, its outbox rows and its cache invalidation commit
together, and invalidation survives a process that dies between its commit and its bump.

The crash tests are real: a second process (``python -c``) shares the database (and, on SQLite,
the machine's generation table) with this one, makes a change with the test-only fault injection
``MOORAGE_TEST_CRASH_AFTER_COMMIT`` set, and is SIGKILLed right after COMMIT, before its
post-commit invalidation. This process, whose caches were warm, must answer from the new state.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from moorage.app import Services, build_services
from moorage.authz.access import create_robot_with_grants
from moorage.config import Settings, load_settings
from moorage.db.listener import InvalidationListener
from moorage.db.migrate import upgrade_async
from moorage.db.models import AuditEntry, OutboxEntry, TeamMember
from moorage.db.unit_of_work import ACL_SLOT, unit_of_work
from moorage.domain.actor import SYSTEM
from moorage.domain.errors import Forbidden, NotFound
from moorage.domain.principal import Principal
from moorage.protocol.auth import Authenticator
from moorage.registry.cache import NotifiedGenerations

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class World:
    backend: str
    settings: Settings
    services: Services
    notified: asyncio.Queue[str]  # PostgreSQL: payloads this process's listener received


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("postgres_database_url")
    return "sqlite", None


@pytest.fixture
async def w(backend: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[World]:
    name, database_url = backend
    (tmp_path / "data").mkdir()
    settings = load_settings(data_dir=tmp_path / "data", database_url=database_url, fsync=False)
    await upgrade_async(settings.resolved_database_url)
    services = build_services(settings)
    notified: asyncio.Queue[str] = asyncio.Queue()
    task = None
    generations = services.repositories.cache.generations
    if isinstance(generations, NotifiedGenerations):
        gens = generations

        def on_payload(payload: str) -> None:
            gens.notified(payload)
            notified.put_nowait(payload)

        listener = InvalidationListener(settings.resolved_database_url, on_payload, gens.listening)
        task = asyncio.create_task(listener.run())
        await asyncio.wait_for(listener.connected.wait(), 10)
    assert services.repositories.cache.enabled, "the caches must be on for this backend by default"
    try:
        yield World(name, settings, services, notified)
    finally:
        if task is not None:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await services.db.dispose()


_SCRIPT = """
import asyncio, sys
from moorage.app import build_services
from moorage.config import load_settings
from moorage.domain.actor import SYSTEM
from moorage.domain.errors import Forbidden, NotFound

async def main():
    data_dir, database_url, op, *args = sys.argv[1:]
    s = build_services(load_settings(data_dir=data_dir, database_url=database_url or None, fsync=False))
    if op == "revoke":
        await s.permissions.remove(args[0], "user", args[1], SYSTEM)
    elif op == "publish":
        await s.repositories.set_visibility(args[0], "public", SYSTEM)
    elif op == "password":
        await s.users.set_password(args[0], args[1], SYSTEM)
    print("survived the commit", flush=True)

asyncio.run(main())
"""


async def crash_after_commit(w: World, crash_on: str, op: str, *args: str) -> None:
    """Run ``op`` in another process that is killed between its commit and its invalidation."""
    env = dict(os.environ, MOORAGE_TEST_CRASH_AFTER_COMMIT=crash_on)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SCRIPT,
        str(w.settings.data_dir),
        w.settings.database_url or "",
        op,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out.decode(), err.decode()[-2000:])
    if w.backend == "postgres":
        # PostgreSQL delivers the NOTIFY sent inside the transaction exactly because it committed,
        # although the writer died before doing anything after COMMIT
        payload = await asyncio.wait_for(w.notified.get(), 10)
        assert crash_on in payload


async def _user(w: World, name: str) -> Principal:
    info = await w.services.users.create(name, "password-" + name, actor=SYSTEM)
    return Principal("user", name, info.id)


async def test_revoked_permission_is_refused_at_once_after_the_writer_crashed(w: World) -> None:
    owner, bob = f"own{secrets.token_hex(4)}", f"bob{secrets.token_hex(4)}"
    await _user(w, owner)
    principal = await _user(w, bob)
    repo = f"{owner}/app"
    await w.services.repositories.create(repo, visibility="private", description=None, actor=SYSTEM)
    await w.services.permissions.set(repo, "user", bob, "read", SYSTEM)
    authz = w.services.authorizer
    assert await authz.repository_role(principal, repo) == "read"  # cached now
    assert await authz.repository_role(principal, repo) == "read"

    await crash_after_commit(w, repo, "revoke", repo, bob)

    assert [g for g in await w.services.permissions.grants(repo) if g.name == bob] == []  # committed
    assert await authz.repository_role(principal, repo) is None


async def test_repository_change_is_seen_at_once_after_the_writer_crashed(w: World) -> None:
    owner = f"own{secrets.token_hex(4)}"
    await _user(w, owner)
    repo = f"{owner}/site"
    await w.services.repositories.create(repo, visibility="private", description=None, actor=SYSTEM)
    before = await w.services.repositories.get(repo)
    assert before is not None
    assert not before.is_public

    await crash_after_commit(w, repo, "publish", repo)

    after = await w.services.repositories.get(repo)
    assert after is not None
    assert after.is_public


async def test_changed_password_ends_cached_login_at_once_after_the_writer_crashed(w: World) -> None:
    carol = f"car{secrets.token_hex(4)}"
    await _user(w, carol)
    auth = Authenticator(w.services.registry)
    # an address of this test's own: failed logins of other tests on the shared database count
    # against 127.0.0.1 and would lock it out (the throttle is per account and per address)
    ip = f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    assert await auth.basic(carol, "password-" + carol, ip, "v2") is not None  # cached now

    await crash_after_commit(w, "acl", "password", carol, "another-password")

    assert await auth.basic(carol, "password-" + carol, ip, "v2") is None
    assert await auth.basic(carol, "another-password", ip, "v2") is not None


async def test_slot_left_in_flight_by_a_dead_writer_is_not_cached(w: World) -> None:
    """After the crash the slot stays "write in flight" (SQLite) until the next write: reads go to
    the database every time rather than being cached, so they follow later changes too."""
    owner = f"own{secrets.token_hex(4)}"
    await _user(w, owner)
    repo = f"{owner}/flight"
    await w.services.repositories.create(repo, visibility="private", description=None, actor=SYSTEM)
    await crash_after_commit(w, repo, "publish", repo)
    info = await w.services.repositories.get(repo)
    assert info is not None
    assert info.is_public
    await w.services.repositories.set_visibility(repo, "private", SYSTEM)
    info = await w.services.repositories.get(repo)
    assert info is not None
    assert not info.is_public
    cache = w.services.repositories.cache
    assert cache.generation(repo) % 2 == 0  # the next write left the slot stable again


async def _counts(w: World, topic: str, kind: str) -> tuple[int, int]:
    async with w.services.db.read() as s:
        outbox = (await s.execute(select(func.count()).where(OutboxEntry.topic == topic))).scalar_one()
        audit = (await s.execute(select(func.count()).where(AuditEntry.kind == kind))).scalar_one()
    return int(outbox), int(audit)


class _Boom(Exception):
    pass


async def test_rolled_back_unit_of_work_leaves_no_outbox_row_audit_row_or_invalidation(w: World) -> None:
    topic, kind = f"test.{secrets.token_hex(4)}", f"k{secrets.token_hex(4)}"
    cache = w.services.repositories.cache
    slot = f"uow/{topic}"
    gen = cache.generation(slot)

    async def change_then_fail() -> None:
        async with w.services.db.write() as s:
            await w.services.audit.add(s, kind, SYSTEM)
            await w.services.outbox.append(s, "event", topic, {"n": 1})
            unit_of_work(s).invalidate(slot)
            raise _Boom

    with pytest.raises(_Boom):
        await change_then_fail()
    assert await _counts(w, topic, kind) == (0, 0)
    assert cache.generation(slot) == gen
    assert await w.services.outbox.pending(topic=topic) == []


async def test_committed_unit_of_work_leaves_exactly_one_outbox_row_with_its_audit_and_invalidation(
    w: World,
) -> None:
    topic, kind = f"test.{secrets.token_hex(4)}", f"k{secrets.token_hex(4)}"
    cache = w.services.repositories.cache
    slot = f"uow/{topic}"
    gen = cache.generation(slot)
    async with w.services.db.write() as s:
        await w.services.audit.add(s, kind, SYSTEM)
        row_id = await w.services.outbox.append(s, "job", topic, {"repository": "a/b", "n": 2})
        uow = unit_of_work(s)
        uow.invalidate(slot)
        uow.acl()
        assert uow.slots == {slot, ACL_SLOT}
    assert await _counts(w, topic, kind) == (1, 1)
    [row] = await w.services.outbox.pending(topic=topic)
    assert (row.id, row.kind, row.topic, row.payload) == (row_id, "job", topic, {"repository": "a/b", "n": 2})
    assert row.delivered_at is None
    assert row.attempts == 0
    assert row.available_at >= row.created_at
    new = cache.generation(slot)
    assert new != gen
    assert new % 2 == 0


async def test_entries_expire_after_their_lifetime(w: World) -> None:
    cache = w.services.repositories.cache
    cache.put("ttl/x", "k", cache.generation("ttl/x"), "value")
    assert cache.get("ttl/x", "k") == "value"
    cache.ttl = 0.0
    cache.put("ttl/x", "k", cache.generation("ttl/x"), "value")
    assert cache.is_miss(cache.get("ttl/x", "k"))


async def test_robot_and_grants_are_one_unit_of_work_checked_inside_the_transaction(w: World) -> None:
    """The web UI's "create a robot with grants" is one service call: the caller's admin rights are
    decided inside the transaction, uncached. Here the caller's membership is removed behind the
    caches' back (as within any invalidation window): the cached decision still says admin, yet
    nothing is created."""
    owner_name, mallory_name = f"own{secrets.token_hex(4)}", f"mal{secrets.token_hex(4)}"
    owner = await _user(w, owner_name)
    mallory = await _user(w, mallory_name)
    org = f"org{secrets.token_hex(4)}"
    svc = w.services
    await svc.organizations.create(org, None, SYSTEM, owner.id or 0)
    await svc.organizations.add_member(org, "owners", mallory_name, SYSTEM)
    repo = f"{org}/app"
    await svc.repositories.create(repo, visibility="private", description=None, actor=SYSTEM)
    assert await svc.authorizer.repository_role(mallory, repo) == "admin"  # cached

    async with svc.db.write() as s:  # no unit-of-work invalidation: the caches are not told
        await s.execute(delete(TeamMember).where(TeamMember.user_id == mallory.id))
    assert await svc.authorizer.repository_role(mallory, repo) == "admin"  # the stale window

    with pytest.raises(Forbidden):
        await create_robot_with_grants(
            svc.authorizer,
            svc.organizations,
            svc.robots,
            svc.permissions,
            mallory,
            org,
            "sneaky",
            description=None,
            expires_at=None,
            grants={repo: "admin"},
            actor=SYSTEM,
        )
    assert [r.name for r in await svc.robots.list(org)] == []
    assert await svc.permissions.grants(repo) == []

    # the owner's call creates the robot and its grant together
    robot = await create_robot_with_grants(
        svc.authorizer,
        svc.organizations,
        svc.robots,
        svc.permissions,
        owner,
        org,
        "builder",
        description=None,
        expires_at=None,
        grants={repo: "write"},
        actor=SYSTEM,
    )
    assert [(g.kind, g.name, g.role) for g in await svc.permissions.grants(repo)] == [
        ("robot", robot.name, "write")
    ]


async def test_robot_is_not_created_when_one_of_its_grants_fails(w: World) -> None:
    owner = await _user(w, f"own{secrets.token_hex(4)}")
    svc = w.services
    repo = f"{owner.name}/app"
    await svc.repositories.create(repo, visibility="private", description=None, actor=SYSTEM)
    with pytest.raises(NotFound):
        await create_robot_with_grants(
            svc.authorizer,
            svc.organizations,
            svc.robots,
            svc.permissions,
            owner,
            owner.name,
            "half",
            description=None,
            expires_at=None,
            grants={repo: "read", f"{owner.name}/missing": "read"},
            actor=SYSTEM,
        )
    assert await svc.robots.list(owner.name) == []
    assert await svc.permissions.grants(repo) == []
