"""Repository actions and who may perform them.

Actions follow the Docker token specification: ``pull``, ``push``, ``delete`` on ``repository:<name>``,
and ``*`` on ``registry:catalog``. Every edge (/v2 token endpoint, /v2 Basic auth, REST API, UI, CLI)
asks this class; nothing else decides.

Rules today: superusers may do everything; a user owns the namespace of their name; anyone may pull a
public repository (anonymous callers only when anonymous access is on). Organizations, teams, robots
and explicit grants plug in here.
"""

from __future__ import annotations

from dataclasses import dataclass

from moorage.authz.principal import Principal
from moorage.domain.reference import namespace_of
from moorage.registry.catalog import Visibility
from moorage.registry.repositories import Repositories

ALL_REPO_ACTIONS = frozenset({"pull", "push", "delete"})


@dataclass(frozen=True, slots=True)
class RepoFacts:
    exists: bool
    public: bool


class Authorizer:
    def __init__(self, repositories: Repositories, *, anonymous_access: bool) -> None:
        self.repositories = repositories
        self.anonymous_access = anonymous_access

    async def facts(self, repository: str) -> RepoFacts:
        info = await self.repositories.get(repository)
        return RepoFacts(info is not None, info is not None and info.is_public)

    def repository_actions(self, principal: Principal, repository: str, facts: RepoFacts) -> frozenset[str]:
        """Every action ``principal`` may perform on ``repository``."""
        if principal.superuser:
            return ALL_REPO_ACTIONS
        allowed: set[str] = set()
        if not principal.is_anonymous and namespace_of(repository) == principal.name:
            allowed |= ALL_REPO_ACTIONS
        if facts.public and (self.anonymous_access or not principal.is_anonymous):
            allowed.add("pull")
        return frozenset(allowed)

    async def allowed(self, principal: Principal, repository: str) -> frozenset[str]:
        return self.repository_actions(principal, repository, await self.facts(repository))

    def catalog_visibility(self, principal: Principal) -> Visibility:
        if principal.superuser:
            return Visibility(everything=True)
        namespaces = frozenset() if principal.is_anonymous else frozenset({principal.name})
        public = self.anonymous_access or not principal.is_anonymous
        return Visibility(namespaces=namespaces, public=public)

    def may_list_catalog(self, principal: Principal) -> bool:
        return not principal.is_anonymous or self.anonymous_access
