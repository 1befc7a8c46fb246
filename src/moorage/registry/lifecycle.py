"""Tag expiration and the time machine (Quay's semantics).

- A tag may carry an expiry (``tag.expires_at``): set with :meth:`TagLifecycle.set_expiration` (API,
  UI, CLI) or by the ``quay.expires-after`` image label at push. It stops being live at that instant
  (``registry.sql.live_tag``); the ``tags.expire`` job later closes its row at ``expires_at``.
- Deleted, moved and expired tags stay restorable for their namespace's window
  (``namespace.tag_expiration_s``, else ``settings.default_tag_expiration_s``):
  :meth:`TagLifecycle.restore` points the tag at a manifest it held within that window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.engine import Database
from moorage.db.models import Manifest, Namespace, Repository, RepositoryManifest, Tag
from moorage.domain.actor import Actor
from moorage.domain.errors import InvalidInput, NotFound, TagImmutable, as_service_error
from moorage.domain.reference import is_valid_tag
from moorage.jobs.types import JobContext, JobHandler, JobResult
from moorage.registry.immutability import check_tag_change
from moorage.registry.manifests import Manifests, TagStart
from moorage.registry.repositories import Repositories
from moorage.registry.sql import insert_ignore, live_tag, lock_repository

#: Audit kinds of this module (Quay's names where Quay has one; Quay records nothing on expiry).
CHANGE_EXPIRATION = "change_tag_expiration"
RESTORE = "revert_tag"
EXPIRED = "tag_expired"
WINDOW_CHANGED = "change_tag_expiration_window"


@dataclass(frozen=True, slots=True)
class ExpirationChange:
    tag: str
    old: datetime | None
    new: datetime | None


@dataclass(frozen=True, slots=True)
class Restored:
    tag: str
    manifest_digest: str
    moved: bool


class TagLifecycle:
    def __init__(
        self,
        db: Database,
        repositories: Repositories,
        manifests: Manifests,
        *,
        default_window_s: int,
        max_expiration_s: int,
        window_options: tuple[int, ...] = (0, 86400, 7 * 86400, 14 * 86400, 28 * 86400),
    ) -> None:
        self.db = db
        self.repositories = repositories
        self.manifests = manifests
        self.default_window_s = default_window_s
        self.max_expiration_s = max_expiration_s
        self.window_options = window_options

    # -- the time machine window
    async def window_of(self, repository: str) -> int:
        """Seconds ended tags of ``repository`` stay restorable (its namespace's choice, else the default)."""
        async with self.db.read() as s:
            return await self._window(s, repository)

    async def namespace_window(self, namespace: str) -> int:
        """The window of a namespace (its ``tag_expiration_s``, else the registry default)."""
        async with self.db.read() as s:
            chosen = (
                await s.execute(select(Namespace.tag_expiration_s).where(Namespace.name == namespace))
            ).scalar()
        return self.default_window_s if chosen is None else int(chosen)

    def check_window(self, seconds: int) -> None:
        """InvalidInput unless ``seconds`` is one of the configured ``window_options``."""
        if seconds not in self.window_options:
            allowed = ", ".join(f"{o} ({human_duration(o)})" for o in self.window_options)
            raise InvalidInput(f"tag_expiration_s must be one of {allowed}; {seconds} is not")

    async def set_namespace_window(self, namespace: str, seconds: int, actor: Actor | None) -> int:
        """Choose a namespace's time machine window among ``window_options`` (InvalidInput otherwise,
        NotFound for an unknown namespace). Audited as ``change_tag_expiration_window``."""
        self.check_window(seconds)
        async with self.db.write() as s:
            row = (
                await s.execute(
                    select(Namespace.id, Namespace.tag_expiration_s).where(Namespace.name == namespace)
                )
            ).first()
            if row is None:
                raise NotFound(f"no user or organization named {namespace!r}")
            if row.tag_expiration_s == seconds:
                return seconds
            await s.execute(update(Namespace).where(Namespace.id == row.id).values(tag_expiration_s=seconds))
            await self.repositories.audit.add(
                s,
                WINDOW_CHANGED,
                actor,
                namespace=namespace,
                tag_expiration_s=seconds,
                old_tag_expiration_s=row.tag_expiration_s,
            )
        return seconds

    async def _window(self, s: AsyncSession, repository: str) -> int:
        chosen = (
            await s.execute(
                select(Namespace.tag_expiration_s)
                .join(Repository, Repository.namespace_id == Namespace.id)
                .where(Repository.name == repository)
            )
        ).scalar()
        return self.default_window_s if chosen is None else int(chosen)

    # -- per-tag expiration
    def check_expiration(self, expires_at: datetime) -> None:
        """InvalidInput unless ``expires_at`` is in the future and at most ``max_expiration_s`` ahead."""
        now = datetime.now(UTC)
        if expires_at <= now:
            raise InvalidInput(
                f"the expiration {expires_at.isoformat(timespec='seconds')} is not in the future"
            )
        if expires_at > now + timedelta(seconds=self.max_expiration_s):
            raise InvalidInput(
                f"the expiration may be at most {human_duration(self.max_expiration_s)} "
                f"({self.max_expiration_s} seconds) from now"
            )

    async def set_expiration(
        self, repository: str, tag: str, expires_at: datetime | None, actor: Actor | None
    ) -> ExpirationChange:
        """Set (or with None clear) when a live tag expires: the one place a tag's expiry changes.

        Refuses an instant that is not in the future or lies more than ``max_expiration_s`` ahead
        (InvalidInput), and a tag that is not live (NotFound). Audited as ``change_tag_expiration``
        unless nothing changes (clearing an expiry that was not set).
        """
        now = datetime.now(UTC)
        if expires_at is not None:
            expires_at = expires_at.astimezone(UTC)
            self.check_expiration(expires_at)
        if not is_valid_tag(tag):
            raise InvalidInput(f"invalid tag {tag[:140]!r}")
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None or not await lock_repository(s, repo.id):
                raise NotFound(f"no repository named {repository!r}")
            row = (
                await s.execute(
                    select(Tag.id, Tag.expires_at).where(
                        Tag.repository_id == repo.id, Tag.name == tag, live_tag(now)
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"no tag {tag!r} in {repository}")
            if expires_at is not None:  # clearing an expiry is always allowed
                try:
                    await check_tag_change(s, repo.id, repository, tag, "expired")
                except TagImmutable as exc:
                    raise as_service_error(exc) from exc
            old = _aware(row.expires_at) if row.expires_at else None
            change = ExpirationChange(tag, old, expires_at)
            if old == expires_at:
                return change
            await s.execute(update(Tag).where(Tag.id == row.id).values(expires_at=expires_at))
            await self.repositories.audit.add(
                s,
                CHANGE_EXPIRATION,
                actor,
                repository=repository,
                tag=tag,
                expiration_date=_iso(expires_at),
                old_expiration_date=_iso(old),
            )
            self.repositories.touch(s, repository)
        return change

    # -- the time machine
    async def restore(self, repository: str, tag: str, digest: str, actor: Actor | None) -> Restored:
        """Point ``tag`` at ``digest`` again, as it was, if the tag held it within the window.

        NotFound when the repository is unknown, when ``tag`` never pointed at ``digest``, when that
        was longer ago than the namespace's window (the message says so), or when the manifest is
        gone; InvalidInput for a malformed tag. The restored row starts now, without expiry (an
        expired tag would otherwise be gone again at once), keeping its immutability. Audited as
        ``revert_tag`` (Quay's kind).
        """
        if not is_valid_tag(tag):
            raise InvalidInput(f"invalid tag {tag[:140]!r}")
        now = datetime.now(UTC)
        async with self.db.write() as s:
            repo = await self.repositories.get_in(s, repository)
            if repo is None or not await lock_repository(s, repo.id):
                raise NotFound(f"no repository named {repository!r}")
            window = await self._window(s, repository)
            rows = (
                await s.execute(
                    select(Tag.lifetime_end, Tag.expires_at, Tag.immutable, Tag.manifest_id)
                    .join(Manifest, Manifest.id == Tag.manifest_id)
                    .where(Tag.repository_id == repo.id, Tag.name == tag, Manifest.digest == digest)
                    .order_by(Tag.id.desc())
                    .limit(1)
                )
            ).first()
            if rows is None:
                raise NotFound(f"tag {tag!r} of {repository} never pointed at {digest}")
            end = _end(rows.lifetime_end, rows.expires_at, now)
            if end is not None and end < now - timedelta(seconds=window):
                raise NotFound(
                    f"tag {tag!r} last pointed at {digest} on {end.isoformat(timespec='seconds')}, "
                    f"outside the time machine window of {repository.split('/')[0]} "
                    f"({human_duration(window)}): it can no longer be restored"
                )
            # a deleted manifest keeps its row until garbage collection: link it back
            await insert_ignore(
                s, RepositoryManifest, {"repository_id": repo.id, "manifest_id": rows.manifest_id}
            )
            try:
                moved = await self.manifests.move_tag_in(
                    s,
                    repo.id,
                    tag,
                    int(rows.manifest_id),
                    actor.name if actor else None,
                    repository,
                    TagStart(None, bool(rows.immutable)),
                )
            except TagImmutable as exc:  # the live tag it would replace may not move
                raise as_service_error(exc) from exc
            await self.repositories.audit.add(
                s, RESTORE, actor, repository=repository, tag=tag, manifest_digest=digest
            )
            self.repositories.touch(s, repository)
        return Restored(tag, digest, moved)

    # -- the expiry job's work
    async def close_expired(self, limit: int) -> list[tuple[str, str]]:
        """Close up to ``limit`` rows whose expiry has passed (``lifetime_end = expires_at``), each
        with a ``tag_expired`` audit entry, in one transaction. Idempotent: a row closed before is
        not selected again. Returns (repository, tag) of the rows closed."""
        now = datetime.now(UTC)
        async with self.db.write() as s:
            due = (
                await s.execute(
                    select(Tag.id, Tag.name, Tag.expires_at, Repository.name.label("repo"), Manifest.digest)
                    .join(Repository, Repository.id == Tag.repository_id)
                    .join(Manifest, Manifest.id == Tag.manifest_id)
                    .where(Tag.lifetime_end.is_(None), Tag.expires_at.is_not(None), Tag.expires_at <= now)
                    .order_by(Tag.expires_at, Tag.id)
                    .limit(limit)
                )
            ).all()
            closed: list[tuple[str, str]] = []
            for r in due:
                res = await s.execute(
                    update(Tag)
                    .where(Tag.id == r.id, Tag.lifetime_end.is_(None))
                    .values(lifetime_end=r.expires_at)
                )
                if res.rowcount == 0:  # type: ignore[attr-defined]
                    continue
                await self.repositories.audit.add(
                    s,
                    EXPIRED,
                    None,
                    repository=r.repo,
                    tag=r.name,
                    digest=r.digest,
                    expiration_date=_iso(_aware(r.expires_at)),
                )
                self.repositories.touch(s, r.repo)
                closed.append((r.repo, r.name))
        return closed


def _end(lifetime_end: datetime | None, expires_at: datetime | None, now: datetime) -> datetime | None:
    if lifetime_end is not None:
        return _aware(lifetime_end)
    if expires_at is not None and _aware(expires_at) <= now:
        return _aware(expires_at)
    return None


def window_choices(options: tuple[int, ...]) -> list[tuple[int, str]]:
    """The window options as (seconds, label) for a form: 0 reads "0s (nothing is kept)"."""
    return [(o, human_duration(o) + (" (nothing is kept)" if o == 0 else "")) for o in options]


def human_duration(seconds: int) -> str:
    """Seconds as the shortest exact Quay duration: 1209600 -> 2w, 90 -> 90s."""
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


#: The job kind that closes expired tag rows (the lead registers its periodic schedule).
EXPIRE_JOB = "tags.expire"


def expire_handler(lifecycle: TagLifecycle, batch: int = 500) -> JobHandler:
    """The ``tags.expire`` job: close every expired row, ``batch`` rows per transaction.

    Idempotent (a closed row is never selected again; a rerun after a crash closes what is left)
    and stops at the next batch when cancelled. Result: ``{"closed": N}``.
    """

    async def handle(job: JobContext) -> JobResult:
        closed = 0
        while not job.cancel_requested():
            done = await lifecycle.close_expired(batch)
            closed += len(done)
            await job.progress(closed, None, f"{closed} expired tags closed")
            if len(done) < batch:
                break
        return {"closed": closed}

    return handle
