"""Tags with history: /repository/{repo}/tag/ (list), /repository/{repo}/tag/{tag} (move, expiration,
delete), /repository/{repo}/tag/{tag}/restore (the time machine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StrictBool, StrictFloat

from moorage.api.access import require_repo_role
from moorage.api.auth import ApiCaller, current_caller, get_ctx, signed_in
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.pagination import Page
from moorage.api.routes.schemas import Deleted, DigestText, TagName
from moorage.domain.digest import Digest
from moorage.domain.errors import InvalidInput, NotFound, RegistryError, TagImmutable, as_service_error
from moorage.domain.mediatypes import INDEXES
from moorage.domain.reference import is_valid_tag
from moorage.registry.types import TagRow

router = APIRouter(tags=["tags"])


class TagOut(BaseModel):
    name: str
    manifest_digest: str
    media_type: str
    is_manifest_list: bool
    size: int
    start_ts: datetime
    end_ts: datetime | None = Field(
        description="when the tag stopped (history) or will stop (a live tag with an expiration) "
        "pointing here"
    )
    expiration: datetime | None = Field(
        description="Quay's field: the same instant as end_ts; for a live tag, when it expires"
    )
    active: bool
    created_by: str | None
    immutable: bool = Field(
        False, description="the tag may not be moved or deleted (its own mark or an immutability policy)"
    )


class TagList(BaseModel):
    tags: list[TagOut]
    next_page: str | None = None


class TagPage(BaseModel):
    """Quay's numbered pages (``?page=``): ``has_additional`` says whether another page follows."""

    tags: list[TagOut]
    page: int
    has_additional: bool


MAX_PAGED_ROWS = 10_000  # ?page= walks from the start; deeper lists page with next_page


class TagChange(BaseModel):
    """Quay's ChangeTag: either key or both; only the keys sent change anything."""

    manifest_digest: DigestText | None = Field(None, description="point the tag at this manifest")
    expiration: StrictFloat | None = Field(
        None,
        description="when the tag expires, in Unix seconds (in the future, at most max_tag_expiration_s "
        "ahead); null clears it",
    )
    immutable: StrictBool | None = Field(
        None,
        description="mark the tag immutable (true) or lift its own mark (false); repository admins only. "
        "Tags that an immutability policy protects stay immutable until the policy changes",
    )


class TagMoved(BaseModel):
    name: str
    manifest_digest: str | None
    moved: bool
    expiration: datetime | None = Field(None, description="the tag's expiration after the change")
    immutable: bool | None = Field(None, description="the tag's own immutable mark after the change, if sent")


class TagRestore(BaseModel):
    manifest_digest: DigestText | None = Field(None, description="the manifest the tag pointed at")


class TagRestored(BaseModel):
    name: str
    manifest_digest: str
    moved: bool = Field(description="a live tag pointing elsewhere was moved back")


@router.get(
    "/repository/{repo:path}/tag/",
    response_model=TagList | TagPage,
    summary="Tags with digests and sizes; onlyActiveTags=false includes the history",
)
async def list_tags(
    repo: str,
    only_active: bool = Query(True, alias="onlyActiveTags"),
    specific_tag: str | None = Query(None, alias="specificTag", max_length=128),
    page: Page = Depends(),
    page_number: int | None = Query(
        None, alias="page", ge=1, description="Quay's numbered pages of `limit` tags (answers has_additional)"
    ),
    caller: ApiCaller = Depends(current_caller),
    ctx: ApiContext = Depends(get_ctx),
) -> TagList | TagPage:
    await require_repo_role(ctx, caller, repo, "read")
    if page_number is not None:
        if page.after is not None:
            raise InvalidInput("send either page or next_page, not both")
        end = page_number * page.limit
        if end > MAX_PAGED_ROWS:
            raise InvalidInput(f"page * limit may not exceed {MAX_PAGED_ROWS}: page with next_page instead")
        rows = await ctx.tags.page(
            repo, only_active=only_active, specific=specific_tag, limit=end + 1, after=None
        )
        window = rows[end - page.limit : end]
        rules = await ctx.policies.immutable_tags(repo, [r.name for r in window])
        return TagPage(tags=_tags(window, rules), page=page_number, has_additional=len(rows) > end)
    # with the history the cursor is a row id (answered 400, not 500, when it is not one)
    after = page.after if only_active else (str(page.after_id) if page.after else None)
    rows = await ctx.tags.page(
        repo, only_active=only_active, specific=specific_tag, limit=page.limit, after=after
    )
    last = (rows[-1].name if only_active else rows[-1].id) if rows else None
    rules = await ctx.policies.immutable_tags(repo, [r.name for r in rows if r.live(datetime.now(UTC))])
    return TagList(tags=_tags(rows, rules), next_page=page.next_cursor(len(rows), last))


