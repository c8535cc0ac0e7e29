"""SIMFONI-PPA's service groups and the hub's service codes that map onto them: written once.

KemenPPPA's SIMFONI-PPA counts the services given to a victim in eight groups (DOMAIN.md,
*Reports*). Every report that groups by `simfoni_group` reads this table; a partners file
may still name a service's group, and a test keeps those files agreeing with it.

The hub's codes that no group describes (outreach, case management, mediation,
accompaniment) are the unit's own work around a case rather than a service SIMFONI counts;
they are reported as `lainnya` (other).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: The groups in SIMFONI-PPA's order, with their names.
GROUPS: dict[str, object] = {
    "pengaduan": _l("Pengaduan"),
    "kesehatan": _l("Kesehatan"),
    "bantuan_hukum": _l("Bantuan hukum"),
    "penegakan_hukum": _l("Penegakan hukum"),
    "rehabilitasi_sosial": _l("Rehabilitasi sosial"),
    "reintegrasi_sosial": _l("Reintegrasi sosial"),
    "pemulangan": _l("Pemulangan"),
    "pendampingan_tokoh_agama": _l("Pendampingan tokoh agama"),
    "lainnya": _l("Lainnya"),
}
OTHER = "lainnya"

#: Service code -> SIMFONI group.
SERVICE_GROUPS: dict[str, str] = {
    "complaint_intake": "pengaduan",
    "outreach": OTHER,
    "case_management": OTHER,
    # Shelter and counselling restore the victim's social functioning (Permen PPPA 2/2022).
    "temporary_shelter": "rehabilitasi_sosial",
    "mediation": OTHER,
    "accompaniment": OTHER,
    "psychological_counseling": "rehabilitasi_sosial",
    "psychosocial_support": "rehabilitasi_sosial",
    "health_care": "kesehatan",
    "forensic_exam": "kesehatan",
    "legal_aid": "bantuan_hukum",
    # Family-court matters and restitution claims are legal help to the victim.
    "family_court": "bantuan_hukum",
    "restitution": "bantuan_hukum",
    "law_enforcement": "penegakan_hukum",
    "prosecution": "penegakan_hukum",
    "court_process": "penegakan_hukum",
    "witness_protection": "penegakan_hukum",
    "social_rehabilitation": "rehabilitasi_sosial",
    "social_reintegration": "reintegrasi_sosial",
    # Economic empowerment is how a victim is brought back into community life.
    "economic_empowerment": "reintegrasi_sosial",
    "repatriation": "pemulangan",
    "religious_counseling": "pendampingan_tokoh_agama",
}


def group_of(service_code: str | None) -> str:
    """The SIMFONI group of a service code (`lainnya` for any code the table does not map)."""
    return SERVICE_GROUPS.get(service_code or "", OTHER)
