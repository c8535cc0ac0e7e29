"""Idempotency keys of API POSTs, and the sender's reference looked up within its sender

Revision ID: 0011_idempotency_keys
Revises: 0008_session_epoch
Create Date: 2026-11-23 10:00:00

`idempotency_keys` holds one row per (caller, Idempotency-Key) for 24 hours: the claim, then
the response (its body encrypted under the data key ring). `GET /api/v1/referrals
?sender_reference=` looks a referral up by its sender's own reference within the sender's
box: an index on (sender_organization_id, sender_reference) makes that one index lookup.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0011_idempotency_keys"
down_revision = "0008_session_epoch"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referrals_sender_reference",
            ["sender_organization_id", "sender_reference"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_sender_reference")
