"""What the organization pages share: who may see them, their tabs, in-memory pages, readable errors.

Every organization page starts with :func:`load_org`, which applies the REST API's rule
(``require_org_role``): a non-member is told the organization does not exist (404), a member
without the needed role gets 403. The tabs a caller cannot use are not shown at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request

from moorage.authz.access import org_role_at_least, require_org_role
from moorage.domain.errors import RegistryError, ServiceError, as_service_error
from moorage.domain.principal import Principal
from moorage.identity.orgs import OrgInfo
from moorage.ui.web import ctx, require_user

T = TypeVar("T")

ADMIN_TABS = (
    ("robots", "Robot accounts", "robots"),
    ("defaults", "Default permissions", "defaults"),
    ("applications", "OAuth applications", "applications"),
    ("logs", "Usage logs", "logs"),
    ("settings", "Settings", "settings"),
)


@dataclass(frozen=True, slots=True)
class OrgView:
    """An organization as the signed-in caller sees it."""

    info: OrgInfo
    role: str  # member | creator | admin
    principal: Principal
    can_create: bool

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def url(self) -> str:
        return f"/organization/{self.info.name}"

    def tabs(self) -> list[tuple[str, str, str]]:
        """(key, label, href) of the tabs this caller may open."""
        items = [("repositories", "Repositories", self.url), ("teams", "Teams", f"{self.url}/teams")]
        if self.is_admin:
            items += [(key, label, f"{self.url}/{sub}") for key, label, sub in ADMIN_TABS]
        return items


async def load_org(request: Request, org: str, needed: str = "member") -> OrgView:
    """The organization for a page needing ``needed``: sign-in first, 404 for outsiders, 403 below."""
    p = require_user(request)
    c = ctx(request)
    role = await require_org_role(c.authorizer, c.organizations, p, org, needed)
    info = await c.organizations.get(org)
    assert info is not None  # require_org_role answered NotFound otherwise
    can_create = org_role_at_least(role, "creator") and await c.authorizer.can_create_in(p, org)
    return OrgView(info, role, p, can_create)


def slice_page(
    items: Sequence[T], after: str | None, limit: int, key: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """One page of a list the services return whole (sorted by ``key``), and the next cursor."""
    rest = [i for i in items if key(i) > after] if after else list(items)
    page = rest[:limit]
    return page, (key(page[-1]) if len(rest) > limit else None)


def readable(exc: ServiceError | RegistryError) -> tuple[str, int]:
    """A service error as a sentence for the page, and its HTTP status."""
    err = as_service_error(exc)
    text = err.detail.strip() or err.title
    text = text[:1].upper() + text[1:]
    return (text if text.endswith((".", "?", "!")) else text + "."), err.status


async def resolve_delegate_kind(request: Request, namespace: str, kind: str, name: str) -> str:
    """The kind a name typed into a permission form really has, when the chosen kind does not fit:
    ``ns+x`` is a robot; a name that is no user but a team of the organization is that team, and
    the other way round. So a team typed while "user" was selected is found, not refused; a name
    that fits the chosen kind keeps it, and an unknown name is left for the service to refuse."""
    if kind not in ("user", "team", "robot") or not name:
        return kind
    if "+" in name:
        return "robot"
    c = ctx(request)
    is_org = await c.organizations.get(namespace) is not None
    team_names = {t.name for t in await c.organizations.teams(namespace)} if is_org else set()
    if kind == "user" and await c.users.get(name) is None and name in team_names:
        return "team"
    if kind == "team" and name not in team_names and await c.users.get(name) is not None:
        return "user"
    return kind
