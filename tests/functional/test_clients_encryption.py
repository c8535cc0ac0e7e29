"""Personal data at rest: never in clear, bound to its row, and readable across key rotation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from referral_hub.clients.crypto import ClientKey, DecryptionError
from referral_hub.clients.models import Client, Consent
from referral_hub.extensions import db
from tests.clients_support import (
    CANARY,
    PPU,
    RW,
    adult_body,
    canary_body,
    create_client,
    create_consent,
    parent_consent_body,
)

NEW_KEY = b"n" * 32


def _all_rows_text() -> str:
    """Every row of every table, as text."""
    chunks = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                chunks.append(json.dumps([str(v) for v in row]))
    return "\n".join(chunks)


def _store_canaries(client, hub) -> tuple[dict, dict]:
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, canary_body())
    consent = create_consent(
        client,
        headers,
        created["id"],
        parent_consent_body(giver_name=CANARY["giver_name"]),
    )
    withdrawn = client.post(
        f"/api/v1/consents/{consent['id']}/withdraw",
        json={"reason": CANARY["reason"]},
        headers=headers,
    )
    assert withdrawn.status_code == 200
    # The owner's read is logged too: the log must not copy what was read.
    assert client.get(f"/api/v1/clients/{created['id']}", headers=headers).status_code == 200
    return created, consent


def test_no_table_holds_a_personal_value_in_clear(client, hub, app):
    _store_canaries(client, hub)
    with app.app_context():
        rows = _all_rows_text()
    assert "v1.test1." in rows  # the ciphertexts are there...
    for name, value in CANARY.items():
        assert value not in rows, name  # ...and the values are not
    assert CANARY["nik"].replace("", " ") not in rows


@pytest.mark.commits  # reads the database file itself
def test_the_sqlite_file_holds_no_personal_value_in_clear(client, hub, app, is_postgres):
    if is_postgres:
        pytest.skip("the database file is SQLite's")
    _store_canaries(client, hub)
    with app.app_context():
        path = Path(db.engine.url.database)
        db.session.remove()
        with db.engine.connect() as conn:
            # Consume the pragma's row: an unread result keeps the pooled connection on an
            # old snapshot, and later tests would not see other connections' writes.
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).all()
        db.engine.dispose()
    files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    content = b"".join(p.read_bytes() for p in files)
    assert len(content) > 0
    for name, value in CANARY.items():
        assert value.encode() not in content, name
        assert value.encode("utf-16-le") not in content, name


def _client_row(app, client_id: str) -> dict:
    with app.app_context():
        row = db.session.execute(
            text("SELECT * FROM clients WHERE id = :id"), {"id": client_id}
        ).mappings()
        return dict(row.one())


def _set_column(app, client_id: str, column: str, value: str) -> None:
    with app.app_context():
        db.session.execute(
            text(f"UPDATE clients SET {column} = :v WHERE id = :id"),  # noqa: S608 (test-chosen name)
            {"v": value, "id": client_id},
        )
        db.session.commit()


def _read(app, client_id: str, attribute: str):
    with app.app_context():
        try:
            return getattr(db.session.get(Client, client_id), attribute)
        finally:
            db.session.remove()


def test_a_ciphertext_moved_to_another_row_or_field_does_not_decrypt(client, hub, app):
    headers = hub.headers(PPU, RW)
    one = create_client(client, headers, adult_body(full_name="Nama Satu", phone="0811111111"))
    two = create_client(client, headers, adult_body(full_name="Nama Dua", address="Jl. Dua"))
    row_one = _client_row(app, one["id"])
    _set_column(app, two["id"], "full_name_enc", row_one["full_name_enc"])
    with pytest.raises(DecryptionError, match="altered or moved"):
        _read(app, two["id"], "full_name")
    _set_column(app, one["id"], "address_enc", row_one["phone_enc"])
    with pytest.raises(DecryptionError):
        _read(app, one["id"], "address")
    assert _read(app, one["id"], "full_name") == "Nama Satu"


def test_one_changed_byte_does_not_decrypt_and_the_api_says_nothing_of_it(client, hub, app):
    headers = hub.headers(PPU, RW)
    one = create_client(client, headers, adult_body(full_name="Nama Satu"))
    token = _client_row(app, one["id"])["full_name_enc"]
    version, body = token.split(".")  # under the client's own key: c1.<body>
    assert version == "c1"
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[len(raw) // 2] ^= 0x80
    tampered = f"{version}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"
    _set_column(app, one["id"], "full_name_enc", tampered)
    with pytest.raises(DecryptionError):
        _read(app, one["id"], "full_name")
    response = client.get(f"/api/v1/clients/{one['id']}", headers=headers)
    assert response.status_code == 500
    assert "full_name" not in response.get_data(as_text=True)


def _every_token(app) -> list[str]:
    with app.app_context():
        tokens = []
        for model in (Client, Consent):
            columns = [c.name for c in model.__table__.columns if c.name.endswith("_enc")]
            for row in db.session.execute(select(*[model.__table__.c[c] for c in columns])):
                tokens.extend(v for v in row if v is not None)
        return tokens


def test_rotation_keeps_every_record_readable_and_moves_it_to_the_new_key(
    client, hub, app, monkeypatch
):
    headers = hub.headers(PPU, RW)
    bodies = [
        canary_body(),
        adult_body(nik="6409011234560011", phone="0811223344", address="Jl. A"),
        adult_body(nik="6409011234560012"),
    ]
    created = [create_client(client, headers, b) for b in bodies]
    consent = create_consent(client, headers, created[0]["id"], parent_consent_body())
    before = [client.get(f"/api/v1/clients/{c['id']}", headers=headers).get_json() for c in created]

    old_ring = dict(app.config["HUB_DATA_KEY_RING"])
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY, **old_ring})
    # Before rotation: old values still read, and the NIK is found under the old key.
    found = client.post(
        "/api/v1/clients/search", json={"nik": CANARY["nik"]}, headers=headers
    ).get_json()
    assert [c["id"] for c in found["items"]] == [created[0]["id"]]

    runner = app.test_cli_runner()
    result = runner.invoke(args=["hub", "rotate-keys", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["current_kid"] == "new"
    # Three clients' keys re-wrapped, three NIK indexes and three name indexes recomputed;
    # the data under the clients' own keys (the consent's giver too) is not touched at all.
    assert summary["rows"] == 6
    assert summary["indexes"] == 6
    assert all(t.startswith("c1.") for t in _every_token(app))
    with app.app_context():
        wrapped = list(db.session.scalars(select(ClientKey.wrapped_key)))
        assert len(wrapped) == 3
        assert all(t.startswith("v1.new.") for t in wrapped)
        assert set(db.session.scalars(select(ClientKey.kid))) == {"new"}

    # The old key can now go: everything reads under the new key alone.
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY})
    after = [client.get(f"/api/v1/clients/{c['id']}", headers=headers).get_json() for c in created]
    assert after == before
    for body in bodies[:2]:
        nik = body["nik"]
        found = client.post("/api/v1/clients/search", json={"nik": nik}, headers=headers).get_json()
        assert found["total"] == 1, nik
    got = client.get(f"/api/v1/consents/{consent['id']}", headers=headers).get_json()
    assert got["giver_name"] == "Ibu Contoh"
    with app.app_context():
        assert set(db.session.scalars(select(Client.nik_index_kid))) == {"new"}

    again = runner.invoke(args=["hub", "rotate-keys"])
    assert again.exit_code == 0
    assert json.loads(again.stdout.strip().splitlines()[-1])["rows"] == 0
    verify = client.get("/api/v1/audit/verify", headers=hub.headers(PPU, "audit:read"))
    assert verify.get_json()["ok"] is True


def test_rotation_stops_on_a_value_it_cannot_read_and_changes_nothing(
    client, hub, app, monkeypatch
):
    headers = hub.headers(PPU, RW)
    created = create_client(client, headers, adult_body(full_name="Nama"))
    before = _client_row(app, created["id"])
    with app.app_context():
        db.session.execute(
            text(
                "UPDATE client_keys SET wrapped_key = replace(wrapped_key, 'v1.test1.', "
                "'v1.gone.') WHERE client_id = :id"
            ),
            {"id": created["id"]},
        )
        db.session.commit()
    old_ring = dict(app.config["HUB_DATA_KEY_RING"])
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY, **old_ring})
    result = app.test_cli_runner().invoke(args=["hub", "rotate-keys"])
    assert result.exit_code == 2
    assert "gone" in result.output
    assert _client_row(app, created["id"]) == before
    with app.app_context():
        assert db.session.get(ClientKey, created["id"]).wrapped_key.startswith("v1.gone.")
