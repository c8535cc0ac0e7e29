"""Demo agreements drawn from the news reports in shared/seeds/, clearly marked as demo.

What the reports say, and how it is modelled here:
- UPTD PPA Penajam Paser Utara has commitments with the police, the courts, the
  prosecutor and the social service; it has no clinical psychologist, so UPTD PPA
  Balikpapan's psychologist counsels its clients (one agreement per partner).
- UPTD PPA Balikpapan cooperates with the religious court, the Ministry of Religious
  Affairs office and LPSK.
- DP3A Kutai Kartanegara contracts a clinical psychologist, a psychology counsellor and a
  legal counsellor for its UPTD PPA, renewing every three months. Agreement parties are
  organisations, so the contract is recorded between DP3A Kukar (which contracts) and
  UPTD PPA Kukar (where the experts work, and which therefore provides the counselling
  and legal aid); it runs for three calendar months (from the first day of the month before
  last, so it ends at the end of this month) and its renewal proposes the next three
  months under the next number.
- Polres Penajam Paser Utara signed its agreement with PPU on paper and is not on the hub:
  PPU signs on the hub and records Polres's paper signature with the signed scan (a
  one-page demo PDF), so the registry shows both ways of signing.

Numbers start with DEMO; signatories are named by their office only (no people). Dates are
relative to the day the demo is loaded, so the agreements are in force when it is tried.
Loading again adds nothing: agreements are matched by number and parties.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from sqlalchemy import select

from referral_hub.actors import Actor
from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations.terms import end_of_term, months_later
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db

PPU = "uptd-ppa-ppu"
BALIKPAPAN = "uptd-ppa-balikpapan"
THREE_YEARS = 3 * 365 + 1
HEAD_PPU = "Kepala UPTD PPA Kabupaten Penajam Paser Utara"
HEAD_BALIKPAPAN = "Kepala UPTD PPA Kota Balikpapan"
MONTHS_3 = "3 months"
#: Agreements a party signed on paper: number -> that party (another party records it).
SIGNED_ON_PAPER = {"DEMO/KB/001/UPTDPPA-PPU": "polres-ppu"}
#: A one-page PDF standing for the signed scan.
DEMO_SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

#: (kind, number, title, {party code: signatory title}, [(service, provider)],
#:  data categories, response hours, purpose, term in days (None: three years; MONTHS_3:
#:  three calendar months from the first of the month before last), days since it took effect)
DEMO_AGREEMENTS: tuple[tuple[Any, ...], ...] = (
    (
        "mou",
        "DEMO/KB/001/UPTDPPA-PPU",
        "Kesepakatan Bersama penanganan perempuan dan anak korban kekerasan "
        "(UPTD PPA PPU - Polres Penajam Paser Utara)",
        {PPU: HEAD_PPU, "polres-ppu": "Kepala Kepolisian Resor Penajam Paser Utara"},
        [("law_enforcement", "polres-ppu"), ("accompaniment", PPU)],
        ["identity", "contact", "guardian", "case_summary", "legal", "perpetrator"],
        24,
        "Reports of violence against women and children are taken up by the Unit PPA of "
        "Satreskrim; the UPTD accompanies victims through examination and investigation.",
        None,
        120,
    ),
    (
        "pks",
        "DEMO/PKS/002/UPTDPPA-PPU",
        "Perjanjian Kerja Sama pendampingan korban dalam penuntutan dan restitusi "
        "(UPTD PPA PPU - Kejaksaan Negeri Penajam Paser Utara)",
        {PPU: HEAD_PPU, "kejari-ppu": "Kepala Kejaksaan Negeri Penajam Paser Utara"},
        [("prosecution", "kejari-ppu"), ("restitution", "kejari-ppu"), ("accompaniment", PPU)],
        ["identity", "case_summary", "legal", "perpetrator"],
        72,
        "Coordination on prosecution and restitution claims for victims the UPTD accompanies.",
        None,
        120,
    ),
    (
        "pks",
        "DEMO/PKS/003/UPTDPPA-PPU",
        "Perjanjian Kerja Sama pendampingan korban di persidangan "
        "(UPTD PPA PPU - Pengadilan Negeri Penajam)",
        {PPU: HEAD_PPU, "pn-penajam": "Ketua Pengadilan Negeri Penajam"},
        [("court_process", "pn-penajam"), ("accompaniment", PPU)],
        ["identity", "case_summary", "legal"],
        72,
        "Child-friendly hearings and accompaniment of victims and child witnesses in court.",
        None,
        110,
    ),
    (
        "pks",
        "DEMO/PKS/004/UPTDPPA-PPU",
        "Perjanjian Kerja Sama perkara keluarga (UPTD PPA PPU - Pengadilan Agama Penajam)",
        {PPU: HEAD_PPU, "pa-penajam": "Ketua Pengadilan Agama Penajam"},
        [("family_court", "pa-penajam"), ("mediation", PPU)],
        ["identity", "contact", "guardian", "case_summary"],
        120,
        "Divorce, custody and maintenance cases of clients, with mediation by the UPTD.",
        None,
        110,
    ),
    (
        "pks",
        "DEMO/PKS/005/UPTDPPA-PPU",
        "Perjanjian Kerja Sama rehabilitasi dan reintegrasi sosial "
        "(UPTD PPA PPU - Dinas Sosial Kabupaten Penajam Paser Utara)",
        {PPU: HEAD_PPU, "dinsos-ppu": "Kepala Dinas Sosial Kabupaten Penajam Paser Utara"},
        [
            ("social_rehabilitation", "dinsos-ppu"),
            ("temporary_shelter", "dinsos-ppu"),
            ("social_reintegration", "dinsos-ppu"),
        ],
        ["identity", "contact", "guardian", "case_summary", "health"],
        48,
        "Social rehabilitation, shelter beyond the UPTD's own and return to the community.",
        None,
        100,
    ),
    (
        "pks",
        "DEMO/PKS/006/UPTDPPA-PPU",
        "Perjanjian Kerja Sama layanan psikolog klinis bagi klien UPTD PPA PPU "
        "(UPTD PPA PPU - UPTD PPA Kota Balikpapan)",
        {PPU: HEAD_PPU, BALIKPAPAN: HEAD_BALIKPAPAN},
        [("psychological_counseling", BALIKPAPAN)],
        ["identity", "contact", "case_summary", "health"],
        72,
        "PPU has no clinical psychologist: Balikpapan's psychologist counsels PPU's clients "
        "in Balikpapan and on visits to PPU, including clients living in Balikpapan.",
        None,
        90,
    ),
    (
        "pks",
        "DEMO/PKS/011/UPTDPPA-BPN",
        "Perjanjian Kerja Sama perkara keluarga (UPTD PPA Balikpapan - Pengadilan Agama "
        "Balikpapan)",
        {BALIKPAPAN: HEAD_BALIKPAPAN, "pa-balikpapan": "Ketua Pengadilan Agama Balikpapan"},
        [("family_court", "pa-balikpapan"), ("mediation", BALIKPAPAN)],
        ["identity", "contact", "guardian", "case_summary"],
        120,
        "Divorce, custody and maintenance cases of the UPTD's clients.",
        None,
        200,
    ),
    (
        "mou",
        "DEMO/KB/012/UPTDPPA-BPN",
        "Kesepakatan Bersama bimbingan rohani (UPTD PPA Balikpapan - Kantor Kementerian "
        "Agama Kota Balikpapan)",
        {
            BALIKPAPAN: HEAD_BALIKPAPAN,
            "kemenag-balikpapan": "Kepala Kantor Kementerian Agama Kota Balikpapan",
        },
        [("religious_counseling", "kemenag-balikpapan")],
        ["case_summary"],
        120,
        "Religious counselling for clients who ask for it, as part of their recovery.",
        None,
        200,
    ),
    (
        "pks",
        "DEMO/PKS/013/UPTDPPA-BPN",
        "Perjanjian Kerja Sama perlindungan saksi dan korban (UPTD PPA Balikpapan - LPSK)",
        {BALIKPAPAN: HEAD_BALIKPAPAN, "lpsk": "Ketua Lembaga Perlindungan Saksi dan Korban"},
        [("witness_protection", "lpsk"), ("restitution", "lpsk")],
        ["identity", "contact", "case_summary", "legal", "perpetrator"],
        24,
        "Protection requests and restitution assessments for victims and witnesses.",
        None,
        200,
    ),
    (
        "contract",
        "DEMO/KONTRAK/021/DP3A-KUKAR",
        "Kontrak tenaga ahli psikolog klinis, konselor psikologi dan konselor hukum "
        "UPTD PPA Kutai Kartanegara (triwulan)",
        {
            "dp3a-kukar": "Kepala Dinas Pemberdayaan Perempuan dan Perlindungan Anak "
            "Kabupaten Kutai Kartanegara",
            "uptd-ppa-kukar": "Kepala UPTD PPA Kabupaten Kutai Kartanegara",
        },
        [("psychological_counseling", "uptd-ppa-kukar"), ("legal_aid", "uptd-ppa-kukar")],
        ["identity", "contact", "case_summary", "health", "legal"],
        72,
        "Three certified experts contracted by DP3A Kukar work at its UPTD PPA; the contract "
        "is renewed every three months.",
        MONTHS_3,
        None,
    ),
)


def _organization_actor(code: str) -> Actor:
    org = find_organization(code)
    assert org is not None, f"partners.yaml lacks {code}"
    return Actor.for_organization(org, "cli:demo")


def load_demo_agreements(today: dt.date | None = None) -> dict[str, list[str]]:
    """Create and have every party sign the demo agreements that do not exist yet."""
    today = today or ops.local_date()
    created: list[str] = []
    for (
        kind,
        number,
        title,
        signatories,
        services,
        categories,
        response_hours,
        purpose,
        term_days,
        days_in_force,
    ) in DEMO_AGREEMENTS:
        actors = [_organization_actor(code) for code in signatories]
        parties_key = ",".join(sorted(a.organization_id for a in actors))
        exists = db.session.scalar(
            select(Agreement.id).where(
                Agreement.parties_key == parties_key,
                Agreement.number_key == ops.number_key(number),
            )
        )
        if exists:
            continue
        if term_days == MONTHS_3:
            start = months_later(today.replace(day=1), -2)
            end = end_of_term(start, 3)
        else:
            start = today - dt.timedelta(days=days_in_force)
            end = start + dt.timedelta(days=(term_days or THREE_YEARS) - 1)
        agreement = ops.create_agreement(
            actors[0],
            {
                "kind": kind,
                "number": number,
                "title": title,
                "parties": list(signatories),
                "services": [{"service": s, "provider": p} for s, p in services],
                "data_categories": categories,
                "purpose": purpose,
                "effective_from": start,
                "expires_on": end,
                "response_hours": response_hours,
                "signatories": [
                    {"name": None, "title": office, "organization": code}
                    for code, office in signatories.items()
                ],
                "notes": "Demo data: fictional agreement drawn from public news reports.",
            },
        )
        on_paper = SIGNED_ON_PAPER.get(number)
        for actor, code in zip(actors, signatories, strict=True):
            if code != on_paper:
                ops.sign_agreement(actor, agreement.id)
        if on_paper:
            ops.record_paper_signature(
                actors[0],
                agreement.id,
                party=on_paper,
                signed_on=start - dt.timedelta(days=7),
                filename="kesepakatan-bersama-ttd-polres.pdf",
                stream=io.BytesIO(DEMO_SCAN),
                signatory_title=signatories[on_paper],
            )
        created.append(number)
    db.session.flush()
    return {"agreements_created": created}
