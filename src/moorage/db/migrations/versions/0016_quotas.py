"""Storage quotas: quotas and their limits per namespace, and the exact usage kept incrementally

``namespace_quota`` (one per namespace, ``limit_bytes``) and ``quota_limit`` (``Warning`` or
``Reject`` at a percent of the limit) are Quay's quota model. ``namespace_blob`` holds each blob
once per namespace while any repository of that namespace links it, with the blob's size, and
``namespace_usage`` the sum of those sizes, updated in the transaction that links or unlinks.
Both are filled here from the existing links (every namespace gets a usage row).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "namespace_quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("limit_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["namespace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("namespace_id", name="uq_namespace_quota_namespace_id"),
    )
    op.create_table(
        "quota_limit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quota_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["quota_id"], ["namespace_quota.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("quota_id", "kind", "percent", name="uq_quota_limit_kind_percent"),
    )
    op.create_index("ix_quota_limit_quota_id", "quota_limit", ["quota_id"], unique=False)
    op.create_table(
        "namespace_blob",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["blob_id"], ["blob.id"]),
        sa.ForeignKeyConstraint(["namespace_id"], ["namespace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("namespace_id", "blob_id"),
    )
    op.create_index("ix_namespace_blob_blob", "namespace_blob", ["blob_id"], unique=False)
    op.create_table(
        "namespace_usage",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["namespace_id"], ["namespace.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("namespace_id"),
    )
    # backfill: each blob once per namespace, then the sums (every namespace gets a row)
    op.execute(
        "INSERT INTO namespace_blob (namespace_id, blob_id, size) "
        "SELECT pairs.namespace_id, pairs.blob_id, blob.size FROM ("
        "  SELECT DISTINCT repository.namespace_id AS namespace_id, repository_blob.blob_id AS blob_id"
        "  FROM repository_blob JOIN repository ON repository.id = repository_blob.repository_id"
        "  WHERE repository.namespace_id IS NOT NULL"
        ") AS pairs JOIN blob ON blob.id = pairs.blob_id"
    )
    op.execute(
        "INSERT INTO namespace_usage (namespace_id, bytes) "
        "SELECT namespace.id, COALESCE((SELECT SUM(namespace_blob.size) FROM namespace_blob "
        "WHERE namespace_blob.namespace_id = namespace.id), 0) FROM namespace"
    )


def downgrade() -> None:
    op.drop_table("namespace_usage")
    op.drop_index("ix_namespace_blob_blob", table_name="namespace_blob")
    op.drop_table("namespace_blob")
    op.drop_index("ix_quota_limit_quota_id", table_name="quota_limit")
    op.drop_table("quota_limit")
    op.drop_table("namespace_quota")
