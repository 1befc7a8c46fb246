"""Auto-prune policies and immutability rules (Quay's autoprunepolicy and immutabilitypolicy)

Both belong to a namespace (organization or user) or, when ``repository_id`` is set, to one
repository of it; both are named by a uuid in the API, as in Quay.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-03 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def _policy_table(name: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=True),
        *columns,
        sa.Column("tag_pattern_matches", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f(f"fk_{name}_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f(f"fk_{name}_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("uuid", name=op.f(f"uq_{name}_uuid")),
    )
    op.create_index(op.f(f"ix_{name}_namespace_id"), name, ["namespace_id"], unique=False)
    op.create_index(op.f(f"ix_{name}_repository_id"), name, ["repository_id"], unique=False)


def upgrade() -> None:
    _policy_table(
        "autoprune_policy",
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("tag_pattern", sa.String(length=256), nullable=True),
    )
    _policy_table("immutability_policy", sa.Column("tag_pattern", sa.String(length=256), nullable=False))


def downgrade() -> None:
    for name in ("immutability_policy", "autoprune_policy"):
        op.drop_index(op.f(f"ix_{name}_repository_id"), table_name=name)
        op.drop_index(op.f(f"ix_{name}_namespace_id"), table_name=name)
        op.drop_table(name)
