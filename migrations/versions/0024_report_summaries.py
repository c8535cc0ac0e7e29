"""Reports: the cases as the case report counts them, and the referral summary's years,
refreshed by the reports' job

Revision ID: 0024_report_summaries
Revises: 0023_client_keys
Create Date: 2026-12-02 17:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_report_summaries"
down_revision = "0023_client_keys"
branch_labels = None
depends_on = None

BUCKETS = 12


def upgrade():
    op.create_table(
        "report_referral_years",
        sa.Column("year", sa.String(length=4), nullable=False),
        sa.Column("sender_organization_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_organization_id", sa.String(length=32), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        *(sa.Column(f"answered_{i}", sa.Integer(), nullable=False) for i in range(BUCKETS)),
        sa.PrimaryKeyConstraint(
            "year",
            "sender_organization_id",
            "recipient_organization_id",
            "service_code",
            name=op.f("pk_report_referral_years"),
        ),
    )
    op.create_table(
        "report_case_facts",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("violence_type", sa.String(length=32), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("place_type", sa.String(length=32), nullable=True),
        sa.Column("perpetrator_relationship", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("case_id", "violence_type", name=op.f("pk_report_case_facts")),
    )
    op.create_index(
        "ix_report_case_facts_unit", "report_case_facts", ["organization_id", "opened_at"]
    )
    op.create_index("ix_report_case_facts_opened", "report_case_facts", ["opened_at"])


def downgrade():
    op.drop_index("ix_report_case_facts_opened", table_name="report_case_facts")
    op.drop_index("ix_report_case_facts_unit", table_name="report_case_facts")
    op.drop_table("report_case_facts")
    op.drop_table("report_referral_years")
