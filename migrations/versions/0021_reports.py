"""Reports: monthly summaries of the referrals refreshed by a job, and the indexes it reads

Revision ID: 0021_reports
Revises: 0020_name_index
Create Date: 2026-12-12 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_reports"
down_revision = "0020_name_index"
branch_labels = None
depends_on = None

BUCKETS = 12


def upgrade():
    op.create_table(
        "report_referral_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sender_organization_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_organization_id", sa.String(length=32), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        *(sa.Column(f"answered_{i}", sa.Integer(), nullable=False) for i in range(BUCKETS)),
        sa.PrimaryKeyConstraint(
            "month",
            "sender_organization_id",
            "recipient_organization_id",
            "service_code",
            name=op.f("pk_report_referral_months"),
        ),
    )
    op.create_table(
        "report_client_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("clients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "organization_id", name=op.f("pk_report_client_months")),
    )
    op.create_table(
        "report_refreshes",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_refreshes")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_updated", ["updated_at"], unique=False)
        batch_op.create_index(
            "ix_referrals_overdue_notified", ["overdue_notified_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_overdue_notified")
        batch_op.drop_index("ix_referrals_updated")
    op.drop_table("report_refreshes")
    op.drop_table("report_client_months")
    op.drop_table("report_referral_months")
