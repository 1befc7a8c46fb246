"""Roles and what they allow (Quay's model)."""

from __future__ import annotations

REPO_ROLES = ("read", "write", "admin")
TEAM_ROLES = ("member", "creator", "admin")

# As in Quay, write also allows deleting tags and manifests; admin adds administering the
# repository (permissions, visibility, settings, deleting the repository itself).
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"pull"}),
    "write": frozenset({"pull", "push", "delete"}),
    "admin": frozenset({"pull", "push", "delete"}),
}

_RANK = {"read": 1, "write": 2, "admin": 3}

OAUTH_SCOPES = (
    "repo:read",
    "repo:write",
    "repo:admin",
    "repo:create",
    "org:admin",
    "user:read",
    "user:admin",
    "super:user",
)


def stronger(a: str | None, b: str | None) -> str | None:
    """The stronger of two repository roles (None = no role)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if _RANK[a] >= _RANK[b] else b


def scope_role_cap(scopes: frozenset[str]) -> str | None:
    """The strongest repository role an OAuth token with ``scopes`` may use."""
    if "repo:admin" in scopes:
        return "admin"
    if "repo:write" in scopes:
        return "write"
    if "repo:read" in scopes:
        return "read"
    return None


def weaker(a: str | None, cap: str | None) -> str | None:
    if a is None or cap is None:
        return None
    return a if _RANK[a] <= _RANK[cap] else cap
