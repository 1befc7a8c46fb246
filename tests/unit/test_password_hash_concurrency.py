"""argon2 is bounded per process: a burst of logins queues instead of hashing in parallel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from moorage.db.engine import Database
from moorage.db.migrate import upgrade_async
from moorage.identity.passwords import verify_password
from moorage.identity.users import Users


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await upgrade_async(url)
    database = Database(url, fsync=False)
    yield database
    await database.dispose()


async def test_a_burst_of_logins_hashes_at_most_the_configured_number_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = Users(db, hash_concurrency=2)
    await users.create("burst", "correct horse battery")
    lock = threading.Lock()
    running = peak = calls = 0

    def counted(stored: str | None, password: str) -> bool:
        nonlocal running, peak, calls
        with lock:
            running += 1
            calls += 1
            peak = max(peak, running)
        try:
            return verify_password(stored, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr("moorage.identity.users.verify_password", counted)
    results = await asyncio.gather(*(users.authenticate("burst", "correct horse battery") for _ in range(8)))
    assert all(r is not None for r in results)
    assert calls == 8
    assert peak <= 2  # the default executor would run 6 (cores + 4) at once
