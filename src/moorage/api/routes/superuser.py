"""Superuser administration of accounts: /superuser/users/, locked accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import AliasChoices, BaseModel, Field

from moorage.api.auth import ApiCaller, get_ctx, superuser
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.pagination import Page, paginate
from moorage.api.partial import given
from moorage.api.routes.schemas import Deleted, NamespaceName
from moorage.domain.errors import NotFound
from moorage.identity.secretbox import new_token

router = APIRouter(tags=["superuser"])


class UserRecord(BaseModel):
    username: str
    email: str | None
    super_user: bool
    enabled: bool
    locked_until: str | None = None


class UserListOut(BaseModel):
    users: list[UserRecord]
    next_page: str | None = None


class UserCreate(BaseModel):
    username: NamespaceName
    password: str | None = Field(
        None, min_length=8, max_length=1024, description="generated and returned when absent (Quay)"
    )
    email: str | None = Field(None, max_length=320)
    super_user: bool = False


class CreatedUser(UserRecord):
    password: str | None = Field(None, description="the generated password, when none was given")


class UserUpdate(BaseModel):
    """Only the keys sent change (absent keys keep their value); ``"email": null`` clears it."""

    enabled: bool | None = None
    super_user: bool | None = Field(
        None, validation_alias=AliasChoices("super_user", "superuser"), description="Quay: superuser"
    )
    email: str | None = Field(None, max_length=320)
    password: str | None = Field(None, min_length=8, max_length=1024)


class LockOut(BaseModel):
    key: str
    locked_until: str | None


class LocksOut(BaseModel):
    locked: list[LockOut]
    next_page: str | None = None


async def _locks(ctx: ApiContext) -> dict[str, str]:
    return {
        lock.key.removeprefix("user:"): lock.locked_until.isoformat()
        for lock in await ctx.throttle.locked()
        if lock.key.startswith("user:") and lock.locked_until
    }


@router.get("/superuser/users/", response_model=UserListOut, summary="List user accounts")
async def list_users(
    page: Page = Depends(), _: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> UserListOut:
    users = [u for u in await ctx.users.list() if page.after is None or u.username > page.after][: page.limit]
    locks = await _locks(ctx)
    return UserListOut(
        users=[
            UserRecord(
                username=u.username,
                email=u.email,
                super_user=u.superuser,
                enabled=u.enabled,
                locked_until=locks.get(u.username),
            )
            for u in users
        ],
        next_page=page.next_cursor(len(users), users[-1].username if users else None),
    )


@router.post(
    "/superuser/users/",
    response_model=CreatedUser,
    status_code=201,
    summary="Create a user (without a password: one is generated and returned once)",
    responses=also((409, "the name is taken by a user or an organization")),
)
async def create_user(
    body: UserCreate, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> CreatedUser:
    generated = new_token(32) if body.password is None else None
    password = body.password if generated is None else generated
    assert password is not None
    u = await ctx.users.create(
        body.username, password, superuser=body.super_user, email=body.email, actor=caller.actor
    )
    return CreatedUser(
        username=u.username, email=u.email, super_user=u.superuser, enabled=u.enabled, password=generated
    )


@router.get("/superuser/users/{username}", response_model=UserRecord, summary="One user account")
async def get_user(
    username: str, _: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> UserRecord:
    u = await ctx.users.get(username)
    if u is None:
        raise NotFound(f"no user named {username!r}")
    return UserRecord(
        username=u.username,
        email=u.email,
        super_user=u.superuser,
        enabled=u.enabled,
        locked_until=(await _locks(ctx)).get(u.username),
    )


@router.put("/superuser/users/{username}", response_model=UserRecord, summary="Enable, disable, promote")
async def update_user(
    username: str,
    body: UserUpdate,
    caller: ApiCaller = Depends(superuser),
    ctx: ApiContext = Depends(get_ctx),
) -> UserRecord:
    u = await ctx.users.update(
        username,
        enabled=body.enabled,
        superuser=body.super_user,
        email=given(body, "email", body.email),
        actor=caller.actor,
    )
    if body.password is not None:
        await ctx.users.set_password(username, body.password, caller.actor)
    return UserRecord(username=u.username, email=u.email, super_user=u.superuser, enabled=u.enabled)


@router.delete(
    "/superuser/users/{username}", response_model=Deleted, summary="Delete a user and their repositories"
)
async def delete_user(
    username: str, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await ctx.users.delete(username, caller.actor)
    return Deleted()


@router.get("/superuser/lockedaccounts", response_model=LocksOut, summary="Accounts and addresses locked out")
async def locked(
    page: Page = Depends(), _: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> LocksOut:
    locks, nxt = paginate(await ctx.throttle.locked(), page, lambda lock: lock.key)
    return LocksOut(
        locked=[
            LockOut(key=lock.key, locked_until=lock.locked_until.isoformat() if lock.locked_until else None)
            for lock in locks
        ],
        next_page=nxt,
    )


@router.delete("/superuser/lockedaccounts/{key}", response_model=Deleted, summary="Lift a lock early")
async def unlock(
    key: str, caller: ApiCaller = Depends(superuser), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    if not await ctx.throttle.unlock(key):
        raise NotFound(f"{key!r} is not locked")
    await ctx.audit.record("unlock_account", caller.actor, key=key)
    return Deleted()
