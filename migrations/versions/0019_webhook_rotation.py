"""A refresh grant's own scope (RFC 6749 6), and webhook secret rotation

Revision ID: 0019_webhook_rotation
Revises: 0018_cases
Create Date: 2026-12-09 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_webhook_rotation"
down_revision = "0018_cases"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("previous_secret_ciphertext", sa.String(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grant_scope", sa.String(length=1000), nullable=True))


def downgrade():
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_column("grant_scope")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_column("secret_rotated_at")
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret_ciphertext")
