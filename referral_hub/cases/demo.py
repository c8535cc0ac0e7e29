"""Demo cases: a client's path through several partners, made through the operations.

What the reports in shared/seeds/ say, and how it is shown here:
- UPTD PPA Penajam Paser Utara works with the police and has no clinical psychologist, so
  Balikpapan's psychologist counsels its clients. A PPU child's case plans the police
  report (Polres PPU, on the hub), a forensic exam at the regional hospital (not on the hub:
  PPU records its answers) and counselling by Balikpapan's psychologist, with a follow-up
  due today on the caseworker's home page.
- DP3A Kutai Kartanegara follows victims until economic empowerment, with other offices.
  A Kukar adult's case ends with Dinas Koperasi's programme, closed as goals_met with every
  plan item done.

The reports name neither the hospital nor the cooperatives office: the demo adds them as
the unit would (kept in the hub), with their agreements. Clients are fictional ("Klien
Demo", NIKs 0000000000000004 and ...5); a client who has a case already is left alone, so
loading again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.agreements.demo import load_demo_agreements
from referral_hub.cases import operations as ops
from referral_hub.cases.models import Case
from referral_hub.clients.models import Client, Consent, local_today
from referral_hub.clients.operations import find_by_nik, record_consent, register_client
from referral_hub.directory.operations import create_organization, find_organization
from referral_hub.extensions import db
from referral_hub.referrals.operations import act_on_referral, schedule_appointment

PPU = "uptd-ppa-ppu"
KUKAR = "uptd-ppa-kukar"
HOSPITAL = "rsud-ppu"
COOPERATIVES = "diskop-kukar"

#: Partners the demo cases need that partners.yaml (drawn from the reports) lacks:
#: (adding unit, code, name, type, region, services).
DEMO_PARTNERS = (
    (
        PPU,
        HOSPITAL,
        "RSUD Penajam Paser Utara",
        "health",
        "64.09",
        ["health_care", "forensic_exam"],
    ),
    (
        KUKAR,
        COOPERATIVES,
        "Dinas Koperasi dan UKM Kabupaten Kutai Kartanegara",
        "government_office",
        "64.02",
        ["economic_empowerment"],
    ),
)

#: Their agreements, in the rows of agreements/demo.py.
DEMO_CASE_AGREEMENTS: tuple[tuple[Any, ...], ...] = (
    (
        "pks",
        "DEMO/PKS/007/UPTDPPA-PPU",
        "Perjanjian Kerja Sama pemeriksaan forensik dan layanan kesehatan korban "
        "(UPTD PPA PPU - RSUD Penajam Paser Utara)",
        {
            PPU: "Kepala UPTD PPA Kabupaten Penajam Paser Utara",
            HOSPITAL: "Direktur RSUD Penajam Paser Utara",
        },
        [("forensic_exam", HOSPITAL), ("health_care", HOSPITAL)],
        ["identity", "guardian", "case_summary", "health"],
        24,
        "Forensic examinations (visum et repertum) requested by the police and health care "
        "for victims the UPTD accompanies.",
        None,
        100,
    ),
    (
        "pks",
        "DEMO/PKS/023/UPTDPPA-KUKAR",
        "Perjanjian Kerja Sama pemberdayaan ekonomi perempuan korban kekerasan "
        "(UPTD PPA Kukar - Dinas Koperasi dan UKM Kabupaten Kutai Kartanegara)",
        {
            KUKAR: "Kepala UPTD PPA Kabupaten Kutai Kartanegara",
            COOPERATIVES: "Kepala Dinas Koperasi dan UKM Kabupaten Kutai Kartanegara",
        },
        [("economic_empowerment", COOPERATIVES)],
        ["identity", "contact", "case_summary"],
        120,
        "Victims the UPTD follows join the office's business training and start-up "
        "programmes, until they earn their own living.",
        None,
        200,
    ),
)


def _evidence(label: str) -> str:
    return hashlib.sha256(f"demo consent form: {label}".encode()).hexdigest()


def _demo_clients(today: dt.date) -> dict[str, dict[str, Any]]:
    """The clients of the demo cases and their consents, by unit."""
    return {
        PPU: {
            "client": {
                "full_name": "Klien Demo Empat",
                "nik": "0000000000000004",
                "birth_date": dt.date(today.year - 9, 6, 2),
                "sex": "female",
                "domicile_region": "64.09.02",
                "address": "Jl. Demo No. 4 (fiktif), Waru",
                "guardian": {
                    "name": "Ibu Demo Empat",
                    "relationship": "ibu kandung",
                    "phone": "0812-0000-0044",
                    "is_alleged_perpetrator": False,
                },
            },
            "consent": {
                "given_by": "parent",
                "giver_name": "Ibu Demo Empat",
                "giver_relationship": "ibu kandung",
                "child_assent": True,
                "recipients": ["polres-ppu", HOSPITAL, "uptd-ppa-balikpapan"],
                "services": ["law_enforcement", "forensic_exam", "psychological_counseling"],
                "data_categories": ["identity", "guardian", "case_summary", "perpetrator"],
                "method": "written",
                "evidence_sha256": _evidence("empat"),
                "valid_until": today + dt.timedelta(days=180),
            },
        },
        KUKAR: {
            "client": {
                "full_name": "Klien Demo Lima",
                "nik": "0000000000000005",
                "birth_date": dt.date(today.year - 34, 11, 20),
                "sex": "female",
                "domicile_region": "64.02",
                "phone": "0812-0000-0005",
                "address": "Jl. Demo No. 5 (fiktif), Tenggarong",
            },
            "consent": {
                "given_by": "client",
                "recipients": [COOPERATIVES],
                "services": ["economic_empowerment"],
                "data_categories": ["identity", "contact", "case_summary"],
                "method": "written",
                "evidence_sha256": _evidence("lima"),
                "valid_until": today + dt.timedelta(days=365),
            },
        },
    }


def _person(email: str, organization: str) -> Actor:
    """The demo account acting, or (without demo accounts) the hub inside its organisation."""
    user = db.session.scalar(select(User).where(User.email == email, User.active.is_(True)))
    if user is not None:
        return Actor.for_user(user)
    return Actor.for_organization(find_organization(organization), f"demo:{organization}")


def _partners() -> list[str]:
    added = []
    for unit, code, name, kind, region, services in DEMO_PARTNERS:
        if find_organization(code) is None:
            adder = Actor.for_organization(find_organization(unit), "cli:demo")
            create_organization(
                adder, code=code, name=name, type=kind, region_code=region, services=services
            )
            added.append(code)
    return added


def _client(unit: str, today: dt.date) -> tuple[Client, Consent] | None:
    """The unit's demo client and consent; None when it has a case already."""
    org = find_organization(unit)
    item = _demo_clients(today)[unit]
    client = find_by_nik(org.id, item["client"]["nik"])
    if client is not None:
        if db.session.scalar(select(Case.id).where(Case.client_id == client.id).limit(1)):
            return None
        consent = db.session.scalars(select(Consent).where(Consent.client_id == client.id)).first()
        if consent is not None:
            return client, consent
    else:
        client = register_client(Actor.system("cli:demo"), organization=org.code, **item["client"])
    return client, record_consent(Actor.system("cli:demo"), client, **item["consent"])


