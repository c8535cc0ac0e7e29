"""Demo data for the embedded mode and for trying the portal: fictional, marked as demo."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.accounts.operations import create_user, set_work_phone
from referral_hub.accounts.totp import enrol_fixed
from referral_hub.actors import Actor
from referral_hub.agreements.demo import load_demo_agreements
from referral_hub.clients.demo import load_demo_clients
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import (
    find_organization,
    load_partners,
    update_organization,
)
from referral_hub.extensions import db
from referral_hub.referrals.demo import load_demo_referrals

DEMO_PASSWORD = "demo-rujukan-2026"  # noqa: S105  (published in the README; demo only)
#: The authenticator secret of the demo org_admin and auditor accounts: published in the
#: README and printed by `flask hub demo`, so the real second step can be tried.
DEMO_TOTP_SECRET = "DEMODEMODEMODEMODEMODEMODEMODEMO"  # noqa: S105

#: (e-mail, organisation code, role, display name). Fictional people.
DEMO_USERS = (
    ("caseworker@ppu.demo", "uptd-ppa-ppu", "caseworker", "Demo Pendamping PPU"),
    ("supervisor@ppu.demo", "uptd-ppa-ppu", "supervisor", "Demo Supervisor PPU"),
    ("admin@ppu.demo", "uptd-ppa-ppu", "org_admin", "Demo Admin PPU"),
    ("psikolog@balikpapan.demo", "uptd-ppa-balikpapan", "caseworker", "Demo Psikolog Balikpapan"),
    ("admin@balikpapan.demo", "uptd-ppa-balikpapan", "org_admin", "Demo Admin Balikpapan"),
    ("penyidik@polres-ppu.demo", "polres-ppu", "caseworker", "Demo Penyidik Unit PPA"),
    ("auditor@kaltim.demo", "dp3a-kaltim", "auditor", "Demo Auditor DP3A Kaltim"),
)


#: Work phones of the demo staff: what a partner sees on a referral as the sender's contact.
#: Fictional numbers (the 0000 block), never anyone's.
DEMO_WORK_PHONES = {
    "caseworker@ppu.demo": "+62 812 0000 0101",
    "supervisor@ppu.demo": "+62 812 0000 0102",
    "admin@ppu.demo": "+62 812 0000 0103",
    "psikolog@balikpapan.demo": "+62 812 0000 0201",
    "admin@balikpapan.demo": "+62 812 0000 0202",
    "penyidik@polres-ppu.demo": "+62 812 0000 0301",
    "auditor@kaltim.demo": "+62 812 0000 0401",
}

#: Focal points of the demo organisations: the desk a partner calls about a referral.
#: Fictional people and numbers; set only on an entry that has none (kept in the hub after).
DEMO_FOCAL_POINTS = {
    "uptd-ppa-ppu": [
        {
            "name": "Demo Kepala Seksi Layanan PPU",
            "title": "Focal point rujukan",
            "phone": "+62 542 000 0100",
            "email": "layanan@ppu.demo",
        }
    ],
    "uptd-ppa-balikpapan": [
        {
            "name": "Demo Koordinator Layanan Balikpapan",
            "title": "Focal point rujukan",
            "phone": "+62 542 000 0200",
            "email": "layanan@balikpapan.demo",
        }
    ],
    "polres-ppu": [
        {
            "name": "Demo Kanit PPA Polres PPU",
            "title": "Unit PPA",
            "phone": "+62 542 000 0300",
            "email": None,
        }
    ],
}


def _demo_contacts(actor: Actor) -> list[str]:
    """Give the demo organisations their focal points and the demo staff their work phones,
    where none is set yet (what was kept in the hub stays)."""
    changed = []
    for code, contacts in DEMO_FOCAL_POINTS.items():
        org = find_organization(code)
        if org is not None and not org.contacts:
            update_organization(actor, org.id, contacts=contacts)
            changed.append(code)
    for email, phone in DEMO_WORK_PHONES.items():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and not user.work_phone:
            set_work_phone(actor, user.id, phone)
    return changed


def load_demo() -> dict[str, Any]:
    """Create what is missing of the demo; running it again adds nothing."""
    actor = Actor.system("cli:demo")
    if db.session.scalar(select(Organization).limit(1)) is None:
        load_partners(actor, current_app.config["HUB_PARTNERS_FILE"])
        db.session.flush()
    created = []
    for email, org, role, name in DEMO_USERS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            user = create_user(
                actor, organization=org, email=email, role=role, password=DEMO_PASSWORD, name=name
            )
            if user.needs_second_factor:
                db.session.flush()
                enrol_fixed(actor, user, DEMO_TOTP_SECRET)
            created.append(email)
    summary = {
        "users_created": created,
        "focal_points_set": _demo_contacts(actor),
        "demo_totp_secret": DEMO_TOTP_SECRET,
        **load_demo_agreements(),
        **load_demo_clients(),
    }
    db.session.flush()
    return {**summary, **load_demo_referrals()}
