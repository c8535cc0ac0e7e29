"""Migration 0025_intake_external_reference: intakes an organisation sent twice under one
reference before the unique index stay, the first (by receipt) keeping the reference and
each later one its own number appended, so the index builds and then refuses a repeat.

Runs on a database of its own: SQLite, or PostgreSQL next to HUB_TEST_DATABASE_URL's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from referral_hub import create_app
from referral_hub.actors import Actor
from referral_hub.directory.operations import load_partners
from referral_hub.extensions import db
from tests.conftest import REPO

MIGRATIONS = str(REPO / "migrations")
BEFORE = "0024_report_summaries"

INTAKES = sa.table(
    "intakes",
    sa.column("id", sa.String),
    sa.column("number", sa.String),
    sa.column("organization_id", sa.String),
    sa.column("reporting_organization_id", sa.String),
    sa.column("channel", sa.String),
    sa.column("status", sa.String),
    sa.column("immediate_danger", sa.Boolean),
    sa.column("reporter_may_be_contacted", sa.Boolean),
    sa.column("external_reference", sa.String),
    sa.column("victim_region_code", sa.String),
    sa.column("violence_types", sa.JSON),
    sa.column("respond_by", sa.DateTime(timezone=True)),
    sa.column("arrived_at", sa.DateTime(timezone=True)),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


@pytest.fixture
def own_database_url(tmp_path) -> Iterator[str]:
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'mig.sqlite3'}"
        return
    base = make_url(url)
    name = f"{base.database}_mig_{secrets.token_hex(3)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception):
            db.session.remove()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _intake(n: int, unit: str, reporter: str, reference: str | None) -> dict:
    at = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    # Inserted in the reverse of receipt order below: the migration must go by received_at.
    return {
        "id": f"intake{n:026d}",
        "number": f"ADU-PPU-2026-{n:06d}",
        "organization_id": unit,
        "reporting_organization_id": reporter,
        "channel": "api",
        "status": "received",
        "immediate_danger": False,
        "reporter_may_be_contacted": False,
        "external_reference": reference,
        "victim_region_code": "64.09",
        "violence_types": ["physical"],
        "respond_by": at + dt.timedelta(hours=24),
        "arrived_at": at,
        "received_at": at,
        "updated_at": at,
    }


def test_later_duplicates_get_their_number_and_the_index_refuses_a_repeat(
    app_config, own_database_url
):
    app = create_app({**app_config, "HUB_DATABASE_URL": own_database_url})
    long_ref = "R" * 99
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        load_partners(Actor.system("tests"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
        orgs = db.session.execute(sa.text("SELECT id FROM organizations ORDER BY code")).scalars()
        unit, reporter, other = list(orgs)[:3]
        rows = [
            _intake(1, unit, reporter, "APP-7"),
            _intake(2, unit, reporter, "APP-7"),
            _intake(3, unit, reporter, "APP-7"),
            _intake(4, unit, other, "APP-7"),
            _intake(5, unit, reporter, None),
            _intake(6, unit, reporter, None),
            _intake(7, unit, reporter, long_ref),
            _intake(8, unit, reporter, long_ref),
            _intake(9, unit, reporter, "APP-8"),
        ]
        db.session.execute(INTAKES.insert(), list(reversed(rows)))
        db.session.commit()
        db.session.remove()

        upgrade(directory=MIGRATIONS, revision="heads")

        stored = dict(
            db.session.execute(sa.select(INTAKES.c.number, INTAKES.c.external_reference)).all()
        )
        assert stored == {
            "ADU-PPU-2026-000001": "APP-7",
            "ADU-PPU-2026-000002": "APP-7 [ADU-PPU-2026-000002]",
            "ADU-PPU-2026-000003": "APP-7 [ADU-PPU-2026-000003]",
            "ADU-PPU-2026-000004": "APP-7",
            "ADU-PPU-2026-000005": None,
            "ADU-PPU-2026-000006": None,
            "ADU-PPU-2026-000007": long_ref,
            "ADU-PPU-2026-000008": "R" * 78 + " [ADU-PPU-2026-000008]",
            "ADU-PPU-2026-000009": "APP-8",
        }
        assert len(stored["ADU-PPU-2026-000008"]) == 100
        db.session.remove()

        # The index now stands: the same reference again from the same organisation is
        # refused; from another organisation, or without a reference, it is not.
        with db.engine.begin() as conn:
            conn.execute(INTAKES.insert(), [_intake(10, unit, other, "APP-8")])
            conn.execute(INTAKES.insert(), [_intake(11, unit, reporter, None)])
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(INTAKES.insert(), [_intake(12, unit, reporter, "APP-7")])
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(INTAKES.insert(), [_intake(13, unit, other, "APP-7")])
        db.session.remove()
        db.engine.dispose()