def _tags(rows: Sequence[TagRow], rules: Mapping[str, str]) -> list[TagOut]:
    now = datetime.now(UTC)
    return [
        TagOut(
            name=r.name,
            manifest_digest=r.manifest_digest,
            media_type=r.media_type,
            is_manifest_list=r.media_type in INDEXES,
            size=r.size,
            start_ts=r.lifetime_start,
            end_ts=r.end(now) or r.expires_at,
            expiration=r.end(now) or r.expires_at,
            active=r.live(now),
            created_by=r.created_by,
            immutable=r.immutable if not r.live(now) else (r.immutable or r.name in rules),
        )
        for r in rows
    ]


@router.put(
    "/repository/{repo:path}/tag/{tag}",
    response_model=TagMoved,
    summary="Create or move a tag to a manifest of the repository, and/or set or clear its expiration",
    responses=also(
        (404, "no such repository, manifest, or (expiration only) live tag"),
        (409, "the tag is immutable (the message names the rule)"),
    ),
)
async def change_tag(
    repo: str,
    tag: TagName,
    body: TagChange,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> TagMoved:
    sent = body.model_fields_set
    # Quay: changing a tag's immutability needs admin on the repository, the rest write
    await require_repo_role(ctx, caller, repo, "admin" if "immutable" in sent else "write")
    if not is_valid_tag(tag):
        raise InvalidInput(f"invalid tag {tag[:140]!r}")
    if not sent & {"manifest_digest", "expiration", "immutable"}:
        raise InvalidInput("send manifest_digest, expiration, immutable or a combination")
    if "manifest_digest" in sent and body.manifest_digest is None:
        raise InvalidInput("manifest_digest may not be null")
    if "immutable" in sent and body.immutable is None:
        raise InvalidInput("immutable must be true or false")
    if body.immutable is False:  # lifted first, so a move or expiry sent with it applies
        await ctx.policies.set_tag_immutable(repo, tag, False, caller.actor)
    expires_at: datetime | None = None
    if "expiration" in sent and body.expiration is not None:
        try:
            expires_at = datetime.fromtimestamp(body.expiration, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidInput("expiration is not a valid Unix time") from exc
        ctx.lifecycle.check_expiration(expires_at)  # before anything moves
    moved = False
    if body.manifest_digest is not None:
        try:
            moved = await ctx.manifests.retag(repo, tag, Digest.parse(body.manifest_digest), caller.actor)
        except TagImmutable as exc:
            raise as_service_error(exc) from exc
        except RegistryError as exc:
            if exc.code == "DIGEST_INVALID":
                raise InvalidInput(exc.message) from exc
            raise NotFound(exc.message) from exc
    expiration = None
    if "expiration" in sent:
        change = await ctx.lifecycle.set_expiration(repo, tag, expires_at, caller.actor)
        expiration = change.new
    if body.immutable is True:  # marked last: the move or expiry sent with it still applies
        await ctx.policies.set_tag_immutable(repo, tag, True, caller.actor)
    return TagMoved(
        name=tag,
        manifest_digest=body.manifest_digest,
        moved=moved,
        expiration=expiration,
        immutable=body.immutable,
    )


@router.post(
    "/repository/{repo:path}/tag/{tag}/restore",
    response_model=TagRestored,
    summary="Point a tag back at a manifest it held within the namespace's time machine window",
    responses=also(
        (404, "no such repository, the tag never held the manifest, or that was outside the window")
    ),
)
async def restore_tag(
    repo: str,
    tag: TagName,
    body: TagRestore,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> TagRestored:
    await require_repo_role(ctx, caller, repo, "write")
    if body.manifest_digest is None:
        raise InvalidInput("Missing manifest_digest")
    done = await ctx.lifecycle.restore(repo, tag, body.manifest_digest, caller.actor)
    return TagRestored(name=done.tag, manifest_digest=done.manifest_digest, moved=done.moved)


@router.delete(
    "/repository/{repo:path}/tag/{tag}",
    response_model=Deleted,
    summary="Delete one tag",
    responses=also((409, "the tag is immutable (the message names the rule)")),
)
async def delete_tag(
    repo: str, tag: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await require_repo_role(ctx, caller, repo, "write")
    try:
        await ctx.tags.delete(repo, tag, caller.actor)
    except TagImmutable as exc:
        raise as_service_error(exc) from exc
    except RegistryError as exc:
        raise NotFound(f"no tag {tag!r} in {repo}") from exc
    return Deleted()
