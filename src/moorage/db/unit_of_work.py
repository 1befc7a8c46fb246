"""The unit of work: what one write transaction changes besides its own rows.

A service that changes data does it inside ``Database.write()`` (one session, one transaction).
Everything that must happen *with* that change is attached to the same transaction:

- audit rows (``AuditLog.add``) and outbox rows (``events.outbox.Outbox.append``) are inserted
  in the session, so they commit or roll back with the change;
- cache invalidation is collected here (``unit_of_work(s).invalidate(...)`` / ``.acl()``) and
  applied by ``Database.write()`` around the commit: the shared generation slots are bumped
  before the commit and again after it, and on PostgreSQL a ``NOTIFY`` is issued inside the
  transaction, which PostgreSQL delivers if and only if the transaction commits.

There is one invalidation hook for every credential and permission change: ``.acl()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

ACL_SLOT = "\x00acl"
"""The slot bumped by every change that can alter permissions or credentials beyond one repository
(teams, memberships, robots, accounts, tokens); permission decisions and cached logins depend on it."""

ALL_SLOTS = "*"
"""A notification payload meaning "forget everything" (too many slots to name)."""


class UnitOfWork:
    """Collects the cache slots a transaction touched; ``Database.write()`` invalidates them."""

    __slots__ = ("slots",)

    def __init__(self) -> None:
        self.slots: set[str] = set()

    def invalidate(self, *slots: str) -> None:
        """Cached reads of these slots (repository names, or ACL_SLOT) end when this transaction commits."""
        self.slots.update(slots)

    def invalidate_all(self, slots: Iterable[str]) -> None:
        self.slots.update(slots)

    def acl(self) -> None:
        """The one hook for any change to credentials, accounts, teams, robots or permissions."""
        self.slots.add(ACL_SLOT)


def unit_of_work(s: AsyncSession) -> UnitOfWork:
    """The unit of work of the session's current write transaction."""
    uow = s.info.get("uow")
    if uow is None:
        uow = s.info["uow"] = UnitOfWork()
    assert isinstance(uow, UnitOfWork)
    return uow


class Invalidator(Protocol):
    """Applies a committed (or failed) unit of work's invalidations to the caches of this machine."""

    def begin(self, slots: frozenset[str]) -> None:
        """Before the commit: mark the slots as being written (readers stop caching them)."""

    def end(self, slots: frozenset[str]) -> None:
        """After the commit (or a failed commit): move the slots to a new, stable generation."""
