"""Frozen datatypes the registry services return (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    id: int
    name: str
    namespace: str | None
    visibility: str

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class UploadInfo:
    id: str
    repository: str
    size: int


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    digest: str
    media_type: str
    content: bytes
    subject_digest: str | None = None


@dataclass(frozen=True, slots=True)
class ReferrerDescriptor:
    media_type: str
    digest: str
    size: int
    artifact_type: str | None
    annotations: dict[str, str]


@dataclass(frozen=True, slots=True)
class PutManifestResult:
    digest: str
    subject_digest: str | None


@dataclass(frozen=True, slots=True)
class TagRecord:
    name: str
    manifest_digest: str
    lifetime_start: datetime
    lifetime_end: datetime | None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TagRow:
    id: int
    name: str
    manifest_digest: str
    media_type: str
    size: int
    lifetime_start: datetime
    lifetime_end: datetime | None
    created_by: str | None
    artifact_type: str | None = None
    expires_at: datetime | None = None
    immutable: bool = False

    def end(self, now: datetime) -> datetime | None:
        """When this row stopped being live: its lifetime_end, or its expiry once that has passed."""
        if self.lifetime_end is not None:
            return self.lifetime_end
        if self.expires_at is not None and self.expires_at <= now:
            return self.expires_at
        return None

    def live(self, now: datetime) -> bool:
        return self.end(now) is None


@dataclass(frozen=True, slots=True)
class TagChange:
    """One event of a tag's history, derived from its temporal rows.

    ``kind`` is ``created`` (a new tag), ``moved`` (from ``previous_digest`` to ``digest``),
    ``deleted`` or ``expired`` (it pointed at ``digest``). ``row_id`` is the tag row the event comes from.
    """

    row_id: int
    kind: str
    tag: str
    digest: str
    previous_digest: str | None
    at: datetime
    by: str | None
