"""Reports: the cases as the case report counts them, refreshed by the reports' job

Revision ID: 0024_case_facts
Revises: 0023_client_keys
Create Date: 2026-12-02 17:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_case_facts"
down_revision = "0023_client_keys"
branch_labels = None
depends_on = None


def upgrade():
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
