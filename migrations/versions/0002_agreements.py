"""agreements: the MoU registry (agreements, parties, services, signatures, documents)

Revision ID: 0002_agreements
Revises: 0001_foundation
Create Date: 2026-11-22 12:44:45.734355

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002_agreements"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agreements',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('number_key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('response_hours', sa.Integer(), nullable=False),
    sa.Column('signatories', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.String(length=32), nullable=True),
    sa.Column('parties_key', sa.String(length=700), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('fully_signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('termination_reason', sa.Text(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('expiry_notice_days', sa.Integer(), nullable=True),
    sa.Column('created_by_organization_id', sa.String(length=32), nullable=True),
    sa.Column('created_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('created_by_client_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('expires_on > effective_from', name=op.f('ck_agreements_dates_in_order')),
    sa.CheckConstraint('response_hours > 0', name=op.f('ck_agreements_response_hours_positive')),
    sa.ForeignKeyConstraint(['created_by_organization_id'], ['organizations.id'], name=op.f('fk_agreements_created_by_organization_id_organizations')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['agreements.id'], name=op.f('fk_agreements_supersedes_id_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_supersedes_id'), ['supersedes_id'], unique=False)

    op.create_table('agreement_documents',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('agreement_id', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by_organization_id', sa.String(length=32), nullable=True),
    sa.Column('uploaded_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('uploaded_by_client_id', sa.String(length=64), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_documents_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_organization_id'], ['organizations.id'], name=op.f('fk_agreement_documents_uploaded_by_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_documents'))
    )
    with op.batch_alter_table('agreement_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_documents_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('agreement_parties',
    sa.Column('agreement_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_parties_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_agreement_parties_organization_id_organizations')),
    sa.PrimaryKeyConstraint('agreement_id', 'organization_id', name=op.f('pk_agreement_parties'))
    )
    with op.batch_alter_table('agreement_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_parties_organization_id'), ['organization_id'], unique=False)

    op.create_table('agreement_services',
    sa.Column('agreement_id', sa.String(length=32), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_services_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['organizations.id'], name=op.f('fk_agreement_services_provider_id_organizations')),
    sa.ForeignKeyConstraint(['service_code'], ['services.code'], name=op.f('fk_agreement_services_service_code_services')),
    sa.PrimaryKeyConstraint('agreement_id', 'service_code', 'provider_id', name=op.f('pk_agreement_services'))
    )
    with op.batch_alter_table('agreement_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_services_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreement_services_service_code'), ['service_code'], unique=False)

    op.create_table('agreement_signatures',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('agreement_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_signatures_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_agreement_signatures_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_signatures')),
    sa.UniqueConstraint('agreement_id', 'organization_id', name=op.f('uq_agreement_signatures_agreement_id_organization_id'))
    )

    # One live agreement per parties, number (case-insensitive) and version; a withdrawn
    # (terminated) agreement frees its number. Partial indexes work on SQLite and PostgreSQL.
    op.create_index(
        "uq_agreements_parties_number_version",
        "agreements",
        ["parties_key", "number_key", "version"],
        unique=True,
        postgresql_where=sa.text("status != 'terminated'"),
        sqlite_where=sa.text("status != 'terminated'"),
    )


def downgrade():
    op.drop_index("uq_agreements_parties_number_version", table_name="agreements")
    op.drop_table("agreement_signatures")
    with op.batch_alter_table("agreement_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_services_service_code"))
        batch_op.drop_index(batch_op.f("ix_agreement_services_provider_id"))
    op.drop_table("agreement_services")
    with op.batch_alter_table("agreement_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_parties_organization_id"))
    op.drop_table("agreement_parties")
    with op.batch_alter_table("agreement_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_documents_agreement_id"))
    op.drop_table("agreement_documents")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_supersedes_id"))
        batch_op.drop_index(batch_op.f("ix_agreements_status"))
        batch_op.drop_index(batch_op.f("ix_agreements_expires_on"))
    op.drop_table("agreements")
