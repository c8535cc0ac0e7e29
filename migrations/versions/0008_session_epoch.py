"""Session epoch of staff accounts: signing out ends every copy of the session

Revision ID: 0008_session_epoch
Revises: 0007_totp
Create Date: 2026-11-22 17:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_session_epoch"
down_revision = "0007_totp"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
