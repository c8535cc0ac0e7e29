"""Names for a report's titles, columns and values, in the portal's languages.

Exports are written in Indonesian whatever the reader's language (`export.py` forces it);
the portal page follows the reader's choice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import format_date, format_decimal, format_percent, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from referral_hub.directory.models import Organization
from referral_hub.directory.regions import region_label
from referral_hub.extensions import db
from referral_hub.portal.code_names import label, service_label
from referral_hub.reports.simfoni import GROUPS

REPORT_TITLES = {
    "referrals": _l("Rujukan"),
    "services": _l("Layanan (kelompok SIMFONI-PPA)"),
    "agreements": _l("Perjanjian dan cakupan"),
    "cases": _l("Kasus"),
    "intakes": _l("Aduan masuk"),
}
DIMENSIONS = {
    "recipient": _l("Penerima"),
    "sender": _l("Pengirim"),
    "service": _l("Layanan"),
    "status": _l("Status"),
    "urgency": _l("Urgensi"),
    "month": _l("Bulan"),
    "simfoni_group": _l("Kelompok layanan SIMFONI-PPA"),
    "provider": _l("Penyedia layanan"),
    "kind": _l("Jenis perjanjian"),
    "expiring_within_days": _l("Berakhir dalam"),
    "violence_type": _l("Jenis kekerasan"),
    "age_band": _l("Kelompok umur"),
    "sex": _l("Jenis kelamin"),
    "place_type": _l("Tempat kejadian"),
    "perpetrator_relationship": _l("Hubungan dengan terduga pelaku"),
    "region": _l("Wilayah kejadian"),
    "risk_level": _l("Tingkat risiko"),
    "channel": _l("Saluran aduan"),
    "unit": _l("Unit penerima"),
}
MEASURES = {
    "count": _l("Jumlah"),
    "accepted": _l("Diterima"),
    "completed": _l("Selesai"),
    "overdue": _l("Terlambat dijawab"),
    "clients": _l("Klien (dihitung sekali)"),
    "overdue_share": _l("Porsi terlambat"),
    "median_hours_to_answer": _l("Median jam sampai dijawab"),
    "gaps": _l("Unit tanpa cakupan"),
    "closed": _l("Ditutup"),
    "triaged": _l("Sudah dinilai risikonya"),
    "median_minutes_to_triage": _l("Median menit sampai dinilai"),
}
EXPIRY_BANDS = {
    "30": _l("30 hari atau kurang"),
    "90": _l("31 sampai 90 hari"),
    "180": _l("91 sampai 180 hari"),
    "later": _l("lebih dari 180 hari"),
    "ended": _l("tidak berlaku lagi"),
}
SIDES = {
    "sent": _l("Rujukan yang dikirim"),
    "received": _l("Rujukan yang diterima"),
    "owner": _l("Aduan yang diterima unit"),
    "reporter": _l("Aduan yang dilaporkan organisasi Anda"),
}
SHARES = ("overdue_share",)
#: How a hidden count is written in a file: hidden, never "<5" (a cell hidden beside a small
#: one, so that it cannot be found by subtraction, may well be 9). The page writes a
#: multiplication sign with this word as its title and legend.
HIDDEN = _l("disembunyikan")
HIDDEN_MARK = "\u00d7"


def hidden_mark() -> str:
    return str(HIDDEN)


#: A report's name in its file names, by language (Indonesian when the portal is).
FILE_NAMES = {
    "id": {
        "referrals": "laporan-rujukan",
        "services": "laporan-layanan",
        "agreements": "laporan-perjanjian",
        "cases": "laporan-kasus",
        "intakes": "laporan-aduan",
        "province": "provinsi",
    },
    "en": {
        "referrals": "report-referrals",
        "services": "report-services",
        "agreements": "report-agreements",
        "cases": "report-cases",
        "intakes": "report-intakes",
        "province": "province",
    },
}


def file_words() -> dict[str, str]:
    """The file-name words in the reader's language."""
    locale = get_locale()
    return FILE_NAMES.get(locale.language if locale else "id", FILE_NAMES["id"])


def figure_text(measure: str, value: Any) -> str:
    """A figure as people read it in their language: 0,5 and 25,0% in Indonesian (where
    1.25 reads as 125), 0.5 and 25.0% in English. A hidden figure is the caller's."""
    if value is None:
        return ""
    if measure in SHARES:
        return format_percent(value, "#,##0.0%")
    if isinstance(value, float):
        return format_decimal(value, "#,##0.#")
    return format_decimal(value)


def title(report: str) -> str:
    return str(REPORT_TITLES.get(report, report))


def dimension_name(dimension: str) -> str:
    return str(DIMENSIONS.get(dimension, dimension))


def measure_name(measure: str) -> str:
    return str(MEASURES.get(measure, measure))


def organization_names(codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = db.session.execute(
        select(Organization.code, Organization.name).where(Organization.code.in_(codes))
    )
    return dict(rows.all())


def month_name(value: str) -> str:
    try:
        year, month = (int(part) for part in value.split("-"))
        return format_date(dt.date(year, month, 1), "MMMM yyyy")
    except (ValueError, AttributeError):
        return str(value)


def value_name(kind: str, value: Any, organizations: dict[str, str]) -> str:
    """The name of a dimension's value (an organisation, a service, a status ...)."""
    if value is None:
        return "—"
    if kind == "organization":
        return organizations.get(value, value)
    if kind == "service":
        return service_label(value)
    if kind == "simfoni_group":
        return str(GROUPS.get(value, value))
    if kind == "month":
        return month_name(value)
    if kind == "expiry_band":
        return str(EXPIRY_BANDS.get(value, value))
    if kind == "age_band":
        return str(_l("%(band)s tahun", band=value))
    if kind == "region":
        return region_label(value) or str(value)
    return label(kind, value)


NAV_LABEL = _l("Laporan")
