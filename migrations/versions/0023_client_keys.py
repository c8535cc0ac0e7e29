"""Per-client data keys, erasure, rectifications and a unit's retention: a client's personal
data moves from the key ring to the client's own key (wrapped by the ring)

Revision ID: 0023_client_keys
Revises: 0022_intake
Create Date: 2026-12-10 12:00:00

The data step runs with the app's key ring (``flask db upgrade`` inside the app): each client
gets a random key, wrapped under the ring's current key, and every value of that client's
personal data is decrypted under the ring and sealed again under the client's key, bound to
the same table, column and row (and the client). Batches of clients keep memory flat; on
PostgreSQL the whole upgrade is one transaction, so it happens entirely or not at all.
"""

import os

import sqlalchemy as sa
from alembic import op
from flask import current_app

from referral_hub.clients import crypto

# revision identifiers, used by Alembic.
revision = "0023_client_keys"
down_revision = "0022_intake"
branch_labels = None
depends_on = None

#: table -> (columns under the client's key, how a row reaches its client)
CLIENT_DATA = {
    "clients": (
        ("full_name_enc", "nik_enc", "birth_date_enc", "phone_enc", "address_enc", "guardian_enc"),
        "SELECT id, id AS client_id, {cols} FROM clients",
    ),
    "consents": (
        ("giver_name_enc", "withdrawal_reason_enc", "child_assent_refusal_reason_enc"),
        "SELECT id, client_id, {cols} FROM consents",
    ),
    "referrals": (
        (
            "reason_enc",
            "override_justification_enc",
            "case_data_enc",
            "status_reason_enc",
            "outcome_summary_enc",
        ),
        "SELECT id, client_id, {cols} FROM referrals",
    ),
    "referral_events": (
        ("note_enc", "on_behalf_note_enc"),
        "SELECT e.id, r.client_id, {cols} FROM referral_events e "
        "JOIN referrals r ON r.id = e.referral_id",
    ),
    "appointments": (
        ("location_enc", "note_enc"),
        "SELECT a.id, r.client_id, {cols} FROM appointments a "
        "JOIN referrals r ON r.id = a.referral_id",
    ),
    "cases": (
        ("summary_enc", "close_summary_enc"),
        "SELECT id, client_id, {cols} FROM cases",
    ),
    "case_plan_items": (
        ("note_enc",),
        "SELECT p.id, c.client_id, {cols} FROM case_plan_items p JOIN cases c ON c.id = p.case_id",
    ),
    "case_notes": (
        ("text_enc",),
        "SELECT n.id, c.client_id, {cols} FROM case_notes n JOIN cases c ON c.id = n.case_id",
    ),
}


def upgrade():
    op.create_table(
        "client_keys",
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=True),
        sa.Column("kid", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_keys_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_keys")),
    )
    op.create_table(
        "rectifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("before_enc", sa.Text(), nullable=False),
        sa.Column("after_enc", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("oauth_client_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_rectifications_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_rectifications_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectifications")),
    )
    with op.batch_alter_table("rectifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rectifications_client_id"), ["client_id"], unique=False
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erased_by_user_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("erasure_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("erased_age_band", sa.String(length=8), nullable=True))
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_retention_years", sa.Integer(), nullable=True))
    _to_client_keys(op.get_bind())


def downgrade():
    _to_key_ring(op.get_bind())
    # Dropped in place (SQLite 3.35+ drops a plain column): copying these tables, as a batch
    # would on SQLite, fails on the foreign keys that point at them.
    with op.batch_alter_table("organizations", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("client_retention_years")
    with op.batch_alter_table("clients", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("erased_age_band")
        batch_op.drop_column("erasure_reason")
        batch_op.drop_column("erased_by_user_id")
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("rectifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rectifications_client_id"))
    op.drop_table("rectifications")
    op.drop_table("client_keys")


def _ring():
    return current_app.config["HUB_DATA_KEY_RING"]


def _client_keys(bind, ring, create: bool) -> dict[str, bytes]:
    keys = {
        row.client_id: crypto.unwrap_client_key(row.wrapped_key, row.client_id, ring)
        for row in bind.execute(
            sa.text("SELECT client_id, wrapped_key FROM client_keys WHERE wrapped_key IS NOT NULL")
        )
    }
    if create:
        for (client_id,) in bind.execute(sa.text("SELECT id FROM clients")).all():
            if client_id in keys:
                continue
            key = os.urandom(32)
            wrapped = crypto.wrap_client_key(key, client_id, ring)
            bind.execute(
                sa.text(
                    "INSERT INTO client_keys (client_id, wrapped_key, kid, created_at) "
                    "VALUES (:c, :w, :k, CURRENT_TIMESTAMP)"
                ),
                {"c": client_id, "w": wrapped, "k": crypto.kid_of(wrapped)},
            )
            keys[client_id] = key
    return keys


def _convert(bind, seal) -> None:
    for table, (columns, select) in CLIENT_DATA.items():
        rows = bind.execute(sa.text(select.format(cols=", ".join(columns)))).mappings().all()
        for row in rows:
            changes = {}
            for column in columns:
                token = row[column]
                if token is None:
                    continue
                new = seal(token, table=table, column=column, row=row)
                if new is not None and new != token:
                    changes[column] = new
            if changes:
                sets = ", ".join(f"{c} = :{c}" for c in changes)
                bind.execute(
                    # Table and column names come from CLIENT_DATA, values are bound.
                    sa.text(f"UPDATE {table} SET {sets} WHERE id = :row_id"),  # noqa: S608
                    {**changes, "row_id": row["id"]},
                )


def _to_client_keys(bind) -> None:
    ring = _ring()
    keys = _client_keys(bind, ring, create=True)

    def seal(token, *, table, column, row):
        if not token.startswith(crypto.FORMAT_VERSION + "."):
            return None
        place = {"table": table, "column": column, "row_id": row["id"]}
        plain = crypto.decrypt(token, ring=ring, **place)
        client_id = row["client_id"]
        return crypto.seal_for_client(plain, keys[client_id], client_id=client_id, **place)

    _convert(bind, seal)


def _to_key_ring(bind) -> None:
    ring = _ring()
    keys = _client_keys(bind, ring, create=False)

    def unseal(token, *, table, column, row):
        client_id = row["client_id"]
        if not token.startswith(crypto.CLIENT_FORMAT + ".") or client_id not in keys:
            return None  # an erased client's values stay noise
        place = {"table": table, "column": column, "row_id": row["id"]}
        plain = crypto.open_for_client(token, keys[client_id], client_id=client_id, **place)
        return crypto.encrypt(plain, ring=ring, **place)

    _convert(bind, unseal)
