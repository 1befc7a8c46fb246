"""Repositories pushed outside any namespace get one (nothing is deleted)

Before this release a superuser's push to ``nosuchorg/app`` or to a bare ``app`` created a
repository row with no namespace behind it. Pushes like that are refused now; this repairs the rows
they left, keeping every tag and blob:

* ``ns/...`` whose namespace exists by now (an organization created after the push): linked to it.
* ``ns/...`` whose namespace does not exist: an organization ``ns`` is created for it, owned by an
  ``owners`` team holding every superuser, and the repository is linked to it.
* a bare ``app`` (one component): renamed to ``library/app`` (``library/app-<id>`` when that name is
  taken), in an organization ``library`` created as above; should ``library`` be a user's
  namespace, the organization ``moorage-orphans`` is used instead, so no user is handed repositories
  they never pushed.

docs/operations.md ("Repositories without a namespace") describes this for operators.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

CREATED_BY = "migration 0009"

namespace = sa.table(
    "namespace",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("email", sa.String),
    sa.column("created_by", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
team = sa.table(
    "team",
    sa.column("id", sa.Integer),
    sa.column("namespace_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("role", sa.String),
    sa.column("description", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
team_member = sa.table(
    "team_member",
    sa.column("team_id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
user_account = sa.table("user_account", sa.column("id", sa.Integer), sa.column("superuser", sa.Boolean))
repository = sa.table(
    "repository",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("namespace_id", sa.Integer),
)


def _namespace(conn: sa.Connection, name: str) -> tuple[int, str] | None:
    row = conn.execute(sa.select(namespace.c.id, namespace.c.kind).where(namespace.c.name == name)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _create_org(conn: sa.Connection, name: str) -> int:
    now = datetime.now(UTC)
    conn.execute(
        sa.insert(namespace).values(name=name, kind="org", email=None, created_by=CREATED_BY, created_at=now)
    )
    found = _namespace(conn, name)
    assert found is not None
    ns_id = found[0]
    conn.execute(
        sa.insert(team).values(
            namespace_id=ns_id, name="owners", role="admin", description="Administrators", created_at=now
        )
    )
    team_id = conn.execute(
        sa.select(team.c.id).where(team.c.namespace_id == ns_id, team.c.name == "owners")
    ).scalar_one()
    superusers = conn.execute(
        sa.select(user_account.c.id).where(user_account.c.superuser.is_(True))
    ).scalars()
    rows = [{"team_id": team_id, "user_id": uid, "created_at": now} for uid in superusers]
    if rows:
        conn.execute(sa.insert(team_member), rows)
    return ns_id


def _org_id(conn: sa.Connection, name: str) -> int:
    found = _namespace(conn, name)
    return found[0] if found is not None else _create_org(conn, name)


def upgrade() -> None:
    conn = op.get_bind()
    orphans = conn.execute(
        sa.select(repository.c.id, repository.c.name)
        .where(repository.c.namespace_id.is_(None))
        .order_by(repository.c.id)
    ).all()
    for repo_id, name in orphans:
        head, sep, _ = str(name).partition("/")
        if sep:
            ns_id = _org_id(conn, head)
            conn.execute(sa.update(repository).where(repository.c.id == repo_id).values(namespace_id=ns_id))
            continue
        home = "library"
        existing = _namespace(conn, home)
        if existing is not None and existing[1] != "org":
            home = "moorage-orphans"
        ns_id = _org_id(conn, home)
        new_name = f"{home}/{name}"
        taken = conn.execute(sa.select(repository.c.id).where(repository.c.name == new_name)).first()
        if taken is not None:
            new_name = f"{home}/{name}-{repo_id}"
        conn.execute(
            sa.update(repository).where(repository.c.id == repo_id).values(name=new_name, namespace_id=ns_id)
        )


def downgrade() -> None:
    """Nothing to undo: the repaired rows are valid under the previous revision too."""
