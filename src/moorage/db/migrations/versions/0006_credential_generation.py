"""credential generations: tokens bound to the account's id and generation, not its name

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the accounts (user_account, robot) hold the current generation; the stored tokens hold the
# generation of their account when they were issued
_TABLES = ("user_account", "robot", "ui_session", "app_token", "oauth_token", "oauth_authorization_code")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("credential_generation", sa.BigInteger(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("credential_generation")
