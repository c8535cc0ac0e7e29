"""Demo referrals in several states, through the same operations as everyone else."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.clients.models import Client, Consent
from referral_hub.clients.operations import find_by_nik
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations import act_on_referral, schedule_appointment, send_referral

#: (marker, client NIK, recipient, service, categories, case data, urgency, reason, steps)
DEMO_REFERRALS: tuple[tuple[Any, ...], ...] = (
    (
        "DEMO-RJ-1",
        "0000000000000001",
        "uptd-ppa-balikpapan",
        "psychological_counseling",
        ["identity", "case_summary"],
        {"case_summary": {"violence_types": ["psychological"], "incident_place_type": "household"}},
        "urgent",
        "Anak menunjukkan gejala trauma; perlu asesmen dan konseling psikolog klinis.",
        [],
    ),
    (
        "DEMO-RJ-2",
        "0000000000000002",
        "uptd-ppa-balikpapan",
        "psychological_counseling",
        ["identity", "contact", "case_summary"],
        {"case_summary": {"violence_types": ["physical", "psychological"]}},
        "routine",
        "Korban KDRT membutuhkan konseling lanjutan; domisili PPU, tinggal di Balikpapan.",
        [("accept", None), ("appointment", None), ("start", None)],
    ),
    (
        "DEMO-RJ-3",
        "0000000000000002",
        "polres-ppu",
        "law_enforcement",
        ["identity", "contact", "case_summary"],
        {"case_summary": {"violence_types": ["physical"], "incident_place_type": "household"}},
        "urgent",
        "Korban bersedia melapor; mohon pendampingan pembuatan laporan polisi.",
        [("accept", None)],
    ),
    (
        "DEMO-RJ-4",
        "0000000000000003",
        "uptd-ppa-balikpapan",
        "psychological_counseling",
        ["identity", "case_summary"],
        {"case_summary": {"violence_types": ["physical"]}},
        "routine",
        "Anak laki-laki dengan disabilitas sensorik; konseling ramah disabilitas.",
        [("accept", None), ("start", None), ("complete", "service_delivered")],
    ),
    (
        "DEMO-RJ-5",
        "0000000000000003",
        "dinsos-ppu",
        "social_rehabilitation",
        ["identity", "case_summary"],
        {"case_summary": {"violence_types": ["physical"]}},
        "routine",
        "Perlu rehabilitasi sosial dan rumah aman sementara di luar rumah ayah.",
        [("reject", "Kapasitas rumah perlindungan penuh bulan ini; mohon rujuk ulang.")],
    ),
)


def _actor_of(code: str) -> Actor:
    org = find_organization(code)
    return Actor.for_organization(org, f"demo:{code}")


#: The demo caseworker who sends the demo referrals, when the demo accounts exist: the
#: recipient then sees her name and work phone as the referral's contact.
DEMO_SENDER_EMAIL = "caseworker@ppu.demo"


def _sender() -> Actor:
    user = db.session.scalar(
        select(User).where(User.email == DEMO_SENDER_EMAIL, User.active.is_(True))
    )
    return Actor.for_user(user) if user is not None else _actor_of("uptd-ppa-ppu")


def _consent_for(client: Client, recipient_id: str, service: str) -> Consent | None:
    for consent in db.session.scalars(select(Consent).where(Consent.client_id == client.id)):
        if recipient_id in consent.recipient_ids and service in consent.services:
            return consent
    return None


def load_demo_referrals(today: dt.date | None = None) -> dict[str, Any]:
    """Create the demo referrals that are missing (matched by sender reference)."""
    sender = _sender()
    created = []
    for marker, nik, to, service, categories, case, urgency, reason, steps in DEMO_REFERRALS:
        exists = db.session.scalar(select(Referral).where(Referral.sender_reference == marker))
        client = find_by_nik(sender.organization_id, nik)
        if exists is not None or client is None:
            continue
        recipient = _actor_of(to)
        consent = _consent_for(client, recipient.organization_id, service)
        if consent is None:
            continue
        referral = send_referral(
            sender,
            {
                "client": client.id,
                "consent": consent.id,
                "to": to,
                "service": service,
                "urgency": urgency,
                "reason": reason,
                "data_categories": categories,
                "case_data": case,
                "sender_reference": marker,
            },
        )
        for action, extra in steps:
            if action == "appointment":
                schedule_appointment(
                    recipient,
                    referral.id,
                    {
                        "starts_at": dt.datetime.now(dt.UTC).replace(microsecond=0)
                        + dt.timedelta(days=3),
                        "mode": "in_person",
                        "location": "Ruang konseling UPTD PPA Kota Balikpapan",
                        "practitioner": "Psikolog klinis",
                    },
                )
            elif action == "complete":
                act_on_referral(
                    recipient,
                    referral.id,
                    "complete",
                    outcome=extra,
                    summary="Delapan sesi konseling selesai; tindak lanjut di UPTD PPA PPU.",
                )
            else:
                act_on_referral(recipient, referral.id, action, reason=extra)
        created.append(referral.number)
    return {"referrals_created": created}
