"""The keyed index of clients' names (finding by name, possible duplicates)

Revision ID: 0020_name_index
Revises: 0019_webhook_rotation
Create Date: 2026-12-10 09:00:00

The terms of the names already registered are built here: each name is decrypted with the
hub's key ring (HUB_DATA_KEYS, as the app that runs the migration has it) and indexed under
the current key, on SQLite and PostgreSQL alike. Nothing is decrypted on downgrade.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_name_index"
down_revision = "0019_webhook_rotation"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    terms = op.create_table(
        "client_name_terms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_name_terms_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_name_terms")),
    )
    with op.batch_alter_table("client_name_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_name_terms_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index("ix_client_name_terms_term", ["term", "kind"], unique=False)
    _index_existing_names(terms)


def _index_existing_names(terms):
    from referral_hub.clients.crypto import decrypt
    from referral_hub.clients.name_index import padded_rows
    from referral_hub.db import new_id

    bind = op.get_bind()
    clients = sa.table(
        "clients",
        sa.column("id", sa.String),
        sa.column("organization_id", sa.String),
        sa.column("full_name_enc", sa.Text),
    )
    after = ""
    while True:
        rows = bind.execute(
            sa.select(clients.c.id, clients.c.organization_id, clients.c.full_name_enc)
            .where(clients.c.id > after)
            .order_by(clients.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        values = []
        for client_id, organization_id, token in rows:
            name = decrypt(token, table="clients", column="full_name_enc", row_id=client_id)
            values += [
                {"id": new_id(), "client_id": client_id, "kind": kind, "kid": kid, "term": term}
                for kind, kid, term in padded_rows(name, organization_id)
            ]
        if values:
            op.bulk_insert(terms, values)
        after = rows[-1][0]


def downgrade():
    with op.batch_alter_table("client_name_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_client_name_terms_term")
        batch_op.drop_index(batch_op.f("ix_client_name_terms_client_id"))
    op.drop_table("client_name_terms")