def _refer(worker: Actor, case: Case, item_id: str, consent: Consent, **extra: Any) -> str:
    _, referral = ops.refer_plan_item(worker, case.id, item_id, {"consent": consent.id, **extra})
    return referral.id


def _open(
    worker: Actor, client: Client, occurred_on: dt.date, place: str, region: str, **fields: Any
) -> Case:
    """A case of the client, its incident at `place` in `region` on `occurred_on`."""
    incident = {"occurred_on": occurred_on, "place_type": place, "region_code": region}
    case = ops.open_case(worker, {"client": client.id, "incident": incident, **fields})
    db.session.flush()
    return case


def _item(worker: Actor, case: Case, service: str, due_on: dt.date, note: str, **extra: Any):
    return ops.add_plan_item(
        worker, case.id, {"service": service, "due_on": due_on, "note": note, **extra}
    )


def _delivered_on_behalf(worker: Actor, referral_id: str, answer: str, summary: str) -> None:
    """A partner not on the hub answered (`answer` says how): the sender records its accepting,
    starting and delivering the service."""
    for action in ("accept", "start"):
        act_on_referral(worker, referral_id, action, on_behalf=True, note=answer)
    act_on_referral(
        worker,
        referral_id,
        "complete",
        outcome="service_delivered",
        summary=summary,
        on_behalf=True,
        note=answer,
    )


