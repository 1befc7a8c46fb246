"""Repositories: /repository (create, list) and /repository/{namespace}/{name...}."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from moorage.api.access import require_repo_role
from moorage.api.auth import ApiCaller, current_caller, get_ctx, require_scope, signed_in
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.pagination import Page
from moorage.api.routes.schemas import Deleted, NamespaceName, RepositoryPath
from moorage.domain.errors import Forbidden, NotFound
from moorage.domain.reference import is_valid_name
from moorage.registry.repositories import RepositoryDetails

router = APIRouter(tags=["repositories"])

Visibility = Literal["public", "private"]


class RepositoryCreate(BaseModel):
    namespace: NamespaceName
    repository: RepositoryPath
    visibility: Visibility = "private"
    description: str | None = Field(None, max_length=4096)


class RepositoryUpdate(BaseModel):
    description: str | None = Field(None, max_length=4096)


class VisibilityChange(BaseModel):
    visibility: Visibility


class RepositoryOut(BaseModel):
    namespace: str | None
    name: str
    full_name: str
    description: str | None
    is_public: bool
    tag_count: int
    created: datetime
    role: str | None = Field(None, description="the caller's role: read, write or admin")
    can_write: bool = False
    can_admin: bool = False


class RepositoryList(BaseModel):
    repositories: list[RepositoryOut]
    next_page: str | None = None


def _out(d: RepositoryDetails, role: str | None) -> RepositoryOut:
    short = d.name.split("/", 1)[1] if d.namespace else d.name
    return RepositoryOut(
        namespace=d.namespace,
        name=short,
        full_name=d.name,
        description=d.description,
        is_public=d.visibility == "public",
        tag_count=d.tag_count,
        created=d.created_at,
        role=role,
        can_write=role in ("write", "admin"),
        can_admin=role == "admin",
    )


@router.post(
    "/repository",
    response_model=RepositoryOut,
    status_code=201,
    summary="Create a repository",
    responses=also((404, "no such namespace"), (409, "the repository exists already")),
)
async def create_repository(
    body: RepositoryCreate, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> RepositoryOut:
    require_scope(caller, "repo:create")
    if not await ctx.authorizer.can_create_in(caller.principal, body.namespace):
        raise Forbidden(f"you cannot create repositories in {body.namespace!r}")
    name = f"{body.namespace}/{body.repository}"
    await ctx.repositories.create(
        name, visibility=body.visibility, description=body.description, actor=caller.actor
    )
    role = await ctx.authorizer.repository_role(caller.principal, name)
    return _out(await ctx.repositories.details(name), role)


@router.get("/repository", response_model=RepositoryList, summary="Repositories the caller can see")
async def list_repositories(
    namespace: str | None = Query(None, description="only this namespace"),
    public: bool = Query(False, description="only public repositories"),
    search: str | None = Query(None, max_length=255, description="substring of the name"),
    page: Page = Depends(),
    caller: ApiCaller = Depends(current_caller),
    ctx: ApiContext = Depends(get_ctx),
) -> RepositoryList:
    visible = await ctx.authorizer.catalog_visibility(caller.principal)
    items = await ctx.repositories.list(
        visible, namespace=namespace, public_only=public, search=search, limit=page.limit, after=page.after
    )
    out = [_out(d, await ctx.authorizer.repository_role(caller.principal, d.name)) for d in items]
    return RepositoryList(
        repositories=out, next_page=page.next_cursor(len(items), items[-1].name if items else None)
    )


@router.post(
    "/repository/{repo:path}/changevisibility",
    response_model=RepositoryOut,
    summary="Make a repository public or private",
)
async def change_visibility(
    repo: str,
    body: VisibilityChange,
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> RepositoryOut:
    await require_repo_role(ctx, caller, repo, "admin")
    await ctx.repositories.set_visibility(repo, body.visibility, caller.actor)
    return _out(await ctx.repositories.details(repo), "admin")


def _endpoint_exists(repo: str) -> None:
    """The catch-all routes below take any path; one that cannot be a repository name (a trailing
    slash, as in Quay's ``/repository/acme/app/autoprunepolicy/``) is an endpoint Moorage lacks."""
    if not is_valid_name(repo):
        raise NotFound(f"no such endpoint: /api/v1/repository/{repo[:300]}")


def register_item_routes() -> None:
    """The catch-all /repository/{repo} routes, added after every more specific router."""

    @item_router.get("/repository/{repo:path}", response_model=RepositoryOut, summary="One repository")
    async def get_repository(
        repo: str, caller: ApiCaller = Depends(current_caller), ctx: ApiContext = Depends(get_ctx)
    ) -> RepositoryOut:
        _endpoint_exists(repo)
        role = await require_repo_role(ctx, caller, repo, "read")
        return _out(await ctx.repositories.details(repo), role)

    @item_router.put(
        "/repository/{repo:path}", response_model=RepositoryOut, summary="Change the description"
    )
    async def update_repository(
        repo: str,
        body: RepositoryUpdate,
        caller: ApiCaller = Depends(signed_in),
        ctx: ApiContext = Depends(get_ctx),
    ) -> RepositoryOut:
        _endpoint_exists(repo)
        await require_repo_role(ctx, caller, repo, "admin")
        if "description" in body.model_fields_set:  # absent: unchanged; null: cleared
            await ctx.repositories.set_description(repo, body.description, caller.actor)
        return _out(await ctx.repositories.details(repo), "admin")

    @item_router.delete(
        "/repository/{repo:path}",
        response_model=Deleted,
        summary="Delete a repository (its tags go; unreferenced blobs become garbage)",
    )
    async def delete_repository(
        repo: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
    ) -> Deleted:
        _endpoint_exists(repo)
        await require_repo_role(ctx, caller, repo, "admin")
        await ctx.repositories.delete(repo, caller.actor)
        return Deleted()


item_router = APIRouter(tags=["repositories"])
register_item_routes()
