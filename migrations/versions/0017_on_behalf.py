"""Partners not on the hub: answers recorded on their behalf; staff contacts

Revision ID: 0017_on_behalf
Revises: 0016_invitations
Create Date: 2026-12-12 09:00:00

The sender records the answers and sessions of a partner that has no one on the hub: the
timeline line and the appointment say so, with how the answer came (encrypted like every
note). Users get a work phone, shown to partner organisations that share an agreement.
Organisations' focal points (`organizations.contacts`) came with 0016_invitations.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_on_behalf"
down_revision = "0016_invitations"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referral_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_behalf", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("on_behalf_note_enc", sa.Text(), nullable=True))
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "recorded_on_behalf", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_phone", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("work_phone")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("recorded_on_behalf")
    with op.batch_alter_table("referral_events", schema=None) as batch_op:
        batch_op.drop_column("on_behalf_note_enc")
        batch_op.drop_column("on_behalf")