def _ppu_child(today: dt.date) -> str | None:
    """Open with police, a forensic exam done, counselling booked, a follow-up due today."""
    found = _client(PPU, today)
    if found is None:
        return None
    client, consent = found
    worker = _person("caseworker@ppu.demo", PPU)
    case = _open(
        worker,
        client,
        today - dt.timedelta(days=12),
        "household",
        "64.09.02",
        risk_level="high",
        violence_types=["sexual"],
        perpetrator_relationship="neighbour",
        summary="Anak diduga mengalami kekerasan seksual oleh tetangga di rumah "
        "tetangga tersebut. Ibu melapor ke UPTD PPA; anak tampak cemas dan sulit tidur.",
        **({"supervisor": "supervisor@ppu.demo"} if worker.user_id else {}),
    )
    escort = _item(
        worker,
        case,
        "accompaniment",
        today + dt.timedelta(days=7),
        "Pendampingan anak dan ibu saat pelaporan dan pemeriksaan di Polres PPU.",
    )
    ops.update_plan_item(worker, case.id, escort.id, {"status": "in_progress"})
    police = _item(
        worker,
        case,
        "law_enforcement",
        today + dt.timedelta(days=3),
        "Laporan polisi dan pemeriksaan anak sebagai korban secara ramah anak.",
        provider="polres-ppu",
    )
    forensic = _item(
        worker,
        case,
        "forensic_exam",
        today - dt.timedelta(days=2),
        "Visum et repertum atas permintaan penyidik Unit PPA Polres PPU.",
        provider=HOSPITAL,
    )
    counselling = _item(
        worker,
        case,
        "psychological_counseling",
        today + dt.timedelta(days=14),
        "Asesmen dan konseling psikolog klinis untuk gejala trauma anak.",
        provider="uptd-ppa-balikpapan",
    )
    db.session.flush()
    police_referral = _refer(
        worker,
        case,
        police.id,
        consent,
        urgency="urgent",
        data_categories=["identity", "guardian", "case_summary", "perpetrator"],
    )
    act_on_referral(_person("penyidik@polres-ppu.demo", "polres-ppu"), police_referral, "accept")
    exam = _refer(
        worker,
        case,
        forensic.id,
        consent,
        urgency="urgent",
        data_categories=["identity", "guardian", "case_summary"],
    )
    _delivered_on_behalf(
        worker,
        exam,
        "Disampaikan petugas RSUD melalui telepon.",
        "Visum et repertum selesai; hasil diserahkan langsung kepada penyidik.",
    )
    psychologist = _person("psikolog@balikpapan.demo", "uptd-ppa-balikpapan")
    session = _refer(
        worker, case, counselling.id, consent, data_categories=["identity", "case_summary"]
    )
    act_on_referral(psychologist, session, "accept")
    schedule_appointment(
        psychologist,
        session,
        {
            "starts_at": dt.datetime.now(dt.UTC).replace(microsecond=0, second=0, minute=0)
            + dt.timedelta(days=4),
            "mode": "in_person",
            "location": "Ruang konseling UPTD PPA Kota Balikpapan",
            "practitioner": "Psikolog klinis",
        },
    )
    ops.add_note(
        worker,
        case.id,
        "Kunjungan rumah: anak mulai mau bersekolah lagi. Pastikan ibu dan anak dapat "
        "berangkat ke jadwal konseling di Balikpapan (transportasi).",
        today,
    )
    return case.number


def _kukar_adult(today: dt.date) -> str | None:
    """Closed as goals_met once Dinas Koperasi's programme was completed."""
    found = _client(KUKAR, today)
    if found is None:
        return None
    client, consent = found
    worker = _person("pendamping@kukar.demo", KUKAR)
    case = _open(
        worker,
        client,
        today - dt.timedelta(days=150),
        "household",
        "64.02",
        risk_level="medium",
        violence_types=["physical", "psychological"],
        perpetrator_relationship="spouse",
        summary="Kekerasan dalam rumah tangga oleh suami. Korban kini tinggal bersama "
        "orang tuanya di Tenggarong dan ingin mandiri secara ekonomi.",
    )
    escort = _item(
        worker,
        case,
        "accompaniment",
        today - dt.timedelta(days=120),
        "Pendampingan pelaporan dan pemulihan awal oleh psikolog UPTD.",
    )
    empowerment = _item(
        worker,
        case,
        "economic_empowerment",
        today - dt.timedelta(days=20),
        "Pelatihan usaha dan modal awal melalui program Dinas Koperasi dan UKM.",
        provider=COOPERATIVES,
    )
    ops.update_plan_item(worker, case.id, escort.id, {"status": "done"})
    db.session.flush()
    programme = _refer(
        worker,
        case,
        empowerment.id,
        consent,
        data_categories=["identity", "contact", "case_summary"],
    )
    _delivered_on_behalf(
        worker,
        programme,
        "Disampaikan Dinas Koperasi dan UKM melalui surat.",
        "Klien menyelesaikan pelatihan usaha kue dan menerima modal awal.",
    )
    note = ops.add_note(
        worker,
        case.id,
        "Pemantauan tiga bulan: usaha kue rumahan berjalan, tidak ada kekerasan berulang.",
        today - dt.timedelta(days=1),
    )
    db.session.flush()
    ops.complete_follow_up(worker, case.id, note.id)
    ops.close_case(
        worker,
        case.id,
        "goals_met",
        "Klien mandiri secara ekonomi dan aman; kasus ditutup dengan persetujuan klien.",
    )
    return case.number


def load_demo_cases(today: dt.date | None = None) -> dict[str, Any]:
    """Create the demo cases that are missing, with the partners and agreements they need."""
    today = today or local_today()
    if find_organization(PPU) is None or find_organization(KUKAR) is None:
        return {"case_partners_added": [], "case_agreements_created": [], "cases_created": []}
    partners = _partners()
    db.session.flush()
    agreements = load_demo_agreements(today, DEMO_CASE_AGREEMENTS)["agreements_created"]
    created = [number for number in (_ppu_child(today), _kukar_adult(today)) if number]
    db.session.flush()
    return {
        "case_partners_added": partners,
        "case_agreements_created": agreements,
        "cases_created": created,
    }
