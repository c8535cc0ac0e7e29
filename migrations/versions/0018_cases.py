"""Cases, service plans and follow-up notes; a referral made from a plan item keeps its case

Revision ID: 0018_cases
Revises: 0017_on_behalf
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_cases'
down_revision = '0017_on_behalf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('organization_id', sa.String(length=32), nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('intake_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('violence_types', sa.JSON(), nullable=False),
    sa.Column('incident_occurred_on', sa.Date(), nullable=True),
    sa.Column('incident_place_type', sa.String(length=32), nullable=True),
    sa.Column('incident_region_code', sa.String(length=16), nullable=True),
    sa.Column('perpetrator_relationship', sa.String(length=32), nullable=True),
    sa.Column('summary_enc', sa.Text(), nullable=True),
    sa.Column('caseworker_id', sa.String(length=32), nullable=True),
    sa.Column('supervisor_id', sa.String(length=32), nullable=True),
    sa.Column('close_reason', sa.String(length=24), nullable=True),
    sa.Column('close_summary_enc', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('created_by_client_id', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['caseworker_id'], ['users.id'], name=op.f('fk_cases_caseworker_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_cases_client_id_clients')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_cases_organization_id_organizations')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_cases_supervisor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_caseworker_id'), ['caseworker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_cases_unit_status', ['organization_id', 'status', 'opened_at'], unique=False)

    op.create_table('case_notes',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('text_enc', sa.Text(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('follow_up_done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('follow_up_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.String(length=32), nullable=True),
    sa.Column('created_by_client_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_case_notes_created_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_notes_follow_up', ['follow_up_on', 'follow_up_done_at'], unique=False)

    op.create_table('case_plan_items',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('provider_organization_id', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('note_enc', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('referral_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_plan_items_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_organization_id'], ['organizations.id'], name=op.f('fk_case_plan_items_provider_organization_id_organizations')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_case_plan_items_referral_id_referrals')),
    sa.ForeignKeyConstraint(['service_code'], ['services.code'], name=op.f('fk_case_plan_items_service_code_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_plan_items'))
    )
    with op.batch_alter_table('case_plan_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_plan_items_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_plan_items_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_plan_items_referral_id'), ['referral_id'], unique=False)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_referrals_case_id_cases'), 'cases', ['case_id'], ['id'])



def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referrals_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))
        batch_op.drop_column('case_id')

    with op.batch_alter_table('case_plan_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_plan_items_referral_id'))
        batch_op.drop_index('ix_case_plan_items_due')
        batch_op.drop_index(batch_op.f('ix_case_plan_items_case_id'))

    op.drop_table('case_plan_items')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_case_notes_follow_up')
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_unit_status')
        batch_op.drop_index(batch_op.f('ix_cases_organization_id'))
        batch_op.drop_index(batch_op.f('ix_cases_client_id'))
        batch_op.drop_index(batch_op.f('ix_cases_caseworker_id'))

    op.drop_table('cases')
