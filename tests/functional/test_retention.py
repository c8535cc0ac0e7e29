"""Retention: the hub's default period, a unit's own one set from the command line, and the
list of records past it (numbers only)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from referral_hub.audit.models import AuditEntry
from referral_hub.clients.models import Client
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from tests.clients_support import CANARY
from tests.referrals_support import PPU, Scenario


def _age(app, client_id: str, years: int) -> None:
    with app.app_context():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * years + 2)
        db.session.execute(update(Client).where(Client.id == client_id).values(created_at=past))
        db.session.commit()


def test_records_past_the_period_are_listed_by_number_and_a_unit_sets_its_own(app, client, hub):
    scenario = Scenario(app, client, hub)
    code = scenario.client["code"]
    runner = app.test_cli_runner()
    _age(app, scenario.client["id"], 3)
    listed = runner.invoke(args=["hub", "retention-due"])
    assert listed.exit_code == 0, listed.output
    assert code not in listed.output  # 3 years < the default 5

    app.config["HUB_CLIENT_RETENTION_YEARS"] = 2
    listed = runner.invoke(args=["hub", "retention-due"])
    assert code in listed.output
    assert CANARY["full_name"] not in listed.output

    result = runner.invoke(args=["hub", "retention-set", PPU, "10"])
    assert result.exit_code == 0, result.output
    assert code not in runner.invoke(args=["hub", "retention-due", "--unit", PPU]).output
    assert runner.invoke(args=["hub", "retention-set", PPU, "0"]).exit_code != 0
    assert runner.invoke(args=["hub", "retention-set", PPU, "default"]).exit_code == 0
    assert code in runner.invoke(args=["hub", "retention-due", "--unit", PPU]).output
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.code == PPU))
        assert org.client_retention_years is None
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "organization.retention_changed")
        ).all()
        assert len(actions) == 2  # 10, then default; 0 was refused


def test_open_work_keeps_a_record_off_the_list(app, client, hub):
    scenario = Scenario(app, client, hub)
    scenario.send()
    _age(app, scenario.client["id"], 9)
    from referral_hub.referrals.models import Referral

    with app.app_context():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=9 * 366)
        db.session.execute(update(Referral).values(updated_at=past))
        db.session.commit()
    listed = app.test_cli_runner().invoke(args=["hub", "retention-due"])
    assert scenario.client["code"] not in listed.output
