"""Paper signatures: a party's signature recorded from the signed scan, confirmed or disputed

Revision ID: 0015_paper_signatures
Revises: 0014_signin_throttle
Create Date: 2026-12-02 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_paper_signatures"
down_revision = "0014_signin_throttle"
branch_labels = None
depends_on = None

COMPLETE = (
    "(method = 'hub' AND confirmation IS NULL) OR "
    "(method = 'paper' AND document_id IS NOT NULL AND signed_on IS NOT NULL "
    "AND confirmation IN ('pending', 'confirmed', 'disputed'))"
)


def upgrade():
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("method", sa.String(length=8), server_default="hub", nullable=False)
        )
        batch_op.add_column(
            sa.Column("recorded_by_organization_id", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("document_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("signed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("signatory_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("signatory_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("confirmation", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answered_by_user_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("answered_by_client_id", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("answered_by_label", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("dispute_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_agreement_signatures_recorded_by_organization_id_organizations"),
            "organizations",
            ["recorded_by_organization_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_agreement_signatures_document_id_agreement_documents"),
            "agreement_documents",
            ["document_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "signature_method_known", sa.text("method IN ('hub', 'paper')")
        )
        batch_op.create_check_constraint("paper_signature_complete", sa.text(COMPLETE))


def downgrade():
    with op.batch_alter_table("agreement_signatures", schema=None) as batch_op:
        batch_op.drop_constraint("paper_signature_complete", type_="check")
        batch_op.drop_constraint("signature_method_known", type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_agreement_signatures_document_id_agreement_documents"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_agreement_signatures_recorded_by_organization_id_organizations"),
            type_="foreignkey",
        )
        for column in (
            "dispute_reason",
            "answered_by_label",
            "answered_by_client_id",
            "answered_by_user_id",
            "answered_at",
            "confirmation",
            "signatory_title",
            "signatory_name",
            "signed_on",
            "document_id",
            "recorded_by_organization_id",
            "method",
        ):
            batch_op.drop_column(column)
