"""Consents: the child's reason for refusing assent, and the supervisor who cleared a giver

Revision ID: 0012_consent_assent
Revises: 0011_idempotency_keys
Create Date: 2026-12-02 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_consent_assent"
down_revision = "0011_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("child_assent_refusal_reason_enc", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("giver_cleared_by_user_id", sa.String(length=32), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_column("giver_cleared_by_user_id")
        batch_op.drop_column("child_assent_refusal_reason_enc")
