"""Demo intakes, through the same operations as everyone else; fictional, marked DEMO-ADU.

PATBM PPU and Puspaga PPU report to UPTD PPA PPU (DEMO/PKS/007); the "Lapor Pak!
Balikpapan" app, an OAuth client of DP3AKB Balikpapan, reports to UPTD PPA Balikpapan
(DEMO/PKS/014); a PATBM report about a victim living in Balikpapan is forwarded there
(DEMO/PKS/008); one report came in three hours ago in immediate danger and is overdue (its
arrival is set back, so the supervisor's home page has something to show).
Loading again adds nothing: intakes are matched by their external reference.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.db import utcnow
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.intake import operations as ops
from referral_hub.intake.models import Intake
from referral_hub.intake.operations.clock import start_clock
from referral_hub.oauth.models import OAuthClient
from referral_hub.oauth.operations import create_client

LAPOR_PAK = "Lapor Pak! Balikpapan"
LAPOR_PAK_OFFICE = "dp3akb-balikpapan"


def _victim(region: str, age: int, sex: str, hint: str) -> dict[str, Any]:
    return {
        "name": "Demo Korban",
        "age_years": age,
        "sex": sex,
        "region_code": region,
        "location_hint": hint,
    }


#: (reference, reporter, unit, channel, victim, violence types, summary, danger, then)
DEMO_INTAKES: tuple[tuple[Any, ...], ...] = (
    (
        "DEMO-ADU-1",
        "patbm-ppu",
        "uptd-ppa-ppu",
        "patbm",
        _victim("64.09", 10, "female", "Demo: RT 03, dekat sekolah dasar"),
        ["physical", "psychological"],
        "Demo: anak sering terlihat memar, tetangga mendengar teriakan malam hari.",
        True,
        "overdue",
    ),
    (
        "DEMO-ADU-2",
        "puspaga-ppu",
        "uptd-ppa-ppu",
        "puspaga",
        _victim("64.09", 34, "female", "Demo: datang ke konseling keluarga Puspaga"),
        ["psychological"],
        "Demo: ibu rumah tangga bercerita sering diancam suami.",
        False,
        "triage",
    ),
    (
        "DEMO-ADU-3",
        LAPOR_PAK_OFFICE,
        "uptd-ppa-balikpapan",
        "app",
        _victim("64.71", 15, "female", "Demo: laporan warga lewat aplikasi"),
        ["sexual"],
        "Demo: remaja dilaporkan diganggu orang dewasa di lingkungan rumah.",
        False,
        None,
    ),
    (
        "DEMO-ADU-4",
        "patbm-ppu",
        "uptd-ppa-ppu",
        "patbm",
        _victim("64.71", 8, "male", "Demo: tinggal bersama nenek di Balikpapan"),
        ["neglect"],
        "Demo: anak dari PPU, kini tinggal di Balikpapan, ditelantarkan.",
        False,
        "forward",
    ),
)


def _lapor_pak(actor: Actor) -> tuple[Actor, dict[str, str] | None]:
    """The app's OAuth client (created once; its secret is shown only then)."""
    office = find_organization(LAPOR_PAK_OFFICE)
    assert office is not None, f"partners.yaml lacks {LAPOR_PAK_OFFICE}"
    client = db.session.scalar(
        select(OAuthClient).where(
            OAuthClient.organization_id == office.id, OAuthClient.name == LAPOR_PAK
        )
    )
    created = None
    if client is None:
        client, secret = create_client(
            actor, organization=LAPOR_PAK_OFFICE, name=LAPOR_PAK, scope="intakes:read intakes:write"
        )
        db.session.flush()
        created = {"client_id": client.client_id, "client_secret": secret or ""}
    return Actor.for_client(client), created


def load_demo_intakes() -> dict[str, Any]:
    """Create the demo intakes that do not exist yet."""
    system = Actor.system("cli:demo")
    app_actor, app_client = _lapor_pak(system)
    made: list[str] = []
    for reference, reporter, unit, channel, victim, kinds, summary, danger, then in DEMO_INTAKES:
        if db.session.scalar(select(Intake.id).where(Intake.external_reference == reference)):
            continue
        if reporter == LAPOR_PAK_OFFICE:
            actor = app_actor
        else:
            org = find_organization(reporter)
            actor = Actor.for_organization(org, "cli:demo")
        intake = ops.receive_intake(
            actor,
            {
                "to": unit,
                "channel": channel,
                "reporter": {"relationship": "volunteer", "is_victim": False},
                "victim": victim,
                "incident": {"violence_types": kinds, "summary": summary},
                "immediate_danger": danger,
                "reporter_may_be_contacted": False,
                "external_reference": reference,
            },
        )
        owner = Actor.for_organization(find_organization(unit), "cli:demo")
        if then == "overdue":
            back = utcnow() - dt.timedelta(hours=3)
            intake.received_at = intake.arrived_at = back
            for step in intake.steps:
                step.at = back
            start_clock(intake)
        elif then == "triage":
            ops.triage_intake(owner, intake.id, "medium", "Demo: perlu asesmen di rumah.")
        elif then == "forward":
            ops.forward_intake(owner, intake.id, "uptd-ppa-balikpapan")
        made.append(intake.number)
    db.session.flush()
    return {"intakes_created": made, "lapor_pak_client": app_client}
