"""Migration 0023_client_keys moves every client's personal data, the cases' texts included,
from the key ring to the client's own key, and back on downgrade (SQLite file of its own)."""

from __future__ import annotations

import datetime as dt

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from referral_hub import create_app
from referral_hub.actors import Actor
from referral_hub.cases.models import Case, CaseNote
from referral_hub.cases.operations import add_note, open_case
from referral_hub.clients.models import Client
from referral_hub.clients.operations import register_client
from referral_hub.directory.operations import load_partners
from referral_hub.extensions import db
from tests.conftest import REPO

MIGRATIONS = str(REPO / "migrations")


def _stored(client_id: str, case_id: str) -> list[str]:
    """The client's name, the case's summary and its note, as stored."""
    row = db.session.execute(
        text(
            "SELECT c.full_name_enc, k.summary_enc, n.text_enc FROM clients c "
            "JOIN cases k ON k.client_id = c.id JOIN case_notes n ON n.case_id = k.id "
            "WHERE c.id = :client AND k.id = :case"
        ),
        {"client": client_id, "case": case_id},
    ).one()
    return list(row)


def test_personal_data_moves_to_the_clients_key_and_back(app_config, tmp_path):
    config = {**app_config, "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'mig.sqlite3'}"}
    app = create_app(config)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        load_partners(Actor.system("tests"), app.config["HUB_PARTNERS_FILE"])
        unit = Actor.system("tests")
        client = register_client(
            unit,
            organization="uptd-ppa-ppu",
            full_name="Nama Migrasi",
            birth_date=dt.date(1992, 1, 2),
            sex="female",
            domicile_region="64.09",
        )
        db.session.flush()
        ppu = Actor(organization_id=client.organization_id, kind="system", label="tests")
        case = open_case(ppu, {"client": client.id, "risk_level": "low", "summary": "Ringkas"})
        db.session.flush()
        add_note(ppu, case.id, "Catatan migrasi", None)
        db.session.commit()
        ids = (client.id, case.id)
        db.session.remove()

        downgrade(directory=MIGRATIONS, revision="0022_intake")
        values = _stored(*ids)
        assert all(v.startswith("v1.") for v in values), values
        db.session.remove()

        upgrade(directory=MIGRATIONS, revision="heads")
        values = _stored(*ids)
        assert all(v.startswith("c1.") for v in values), values
        assert db.session.get(Client, ids[0]).full_name == "Nama Migrasi"
        assert db.session.get(Case, ids[1]).summary == "Ringkas"
        note = db.session.query(CaseNote).filter_by(case_id=ids[1]).one()
        assert note.text == "Catatan migrasi"
        db.session.remove()
        db.engine.dispose()
