"""Override approval: a legal-basis referral waits as a draft until a supervisor approves it

Revision ID: 0009_referral_approval
Revises: 0008_session_epoch
Create Date: 2026-12-02 07:30:00

Overrides sent before this revision named their supervisor in `approved_by`; they are
recorded as approved by that supervisor when they were sent (what the audit log says of them).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_referral_approval"
down_revision = "0008_session_epoch"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("approval_decided_by_id", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("approval_decided_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_referrals_approval_decided_by_id_users"),
            "users",
            ["approval_decided_by_id"],
            ["id"],
        )
    op.execute(
        "UPDATE referrals SET approval_status = 'approved',"
        " approval_decided_by_id = override_approved_by_id, approval_decided_at = created_at"
        " WHERE legal_basis <> 'consent'"
    )


def downgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_referrals_approval_decided_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("approval_decided_at")
        batch_op.drop_column("approval_decided_by_id")
        batch_op.drop_column("approval_status")
