"""The demo's intakes: PATBM and Puspaga to PPU, "Lapor Pak!" to Balikpapan, one forwarded,
one overdue; loading again adds nothing."""

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.demo import load_demo
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake.models import Intake
from referral_hub.intake.operations import overdue_intakes


def test_demo_intakes_load_once(app_ctx):
    first = load_demo()
    db.session.commit()
    assert len(first["intakes_created"]) == 4
    assert first["lapor_pak_client"]["client_id"]
    again = load_demo()
    assert again["intakes_created"] == []
    assert again["lapor_pak_client"] is None
    intakes = {i.external_reference: i for i in db.session.scalars(select(Intake))}
    assert intakes["DEMO-ADU-1"].reporting_organization.code == "patbm-ppu"
    assert intakes["DEMO-ADU-2"].status == "triaged"
    app = intakes["DEMO-ADU-3"]
    assert (app.channel, app.reporting_organization.code) == ("app", "dp3akb-balikpapan")
    assert app.organization.code == "uptd-ppa-balikpapan"
    assert app.created_by_client_id
    forwarded = intakes["DEMO-ADU-4"]
    assert forwarded.status == "forwarded"
    assert forwarded.organization.code == "uptd-ppa-balikpapan"
    assert forwarded.number.startswith("ADU-PPU-")
    ppu = Actor.for_organization(find_organization("uptd-ppa-ppu"), "test")
    assert [i["number"] for i in overdue_intakes(ppu)] == [intakes["DEMO-ADU-1"].number]
