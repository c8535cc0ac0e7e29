"""Counters of failed attempts: sign-in holds per address and source, rate-safe audit

Revision ID: 0014_signin_throttle
Revises: 0013_audit_checkpoints
Create Date: 2026-12-02 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_signin_throttle"
down_revision = "0013_audit_checkpoints"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attempt_counters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("attempt_counters", schema=None) as batch_op:
        batch_op.create_index("ix_attempt_counters_last_at", ["last_at"], unique=False)
        batch_op.create_index("ix_attempt_counters_subject", ["subject"], unique=False)


def downgrade():
    with op.batch_alter_table("attempt_counters", schema=None) as batch_op:
        batch_op.drop_index("ix_attempt_counters_subject")
        batch_op.drop_index("ix_attempt_counters_last_at")
    op.drop_table("attempt_counters")
