"""Possible duplicates and finding clients by name, through the keyed name index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from referral_hub.clients import operations as ops
from referral_hub.clients.models import Client, ClientNameTerm, Disclosure
from referral_hub.clients.name_index import PADDED_TO
from referral_hub.extensions import db
from tests.clients_support import BONTANG, PPU, RW, actor, adult_body, create_client, years_ago
from tests.portal_sender_support import post, signed_in

NEW_KEY = b"n" * 32


def _register(client, hub, org=PPU, **changes) -> dict:
    return create_client(client, hub.headers(org, RW), adult_body(**changes))


def _matches(app, org=PPU, **criteria) -> dict[str, list[str]]:
    with app.app_context():
        found = ops.possible_matches(actor(org), **criteria)
        return {m.client_id: m.reasons for m in found}


def test_the_same_nik_is_a_match_whatever_the_name(client, hub, app):
    siti = _register(client, hub, full_name="Siti Aminah", nik="6409011234560001")
    found = _matches(app, nik="6409 0112 3456 0001", full_name="Rina Wati")
    assert found == {siti["id"]: ["nik"]}


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Siti Aminah", "Siti Aminnah"),
        ("Nur Aini", "Nuraini"),
        ("Djoko Soesilo", "Joko Susilo"),
        ("Siti Aminah", "Ibu Siti Aminah"),
    ],
)
def test_a_near_spelling_with_a_fitting_age_and_region_is_a_match(client, hub, app, stored, typed):
    her = _register(
        client, hub, full_name=stored, birth_date=years_ago(30).isoformat(), domicile_region="64.09"
    )
    found = _matches(
        app,
        full_name=typed,
        birth_date=years_ago(31),
        region_code="64.09.01",  # a district of the same regency
    )
    assert set(found) == {her["id"]}
    reasons = found[her["id"]]
    assert reasons[0] in ("name_same", "name_close")
    assert reasons[1:] == ["age", "region"]
    # The age may be given in years, as an intake often knows it.
    assert set(_matches(app, full_name=typed, age_years=28)) == {her["id"]}


def test_another_age_another_regency_or_another_name_is_not_a_match(client, hub, app):
    _register(
        client,
        hub,
        full_name="Siti Aminah",
        birth_date=years_ago(30).isoformat(),
        domicile_region="64.09",
    )
    assert _matches(app, full_name="Siti Aminnah", birth_date=years_ago(40)) == {}
    assert _matches(app, full_name="Siti Aminnah", age_years=33) == {}
    assert _matches(app, full_name="Siti Aminnah", region_code="64.71") == {}
    assert _matches(app, full_name="Siti Rahmawati", age_years=30) == {}


def test_another_units_client_is_never_matched_nor_found(client, hub, app):
    _register(client, hub, org=BONTANG, full_name="Kartini Wulandari", nik="6409011234560002")
    assert _matches(app, nik="6409011234560002", full_name="Kartini Wulandari") == {}
    headers = hub.headers(PPU, RW)
    found = client.post("/api/v1/clients/search", json={"name": "Kartini"}, headers=headers)
    assert found.status_code == 200
    assert found.get_json()["total"] == 0
    browser = signed_in(app, hub, PPU)
    page = post(browser, "/clients/search", {"name": "Wulan"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Tidak ada klien unit Anda" in html
    assert "Kartini" not in html


def test_registration_over_the_api_answers_its_possible_matches(client, hub, app):
    headers = hub.headers(PPU, RW)
    first = _register(client, hub, full_name="Siti Aminah")
    assert first["possible_matches"] == []
    second = create_client(client, headers, adult_body(full_name="Siti Aminnah"))
    assert second["possible_matches"] == [
        {"id": first["id"], "reasons": ["name_close", "age", "region"]}
    ]
    checked = client.post(
        "/api/v1/clients/matches",
        json={"full_name": "Nur Aini", "age_years": 30, "domicile_region": "64.09"},
        headers=headers,
    )
    assert checked.status_code == 200
    assert checked.get_json() == {"items": []}
    checked = client.post(
        "/api/v1/clients/matches",
        json={"full_name": "siti aminah", "age_years": 30},
        headers=headers,
    )
    ids = [m["id"] for m in checked.get_json()["items"]]
    assert sorted(ids) == sorted([first["id"], second["id"]])
    assert "Siti" not in checked.get_data(as_text=True)
    # Nothing of a name goes in a URL.
    assert client.get("/api/v1/clients?q=siti", headers=headers).status_code == 422


def test_the_portal_shows_possible_matches_before_registering(app, hub, client):
    her = _register(client, hub, full_name="Siti Aminah", birth_date=years_ago(30).isoformat())
    browser = signed_in(app, hub, PPU)
    form = {
        "full_name": "Siti Aminnah",
        "birth_date": years_ago(30).isoformat(),
        "sex": "female",
        "domicile_region": "64.09",
    }
    shown = post(browser, "/clients/new", form)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "Mungkin sudah terdaftar" in html
    assert her["code"] in html
    assert "Siti Aminah" in html
    assert f"/clients/{her['id']}" in html  # "this is the same person"
    assert 'name="register_new"' in html
    with app.app_context():
        assert db.session.scalars(select(Client)).all()[0].id == her["id"]
        assert len(db.session.scalars(select(Client)).all()) == 1
        shown_reads = db.session.scalars(select(Disclosure)).all()
        assert [(d.client_id, d.categories) for d in shown_reads] == [
            (her["id"], ["demographics", "identity"])
        ]
    registered = post(browser, "/clients/new", {**form, "register_new": "1"})
    assert registered.status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(Client)).all()) == 2


def test_the_search_box_finds_her_by_a_part_of_her_name(app, hub, client):
    her = _register(client, hub, full_name="Siti Aminah binti Ahmad")
    other = _register(client, hub, full_name="Siti Rahmawati")
    browser = signed_in(app, hub, PPU)
    one = post(browser, "/clients/search", {"name": "amin"})
    assert one.status_code == 302
    assert one.headers["Location"].endswith(f"/clients/{her['id']}")
    both = post(browser, "/clients/search", {"name": "siti"})
    html = both.get_data(as_text=True)
    assert both.status_code == 200
    assert her["code"] in html
    assert other["code"] in html
    assert "Siti Rahmawati" in html  # the rows shown name the person...
    with app.app_context():  # ...and each shown row is a logged read of her identity
        reads = {d.client_id for d in db.session.scalars(select(Disclosure))}
    assert reads == {her["id"], other["id"]}
    assert post(browser, "/clients/search", {"name": "si"}).status_code == 422
    api = client.post(
        "/api/v1/clients/search", json={"name": "ahm sit"}, headers=hub.headers(PPU, RW)
    )
    assert [c["id"] for c in api.get_json()["items"]] == [her["id"]]


def test_the_index_pads_every_name_to_the_same_number_of_rows(client, hub, app):
    short = _register(client, hub, full_name="Ani")
    long = _register(client, hub, full_name="Siti Nurhaliza Aminah Rahmawati")
    with app.app_context():
        for created in (short, long):
            terms = db.session.scalars(
                select(ClientNameTerm).where(ClientNameTerm.client_id == created["id"])
            ).all()
            counts = {k: sum(t.kind == k for t in terms) for k in PADDED_TO}
            assert counts == PADDED_TO


@pytest.mark.commits  # reads the database file itself
def test_the_sqlite_file_holds_no_name_term_in_clear(client, hub, app, is_postgres):
    if is_postgres:
        pytest.skip("the database file is SQLite's")
    _register(client, hub, full_name="Kanarinah Zulfikaria")
    with app.app_context():
        path = Path(db.engine.url.database)
        db.session.remove()
        with db.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).all()
        db.engine.dispose()
    content = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    assert b"client_name_terms" in content
    for piece in (b"kanarinah", b"Kanarinah", b"zulfikaria", b"knrn", b"kanar", b"zulf"):
        assert piece not in content, piece


def test_rotation_rebuilds_the_name_index_under_the_new_key(client, hub, app, monkeypatch):
    her = _register(client, hub, full_name="Siti Aminah")
    old_ring = dict(app.config["HUB_DATA_KEY_RING"])
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY, **old_ring})
    assert set(_matches(app, full_name="Siti Aminnah")) == {her["id"]}  # found under the old key
    result = app.test_cli_runner().invoke(args=["hub", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["indexes"] == 1
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": NEW_KEY})
    with app.app_context():
        assert set(db.session.scalars(select(ClientNameTerm.kid))) == {"new"}
    assert set(_matches(app, full_name="Siti Aminnah")) == {her["id"]}
    browser = signed_in(app, hub, PPU)
    assert post(browser, "/clients/search", {"name": "Amin"}).status_code == 302


def test_the_migration_indexes_the_names_already_registered(app_config, tmp_path):
    """0020_name_index indexes the names registered before it (here: the database taken back
    to 0019 with its clients, then upgraded again, as a deployment would run it)."""
    import datetime as dt

    from flask_migrate import downgrade, upgrade

    from referral_hub import create_app
    from referral_hub.actors import Actor
    from referral_hub.clients.operations import register_client
    from referral_hub.directory.operations import load_partners
    from tests.conftest import REPO

    migrations = str(REPO / "migrations")
    config = {**app_config, "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'names.sqlite3'}"}
    other = create_app(config)
    with other.app_context():
        upgrade(directory=migrations, revision="heads")
        load_partners(Actor.system("tests"), other.config["HUB_PARTNERS_FILE"])
        her = register_client(
            Actor.system("tests"),
            organization=PPU,
            full_name="Siti Aminah",
            birth_date=dt.date(1990, 5, 1),
            sex="female",
            domicile_region="64.09",
        )
        db.session.commit()
        her_id = her.id
        db.session.remove()
        downgrade(directory=migrations, revision="0019_webhook_rotation")
        db.session.remove()
        upgrade(directory=migrations, revision="heads")
        assert db.session.query(ClientNameTerm).filter_by(client_id=her_id).count() > 0
        assert _matches_here(full_name="Siti Aminnah") == {her_id}
        db.session.remove()
        db.engine.dispose()


def _matches_here(**criteria) -> set[str]:
    return {m.client_id for m in ops.possible_matches(actor(PPU), **criteria)}
