"""Page handlers, one module per area. Each module exposes ``routes``."""

from __future__ import annotations

from moorage.ui.pages import (
    account,
    admin,
    admin_jobs,
    admin_registry,
    auth,
    home,
    oauth,
    org_apps,
    org_defaults,
    org_logs,
    org_teams,
    orgs,
    policies,
    quotas,
    repos,
    robots,
)

MODULES = (
    auth,
    home,
    orgs,
    org_teams,
    robots,
    org_defaults,
    org_apps,
    org_logs,
    policies,
    repos,
    account,
    admin,
    admin_registry,
    admin_jobs,
    quotas,
    oauth,
)
