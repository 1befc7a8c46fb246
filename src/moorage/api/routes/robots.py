"""Robot accounts of organizations (/organization/{org}/robots/...) and of users (/user/robots/...)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from moorage.api.access import require_namespace_admin, require_org_role
from moorage.api.auth import ApiCaller, get_ctx, signed_in, signed_in_user, user_admin
from moorage.api.context import ApiContext
from moorage.api.errors import also
from moorage.api.pagination import Page, paginate
from moorage.api.routes.schemas import (
    Deleted,
    RobotIn,
    RobotList,
    RobotOut,
    RobotPermission,
    RobotPermissions,
    RobotShortname,
)
from moorage.domain.clientcommands import ClientCommands
from moorage.identity.robots import RobotInfo

router = APIRouter(tags=["robots"])


def _out(ctx: ApiContext, r: RobotInfo, token: str | None = None) -> RobotOut:
    token = token or r.token
    login = ClientCommands(ctx.base_url).login("docker", r.name, token) if token else None
    return RobotOut(
        name=r.name,
        description=r.description,
        created=r.created_at,
        expiration=r.expires_at,
        token=token,
        docker_login=login,
    )


async def _list(ctx: ApiContext, namespace: str, page: Page) -> RobotList:
    robots, nxt = paginate(await ctx.robots.list(namespace), page, lambda r: r.shortname)
    return RobotList(robots=[_out(ctx, r) for r in robots], next_page=nxt)


async def _get(ctx: ApiContext, namespace: str, short: str, reveal: bool) -> RobotOut:
    return _out(ctx, await ctx.robots.get(namespace, short, reveal=reveal))


async def _create(ctx: ApiContext, caller: ApiCaller, namespace: str, short: str, body: RobotIn) -> RobotOut:
    r = await ctx.robots.create(
        namespace, short, description=body.description, expires_at=body.expiration, actor=caller.actor
    )
    return _out(ctx, r)


async def _permissions(ctx: ApiContext, namespace: str, short: str) -> RobotPermissions:
    await ctx.robots.get(namespace, short)
    rows = await ctx.permissions.robot_permissions(namespace, short)
    return RobotPermissions(permissions=[RobotPermission(repository=r, role=role) for r, role in rows])


# -- organization robots
@router.get(
    "/organization/{org}/robots", response_model=RobotList, summary="Robot accounts of an organization"
)
async def org_robots(
    org: str,
    page: Page = Depends(),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> RobotList:
    await require_org_role(ctx, caller, org, "admin")
    return await _list(ctx, org, page)


@router.put(
    "/organization/{org}/robots/{shortname}",
    response_model=RobotOut,
    status_code=201,
    summary="Create a robot account (the token is in the answer)",
    responses=also((409, "the robot account exists already")),
)
async def create_org_robot(
    org: str,
    shortname: RobotShortname,
    body: RobotIn,
    caller: ApiCaller = Depends(signed_in_user),
    ctx: ApiContext = Depends(get_ctx),
) -> RobotOut:
    await require_org_role(ctx, caller, org, "admin")
    return await _create(ctx, caller, org, shortname, body)


@router.get(
    "/organization/{org}/robots/{shortname}",
    response_model=RobotOut,
    summary="One robot account with its token (?token=false leaves it out), for administrators",
)
async def get_org_robot(
    org: str,
    shortname: str,
    token: bool = Query(True, description="false: leave the token out (Quay returns it by default)"),
    caller: ApiCaller = Depends(signed_in),
    ctx: ApiContext = Depends(get_ctx),
) -> RobotOut:
    await require_org_role(ctx, caller, org, "admin")
    return await _get(ctx, org, shortname, token)


@router.post(
    "/organization/{org}/robots/{shortname}/regenerate",
    response_model=RobotOut,
    summary="Replace the robot's token",
)
async def regenerate_org_robot(
    org: str, shortname: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> RobotOut:
    await require_org_role(ctx, caller, org, "admin")
    return _out(ctx, await ctx.robots.regenerate(org, shortname, caller.actor))


@router.delete(
    "/organization/{org}/robots/{shortname}", response_model=Deleted, summary="Delete a robot account"
)
async def delete_org_robot(
    org: str, shortname: str, caller: ApiCaller = Depends(signed_in_user), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await require_org_role(ctx, caller, org, "admin")
    await ctx.robots.delete(org, shortname, caller.actor)
    return Deleted()


@router.get(
    "/organization/{org}/robots/{shortname}/permissions",
    response_model=RobotPermissions,
    summary="Repositories granted to a robot",
)
async def org_robot_permissions(
    org: str, shortname: str, caller: ApiCaller = Depends(signed_in), ctx: ApiContext = Depends(get_ctx)
) -> RobotPermissions:
    await require_org_role(ctx, caller, org, "admin")
    return await _permissions(ctx, org, shortname)


# -- the signed-in user's robots
@router.get("/user/robots", response_model=RobotList, summary="The caller's own robot accounts")
async def user_robots(
    page: Page = Depends(), caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> RobotList:
    await require_namespace_admin(ctx, caller, caller.principal.name)
    return await _list(ctx, caller.principal.name, page)


@router.put(
    "/user/robots/{shortname}",
    response_model=RobotOut,
    status_code=201,
    summary="Create a personal robot",
    responses=also((409, "the robot account exists already")),
)
async def create_user_robot(
    shortname: RobotShortname,
    body: RobotIn,
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> RobotOut:
    return await _create(ctx, caller, caller.principal.name, shortname, body)


@router.get("/user/robots/{shortname}", response_model=RobotOut, summary="One personal robot with its token")
async def get_user_robot(
    shortname: str,
    token: bool = Query(True, description="false: leave the token out (Quay returns it by default)"),
    caller: ApiCaller = Depends(user_admin),
    ctx: ApiContext = Depends(get_ctx),
) -> RobotOut:
    return await _get(ctx, caller.principal.name, shortname, token)


@router.post(
    "/user/robots/{shortname}/regenerate", response_model=RobotOut, summary="Replace a personal robot's token"
)
async def regenerate_user_robot(
    shortname: str, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> RobotOut:
    return _out(ctx, await ctx.robots.regenerate(caller.principal.name, shortname, caller.actor))


@router.delete("/user/robots/{shortname}", response_model=Deleted, summary="Delete a personal robot")
async def delete_user_robot(
    shortname: str, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> Deleted:
    await ctx.robots.delete(caller.principal.name, shortname, caller.actor)
    return Deleted()


@router.get(
    "/user/robots/{shortname}/permissions",
    response_model=RobotPermissions,
    summary="Repositories granted to a personal robot",
)
async def user_robot_permissions(
    shortname: str, caller: ApiCaller = Depends(user_admin), ctx: ApiContext = Depends(get_ctx)
) -> RobotPermissions:
    return await _permissions(ctx, caller.principal.name, shortname)
