"""clients: encrypted personal data, code counters, consents, disclosures

Revision ID: 0003_clients
Revises: 0001_foundation
Create Date: 2026-11-22 12:44:27.173801

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_clients'
down_revision = '0002_agreements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clients',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('full_name_enc', sa.Text(), nullable=False),
    sa.Column('nik_enc', sa.Text(), nullable=True),
    sa.Column('nik_index', sa.String(length=64), nullable=True),
    sa.Column('nik_index_kid', sa.String(length=32), nullable=True),
    sa.Column('birth_date_enc', sa.Text(), nullable=False),
    sa.Column('phone_enc', sa.Text(), nullable=True),
    sa.Column('address_enc', sa.Text(), nullable=True),
    sa.Column('guardian_enc', sa.Text(), nullable=True),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('disability', sa.JSON(), nullable=False),
    sa.Column('domicile_region', sa.String(length=16), nullable=False),
    sa.Column('simfoni_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('created_by_client_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_clients_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('code', name=op.f('uq_clients_code')),
    sa.UniqueConstraint('organization_id', 'nik_index', name=op.f('uq_clients_organization_id_nik_index'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clients_organization_id'), ['organization_id'], unique=False)

    op.create_table('code_counters',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_code_counters_organization_id_organizations')),
    sa.PrimaryKeyConstraint('prefix', 'organization_id', 'year', name=op.f('pk_code_counters'))
    )
    op.create_table('consents',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('given_by', sa.String(length=16), nullable=False),
    sa.Column('giver_name_enc', sa.Text(), nullable=True),
    sa.Column('giver_relationship', sa.String(length=64), nullable=True),
    sa.Column('giver_is_alleged_perpetrator', sa.Boolean(), nullable=False),
    sa.Column('client_was_child', sa.Boolean(), nullable=False),
    sa.Column('child_assent', sa.Boolean(), nullable=True),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('recorded_by_client_id', sa.String(length=64), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_reason_enc', sa.Text(), nullable=True),
    sa.Column('withdrawn_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('withdrawn_by_client_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_consents_client_id_clients')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_consents_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consents'))
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_client_id'), ['client_id'], unique=False)

    op.create_table('consent_recipients',
    sa.Column('consent_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consents.id'], name=op.f('fk_consent_recipients_consent_id_consents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_consent_recipients_organization_id_organizations')),
    sa.PrimaryKeyConstraint('consent_id', 'organization_id', name=op.f('pk_consent_recipients'))
    )
    with op.batch_alter_table('consent_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_recipients_organization_id'), ['organization_id'], unique=False)

    op.create_table('disclosures',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('owner_organization_id', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=True),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=True),
    sa.Column('oauth_client_id', sa.String(length=64), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('basis', sa.String(length=64), nullable=False),
    sa.Column('context', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_disclosures_client_id_clients')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_disclosures_organization_id_organizations')),
    sa.ForeignKeyConstraint(['owner_organization_id'], ['organizations.id'], name=op.f('fk_disclosures_owner_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosures'))
    )
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.create_index('ix_disclosures_client_at', ['client_id', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.drop_index('ix_disclosures_client_at')
    op.drop_table('disclosures')
    with op.batch_alter_table('consent_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_recipients_organization_id'))
    op.drop_table('consent_recipients')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_client_id'))
    op.drop_table('consents')
    op.drop_table('code_counters')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_organization_id'))
    op.drop_table('clients')
