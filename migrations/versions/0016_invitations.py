"""The partner network: organisations kept in the hub, and invitations to join

Revision ID: 0016_invitations
Revises: 0015_paper_signatures
Create Date: 2026-12-10 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_invitations"
down_revision = "0015_paper_signatures"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contacts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("added_by_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("maintained_in_hub_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_organizations_added_by_id_organizations", "organizations", ["added_by_id"], ["id"]
        )
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_organization_id", sa.String(length=32), nullable=True),
        sa.Column("invited_by_user_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_user_id", sa.String(length=32), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invitations_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_organization_id"],
            ["organizations.id"],
            name=op.f("fk_invitations_invited_by_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_user_id"], ["users.id"], name=op.f("fk_invitations_accepted_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index("ix_invitations_organization_id", ["organization_id"], unique=False)


def downgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_organization_id")
    op.drop_table("invitations")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_organizations_added_by_id_organizations", type_="foreignkey")
        batch_op.drop_column("maintained_in_hub_at")
        batch_op.drop_column("added_by_id")
        batch_op.drop_column("contacts")
