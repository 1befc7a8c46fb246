"""Page handlers, one module per area. Each module exposes ``routes``."""

from __future__ import annotations

from moorage.ui.pages import account, admin, admin_registry, auth, home, oauth, orgs, repos, robots

MODULES = (auth, home, orgs, robots, repos, account, admin, admin_registry, oauth)
