"""The referral wizard's state and steps: client, service, partner, basis, categories, details.

The state travels in the form itself (hidden fields on the sender's own pages; no session, so
a second tab or a back button cannot mix two referrals), and every step is checked again each
time the form moves forward. What each step offers is computed by the operations that send
the referral (coverage, the agreement send_referral will use, the consent's own problems), and
the final send goes through send_referral, which checks everything once more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import request
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from referral_hub.accounts.models import User
from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations import active_agreements_covering, covering_agreements_for
from referral_hub.categories import ALWAYS_SHARED, CASE_CATEGORIES, DATA_CATEGORIES
from referral_hub.clients import operations as clients
from referral_hub.clients.models import Client, Consent
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.directory.operations import on_hub_ids
from referral_hub.extensions import db
from referral_hub.portal.code_names import label, service_name
from referral_hub.portal.forms import schema_errors, take_refusal
from referral_hub.portal.messages import problem_message, translate_errors
from referral_hub.problems import Problem
from referral_hub.referrals import operations as ops
from referral_hub.referrals.lifecycle import RECIPIENT
from referral_hub.referrals.models import Referral
from referral_hub.referrals.schemas import LEGAL_BASES, URGENCIES, ReferralIn

STEPS = ("client", "service", "partner", "basis", "categories", "details", "review")
#: The form fields each step asks for; a step's fields are carried hidden on the others.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "client": ("client",),
    "service": ("service",),
    "partner": ("to",),
    "basis": ("basis", "consent", "legal_basis", "justification"),
    "categories": ("data_categories",),
    "details": (
        "urgency",
        "reason",
        "sender_reference",
        "cs_violence_types",
        "cs_incident_place_type",
        "cs_chronology",
        "health_notes",
        "legal_police_report_number",
        "legal_court_case_number",
        "perp_relationship",
        "perp_details",
    ),
    "review": (),
}
LIST_FIELDS = ("data_categories", "cs_violence_types")
TEXT_FIELDS = tuple(
    name for fields in STEP_FIELDS.values() for name in fields if name not in LIST_FIELDS
)
#: The API's field names (flattened by schema_errors) -> the wizard's form fields.
API_FIELDS = {
    "approved_by": "basis",
    "case_data_case_summary_violence_types": "cs_violence_types",
    "case_data_case_summary_incident_place_type": "cs_incident_place_type",
    "case_data_case_summary_chronology": "cs_chronology",
    "case_data_case_summary": "cs_violence_types",
    "case_data_health_notes": "health_notes",
    "case_data_health": "health_notes",
    "case_data_legal_police_report_number": "legal_police_report_number",
    "case_data_legal_court_case_number": "legal_court_case_number",
    "case_data_perpetrator_relationship": "perp_relationship",
    "case_data_perpetrator_details": "perp_details",
    "case_data_perpetrator": "perp_relationship",
    "case_data": "_form",
}
FIELD_STEP = {name: step for step, names in STEP_FIELDS.items() for name in names}


def step_after(step: str) -> str:
    return STEPS[min(STEPS.index(step) + 1, len(STEPS) - 1)]


def step_before(step: str) -> str:
    return STEPS[max(STEPS.index(step) - 1, 0)]


@dataclass
class Partner:
    """A provider the unit may refer the service to, with the agreement a referral would use."""

    organization: Organization
    agreement: Agreement
    capacity: str | None
    #: Someone answers for it on the hub; if not, the sender prints the letter and records
    #: the partner's answers on its behalf.
    on_hub: bool = True


@dataclass
class ConsentChoice:
    consent: Consent
    usable: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class CategoryChoice:
    code: str
    offered: bool
    reasons: list[str] = field(default_factory=list)


class Wizard:
    """One submission of the wizard: its values, what each step offers, and the errors."""

    def __init__(self, actor: Actor, values: dict[str, Any]) -> None:
        self.actor = actor
        self.values = values
        self.errors: dict[str, list[str]] = {}
        self.message: str | None = None

    @classmethod
    def from_request(cls, actor: Actor) -> Wizard:
        """The state as submitted (POST) or as started from a link (GET ?client=)."""
        source = request.form if request.method == "POST" else request.args
        values: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            values[name] = (source.get(name) or "").strip()
        for name in LIST_FIELDS:
            values[name] = [v for v in dict.fromkeys(source.getlist(name)) if v]
        return cls(actor, values)

    # --- what the steps offer ------------------------------------------------------------

    @property
    def is_supervisor(self) -> bool:
        """Whether this user's override is sent at once (send_referral's own test)."""
        return self.approver is not None

    @cached_property
    def client(self) -> Client | None:
        if not self.values["client"]:
            return None
        return clients.find_client_of(self.actor, self.values["client"])

    @cached_property
    def recent_clients(self) -> list[Client]:
        """The unit's newest clients for the first step (codes only: no personal data)."""
        return list(db.session.scalars(clients.clients_query(self.actor).limit(50)))

    @cached_property
    def coverage(self) -> list[Any]:
        return covering_agreements_for(self.actor.organization_id or "")

    @cached_property
    def services(self) -> list[Service]:
        return list(db.session.scalars(select(Service).order_by(Service.position, Service.code)))

    @cached_property
    def covered_services(self) -> list[Service]:
        codes = {item.service_code for item in self.coverage}
        return [s for s in self.services if s.code in codes]

    @cached_property
    def uncovered_services(self) -> list[Service]:
        codes = {item.service_code for item in self.coverage}
        return [s for s in self.services if s.code not in codes]

    @property
    def service_options(self) -> list[tuple[str, str]]:
        return [(s.code, service_name(s)) for s in self.covered_services]

    @property
    def service(self) -> Service | None:
        return next((s for s in self.services if s.code == self.values["service"]), None)

    @cached_property
    def partners(self) -> list[Partner]:
        """Providers of the chosen service under an agreement in force, each with the
        agreement send_referral would use (the one it picks among several)."""
        code = self.values["service"]
        if not code:
            return []
        seen: dict[str, Organization] = {}
        for item in self.coverage:
            if item.service_code == code:
                seen.setdefault(item.provider.id, item.provider)
        # The providers' capacity for the service, in one query (services load lazily).
        capacity = dict(
            db.session.execute(
                select(OrganizationService.organization_id, OrganizationService.capacity_status)
                .where(OrganizationService.service_code == code)
                .where(OrganizationService.organization_id.in_(list(seen)))
            ).all()
        )
        answering = on_hub_ids(set(seen))
        out = []
        for provider in sorted(seen.values(), key=lambda o: o.name):
            agreements = active_agreements_covering(
                self.actor.organization_id or "", provider.id, code
            )
            if not agreements:
                continue
            out.append(
                Partner(
                    provider, agreements[0], capacity.get(provider.id), provider.id in answering
                )
            )
        return out

    @property
    def partner(self) -> Partner | None:
        wanted = self.values["to"]
        return next(
            (p for p in self.partners if wanted in (p.organization.id, p.organization.code)),
            None,
        )

    @cached_property
    def consent_choices(self) -> list[ConsentChoice]:
        """The client's consents, each usable for this recipient and service or not, and why."""
        partner, client = self.partner, self.client
        if partner is None or client is None:
            return []
        out = []
        for consent in db.session.scalars(clients.consents_query(self.actor, client.id)):
            problems = clients.consent_problems(
                consent,
                recipient_org_id=partner.organization.id,
                service_code=self.values["service"],
                categories=[],
            )
            reasons = [_problem_text(p) for p in problems]
            out.append(ConsentChoice(consent, not problems, reasons))
        out.sort(key=lambda c: not c.usable)
        return out

    @property
    def consent(self) -> Consent | None:
        if self.values["basis"] != "consent":
            return None
        wanted = self.values["consent"]
        usable = (c.consent for c in self.consent_choices if c.usable)
        return next((c for c in usable if c.id == wanted), None)

    @cached_property
    def category_choices(self) -> list[CategoryChoice]:
        """Every category: offered when `shareable_categories` (the rule send_referral
        refuses by) allows it; otherwise the reasons it is not."""
        partner, client = self.partner, self.client
        if partner is None or client is None:
            return []
        shareable = ops.shareable_categories(client, partner.agreement, self.consent)
        out = []
        for code, reasons in shareable.items():
            texts = [self._unshareable_text(reason) for reason in reasons]
            out.append(CategoryChoice(code, not reasons, texts))
        return out

    def _unshareable_text(self, reason: str) -> str:
        if reason == ops.OUTSIDE_AGREEMENT:
            number = self.partner.agreement.number if self.partner else ""
            return _("Perjanjian %(number)s tidak mengizinkan.", number=number)
        if reason == ops.OUTSIDE_CONSENT:
            return _("Persetujuan klien tidak mencakup data ini.")
        if reason == ops.NOT_ON_RECORD:
            return _("Catatan klien tidak memuat data ini.")
        return _("Wali tercatat sebagai terduga pelaku: tidak pernah dibagikan sebagai kontak.")

    @property
    def offered_categories(self) -> list[str]:
        return [c.code for c in self.category_choices if c.offered]

    @property
    def category_options(self) -> list[tuple[str, str]]:
        """The offered categories as (code, "Name (what it holds)") for the checkboxes."""
        return [
            (c, f"{label('category', c)} ({label('category_help', c)})")
            for c in self.offered_categories
        ]

    @property
    def chosen_case_categories(self) -> list[str]:
        return [c for c in CASE_CATEGORIES if c in self.values["data_categories"]]

    @cached_property
    def approver(self) -> User | None:
        """Who approves an override at sending: the signed-in supervisor, as send_referral
        decides it; a caseworker's override waits for a supervisor's approval instead (None)."""
        return ops.acting_supervisor(self.actor, self.actor.organization_id)

    @property
    def waits_for_approval(self) -> bool:
        """Whether sending makes a draft that waits for a supervisor (a caseworker's override)."""
        return self.values["basis"] == "override" and not self.is_supervisor

    # --- checks, step by step -----------------------------------------------------------

    def _error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def check(self, upto: str) -> str | None:
        """Check every step up to `upto`; the first step with an error, or None."""
        for step in STEPS[: STEPS.index(upto) + 1]:
            getattr(self, f"_check_{step}")()
            if self.errors:
                return step
        return None

    def _check_client(self) -> None:
        if not self.values["client"]:
            self._error("client", _("Pilih klien."))
        elif self.client is None:
            self._error("client", _("Klien ini tidak ada di unit Anda."))

    def _check_service(self) -> None:
        if not self.values["service"]:
            self._error("service", _("Pilih layanan."))
        elif self.values["service"] not in {s.code for s in self.covered_services}:
            self._error("service", _("Tidak ada perjanjian berlaku yang mencakup layanan ini."))

    def _check_partner(self) -> None:
        if not self.values["to"]:
            self._error("to", _("Pilih mitra penerima."))
        elif self.partner is None:
            self._error("to", _("Tidak ada perjanjian berlaku dengan mitra ini untuk layanan ini."))

    def _check_basis(self) -> None:
        basis = self.values["basis"]
        if basis == "consent":
            if not self.values["consent"]:
                self._error("consent", _("Pilih persetujuan klien."))
            elif self.consent is None:
                self._error(
                    "consent",
                    _("Persetujuan ini tidak dapat dipakai untuk mitra dan layanan ini."),
                )
        elif basis == "override":
            if self.values["legal_basis"] not in LEGAL_BASES:
                self._error("legal_basis", _("Pilih dasar hukum."))
            try:
                ReferralIn().fields["justification"].deserialize(self.values["justification"])
            except ValidationError as error:
                self.errors.update(schema_errors(error.messages, "justification"))
            # Whether the user may send an override is the operation's to decide, at send.
        else:
            self._error(
                "basis", _("Pilih dasar pengiriman: persetujuan klien atau dasar hukum lain.")
            )

    def _check_categories(self) -> None:
        offered = set(self.offered_categories)
        refused = [c for c in self.values["data_categories"] if c not in offered]
        if refused:
            self._error(
                "data_categories",
                _(
                    "Tidak boleh dibagikan: %(names)s.",
                    names=", ".join(label("category", c) for c in refused),
                ),
            )

    def _check_details(self) -> None:
        if self.values["urgency"] not in URGENCIES:
            self._error("urgency", _("Pilih urgensi."))
        if not self.values["reason"]:
            self._error("reason", _("Wajib diisi."))
        if "legal" in self.values["data_categories"] and not (
            self.values["legal_police_report_number"] or self.values["legal_court_case_number"]
        ):
            self._error(
                "legal_police_report_number",
                _(
                    "Isi nomor laporan polisi atau nomor perkara, "
                    "atau jangan bagikan kategori Hukum."
                ),
            )
        if self.errors:
            return
        try:
            ReferralIn().load(self.payload())
        except ValidationError as error:
            mine = set(STEP_FIELDS["details"])
            for name, texts in self._api_errors(schema_errors(error.messages)).items():
                if name in mine:
                    self.errors.setdefault(name, []).extend(texts)

    def _check_review(self) -> None:
        return None

    # --- the referral -------------------------------------------------------------------

    def case_data(self) -> dict[str, Any]:
        """The case data of the chosen case categories, as the API takes it."""
        v = self.values
        chosen = self.chosen_case_categories
        data: dict[str, Any] = {}
        if "case_summary" in chosen:
            summary: dict[str, Any] = {"violence_types": list(v["cs_violence_types"])}
            if v["cs_incident_place_type"]:
                summary["incident_place_type"] = v["cs_incident_place_type"]
            if v["cs_chronology"]:
                summary["chronology"] = v["cs_chronology"]
            data["case_summary"] = summary
        if "health" in chosen:
            data["health"] = {"notes": v["health_notes"]}
        if "legal" in chosen:
            legal = {
                "police_report_number": v["legal_police_report_number"],
                "court_case_number": v["legal_court_case_number"],
            }
            data["legal"] = {k: x for k, x in legal.items() if x}
        if "perpetrator" in chosen:
            perpetrator = {"relationship": v["perp_relationship"]}
            if v["perp_details"]:
                perpetrator["details"] = v["perp_details"]
            data["perpetrator"] = perpetrator
        return data

    def payload(self) -> dict[str, Any]:
        """The body the API would take for this referral."""
        v = self.values
        body: dict[str, Any] = {
            "client": v["client"],
            "to": v["to"],
            "service": v["service"],
            "urgency": v["urgency"] or "routine",
            "reason": v["reason"],
            "data_categories": list(v["data_categories"]),
            "case_data": self.case_data(),
        }
        if v["sender_reference"]:
            body["sender_reference"] = v["sender_reference"]
        if v["basis"] == "consent":
            body["consent"] = v["consent"]
        elif v["basis"] == "override":
            # Who approves is the user sending, not a name: a supervisor's override is sent,
            # anyone else's waits for a supervisor of the unit.
            body["legal_basis"] = v["legal_basis"]
            body["justification"] = v["justification"]
        return body

    def _api_errors(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, texts in errors.items():
            out.setdefault(API_FIELDS.get(name, name), []).extend(texts)
        return out

    def send(self) -> Referral | None:
        """Send through send_referral; a refusal lands beside the field it is about."""
        try:
            data = ReferralIn().load(self.payload())
        except ValidationError as error:
            self.errors.update(self._api_errors(schema_errors(error.messages)))
            return None
        try:
            return ops.send_referral(self.actor, data)
        except Problem as problem:
            # A supervisor's approval refused is the wizard's to explain, not an error page.
            self.refused(take_refusal(problem, shown_slugs=(ops.OVERRIDE_NOT_AUTHORISED,)))
            return None

    def refused(self, problem: Problem) -> None:
        """Put an operation's refusal beside the wizard field it concerns."""
        message = problem_message(problem)
        errors = self._api_errors(translate_errors(problem.errors))
        if problem.slug in (
            clients.CONSENT_WITHDRAWN,
            clients.CONSENT_EXPIRED,
            clients.CONSENT_NOT_COVERING,
        ):
            # The consent is what falls short, whatever field the operation names.
            errors = {"consent": [message]}
        elif problem.slug == ops.OVERRIDE_NOT_AUTHORISED:
            errors = {"basis": [message, *errors.get("basis", [])]}
        for name, texts in errors.items():
            self.errors.setdefault(name, []).extend(texts)
        self.message = message

    def first_error_step(self) -> str:
        """The step that holds the first field in error (the review for the form as a whole)."""
        for step in STEPS:
            if any(name in self.errors for name in STEP_FIELDS[step]):
                return step
        return "review"

    # --- the review: exactly what the recipient will see -----------------------------------

    def preview(self) -> Referral:
        """The referral as it would be sent, not saved: for the recipient's view of it."""
        partner, client = self.partner, self.client
        if partner is None or client is None:
            raise ValueError("preview needs a client and a partner")
        now = utcnow()
        urgency = self.values["urgency"] or "routine"
        override = self.values["basis"] == "override"
        referral = Referral(
            number=_("(nomor diberikan saat dikirim)"),
            sender_organization_id=self.actor.organization_id,
            recipient_organization_id=partner.organization.id,
            client_id=client.id,
            service_code=self.values["service"],
            agreement_id=partner.agreement.id,
            consent_id=None if override else self.values["consent"],
            legal_basis=self.values["legal_basis"] if override else "consent",
            urgency=urgency,
            data_categories=list(dict.fromkeys([ALWAYS_SHARED, *self.values["data_categories"]])),
            status="requested",
            respond_by=ops.respond_by_for(now, partner.agreement.response_hours, urgency),
            created_at=now,
            updated_at=now,
        )
        referral.sender = db.session.get(Organization, self.actor.organization_id)
        referral.recipient = partner.organization
        referral.client = client
        referral.agreement = partner.agreement
        referral.consent = None if override else self.consent
        referral.override_approved_by = self.approver if override else None
        referral.reason = self.values["reason"]
        referral.case_data = self.case_data() or None
        if override:
            referral.override_justification = self.values["justification"]
        return referral


def recipient_view(referral: Referral, *, as_sent: bool = False) -> dict[str, Any]:
    """The referral exactly as its recipient sees it, from the one minimising function
    (`as_sent`: a waiting override as its recipient will see it once approved).

    Nothing is logged here: the caller logs who actually saw it.
    """
    # The recipient's side as its staff see it: built by the hub for a preview or a letter,
    # not read by anyone of the recipient (so no right of a reader narrows it).
    seen_by = Actor(
        organization_id=referral.recipient_organization_id,
        kind="system",
        label="recipient view",
        organization_type=referral.recipient.type if referral.recipient else None,
    )
    view = ops.referral_view(seen_by, referral, record=False, as_sent=as_sent)
    view["visible_categories"] = visible_in_order(referral, status=view["status"])
    return view


def visible_in_order(referral: Referral, *, status: str | None = None) -> list[str]:
    """The categories the recipient sees now (or in `status`), in the domain's order."""
    visible = ops.visible_categories(referral, RECIPIENT, status=status)
    return [c for c in DATA_CATEGORIES if c in visible]


def shown_personal_categories(view: dict[str, Any]) -> list[str]:
    """The personal-data categories a recipient's view holds (what showing it discloses)."""
    return ops.personal_categories_in(view["client"])


def _problem_text(problem: Problem) -> str:
    return problem_message(problem)
