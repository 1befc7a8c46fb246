"""Default permissions (prototypes) get a uuid, their id in the API as in Quay

Existing rows get a fresh random uuid each; the integer primary key stays (rows still refer to it
internally and it keeps listings in creation order).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:20:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

default_permission = sa.table("default_permission", sa.column("id", sa.Integer), sa.column("uuid", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("default_permission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uuid", sa.String(length=36), nullable=True))
    bind = op.get_bind()
    for (row_id,) in bind.execute(sa.select(default_permission.c.id)).all():
        bind.execute(
            default_permission.update()
            .where(default_permission.c.id == row_id)
            .values(uuid=str(uuid.uuid4()))
        )
    with op.batch_alter_table("default_permission", schema=None) as batch_op:
        batch_op.alter_column("uuid", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_default_permission_uuid"), ["uuid"])


def downgrade() -> None:
    with op.batch_alter_table("default_permission", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_default_permission_uuid"), type_="unique")
        batch_op.drop_column("uuid")
