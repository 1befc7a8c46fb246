"""Tags may expire or be immutable; namespaces choose how long ended tags stay restorable (Quay's time machine)

``tag.expires_at``: when set, the tag stops being live at that moment (Quay's per-tag expiration
and the ``quay.expires-after`` label); ``tag.immutable``: the tag may not be moved or deleted
(the API, or the ``quay.immutable=true`` label). ``namespace.tag_expiration_s``: how long a deleted, moved
or expired tag stays restorable in that namespace; NULL means the registry default from the
configuration. Both are the shared ground of expiry, the time machine and garbage collection.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("immutable", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.create_index("ix_tag_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_tag_lifetime_end", ["lifetime_end"], unique=False)
    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tag_expiration_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.drop_column("tag_expiration_s")
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.drop_index("ix_tag_lifetime_end")
        batch_op.drop_index("ix_tag_expires_at")
        batch_op.drop_column("immutable")
        batch_op.drop_column("expires_at")
