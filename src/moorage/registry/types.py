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


@dataclass(frozen=True, slots=True)
class TagChange:
    """One event of a tag's history, derived from its temporal rows.

    ``kind`` is ``created`` (a new tag), ``moved`` (from ``previous_digest`` to ``digest``) or
    ``deleted`` (it pointed at ``digest``). ``row_id`` is the tag row the event comes from.
    """

    row_id: int
    kind: str
    tag: str
    digest: str
    previous_digest: str | None
    at: datetime
    by: str | None
