"""What the organization and repository settings pages show of auto-prune policies and immutability
rules: the lists, the add/edit forms (``?edit_prune=UUID`` / ``?edit_rule=UUID`` fill them in), and
for a repository what the next auto-prune run would remove now."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from moorage.domain.errors import NotFound
from moorage.domain.pruning import METHODS
from moorage.registry.policies import Scope
from moorage.ui.web import ctx

PRUNE_DEFAULTS = {"method": "number_of_tags", "value": "", "tag_pattern": "", "matches": "true", "uuid": ""}
RULE_DEFAULTS = {"tag_pattern": "", "matches": "true", "uuid": ""}


async def policy_variables(
    request: Request, scope: Scope, base: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Template variables of the two sections; ``base`` is the URL the forms post under."""
    c = ctx(request)
    prune = await c.policies.list_autoprune(scope)
    rules = await c.policies.list_immutability(scope)
    prune_values = dict(PRUNE_DEFAULTS)
    rule_values = dict(RULE_DEFAULTS)
    edit_prune = request.query_params.get("edit_prune", "")[:36]
    edit_rule = request.query_params.get("edit_rule", "")[:36]
    for p in prune:
        if p.uuid == edit_prune:
            prune_values = {
                "method": p.method,
                "value": p.value,
                "tag_pattern": p.tag_pattern or "",
                "matches": "true" if p.tag_pattern_matches else "false",
                "uuid": p.uuid,
            }
    for r in rules:
        if r.uuid == edit_rule:
            rule_values = {
                "tag_pattern": r.tag_pattern,
                "matches": "true" if r.tag_pattern_matches else "false",
                "uuid": r.uuid,
            }
    variables: dict[str, Any] = {
        "policy_base": base,
        "prune_policies": prune,
        "immutability_rules": rules,
        "prune_methods": METHODS,
        "prune_values": prune_values,
        "rule_values": rule_values,
        "prune_error": None,
        "rule_error": None,
        "next_run": None,
    }
    if scope.repository is not None:
        try:
            variables["next_run"] = await c.autoprune.preview_repository(scope.repository)
        except NotFound:
            variables["next_run"] = []
    variables.update(extra or {})
    return variables
