"""Wire shapes of referrals: one per direction, and one per party for the output."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from referral_hub.categories import DATA_CATEGORIES
from referral_hub.pagination import PageArgs
from referral_hub.referrals.lifecycle import OUTCOMES, STATUSES

VIOLENCE_TYPES = (
    "physical",
    "psychological",
    "sexual",
    "exploitation",
    "trafficking",
    "neglect",
    "other",
)
INCIDENT_PLACES = ("household", "school", "workplace", "public_place", "online", "other")
URGENCIES = ("routine", "urgent", "emergency")
LEGAL_BASES = ("legal_obligation", "vital_interest")

_text = validate.Length(min=1, max=4000)
_short = validate.Length(min=1, max=200)


class CaseSummaryIn(Schema):
    violence_types = fields.List(
        fields.String(validate=validate.OneOf(VIOLENCE_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(VIOLENCE_TYPES)),
    )
    incident_place_type = fields.String(validate=validate.OneOf(INCIDENT_PLACES))
    chronology = fields.String(validate=_text)


class HealthIn(Schema):
    notes = fields.String(required=True, validate=_text)


class LegalIn(Schema):
    police_report_number = fields.String(validate=_short)
    court_case_number = fields.String(validate=_short)


class PerpetratorIn(Schema):
    relationship = fields.String(required=True, validate=_short)
    details = fields.String(validate=_text)


class CaseDataIn(Schema):
    case_summary = fields.Nested(CaseSummaryIn)
    health = fields.Nested(HealthIn)
    legal = fields.Nested(LegalIn)
    perpetrator = fields.Nested(PerpetratorIn)


class ReferralIn(Schema):
    client = fields.String(required=True, validate=validate.Length(min=1, max=64))
    consent = fields.String(validate=validate.Length(min=1, max=64))
    legal_basis = fields.String(validate=validate.OneOf(LEGAL_BASES))
    justification = fields.String(validate=validate.Length(min=20, max=4000))
    approved_by = fields.String(
        validate=validate.Length(min=1, max=254),
        metadata={
            "description": "optional; only the caller's own id or e-mail (an active supervisor "
            "of the sending unit, who sends the override at once). Anyone else's override "
            "is a draft until such a supervisor approves it (POST .../approve)."
        },
    )
    to = fields.String(required=True, validate=validate.Length(min=1, max=64))
    service = fields.String(required=True, validate=validate.Length(min=1, max=64))
    urgency = fields.String(load_default="routine", validate=validate.OneOf(URGENCIES))
    reason = fields.String(required=True, validate=_text)
    data_categories = fields.List(
        fields.String(validate=validate.OneOf(DATA_CATEGORIES)),
        load_default=list,
        validate=validate.Length(max=len(DATA_CATEGORIES)),
    )
    case_data = fields.Nested(CaseDataIn, load_default=dict)
    sender_reference = fields.String(validate=validate.Length(min=1, max=100))

    @validates_schema
    def _basis(self, data, **kwargs):
        """Consent, or an override with its legal basis and justification: never both, never
        none. Who approves an override is the caller, never a name in the body."""
        override = [k for k in ("legal_basis", "justification", "approved_by") if k in data]
        if "consent" in data and override:
            raise ValidationError(
                "Give either a consent or a legal basis, not both.", field_name="legal_basis"
            )
        if "consent" not in data and not override:
            raise ValidationError(
                "A referral needs the client's consent or a supervised legal basis.",
                field_name="consent",
            )
        if override:
            missing = {"legal_basis", "justification"} - set(override)
            if missing:
                raise ValidationError(
                    {name: ["Required with a legal basis."] for name in sorted(missing)}
                )
        undeclared = set(data.get("case_data", {})) - set(data.get("data_categories", []))
        if undeclared:
            raise ValidationError(
                {"case_data": [f"'{c}' is not among data_categories." for c in sorted(undeclared)]}
            )


class ReferralReasonIn(Schema):
    reason = fields.String(required=True, validate=_text)


class ReferralNoteIn(Schema):
    note = fields.String(validate=_text)


class ReferralCompleteIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    summary = fields.String(validate=_text)


def _on_behalf_flag() -> fields.Boolean:
    return fields.Boolean(
        load_default=False,
        metadata={
            "description": "the sender records the recipient's answer on its behalf: only while "
            "the recipient has no one on the hub (else 409 recipient-on-hub), with `note`"
        },
    )


def _how_it_came() -> fields.String:
    return fields.String(
        validate=_text,
        metadata={"description": "with recorded_on_behalf: how the answer came (phone, letter)"},
    )


class OnBehalfIn(Schema):
    """A recipient's answer the sender records on its behalf (a partner not on the hub)."""

    recorded_on_behalf = _on_behalf_flag()
    note = _how_it_came()


class AnswerNoteIn(OnBehalfIn):
    """accept, start, resume."""


class AnswerReasonIn(OnBehalfIn):
    """reject, hold, fail."""

    reason = fields.String(required=True, validate=_text)


class AnswerCompleteIn(OnBehalfIn, ReferralCompleteIn):
    """complete."""


class ReferralQueryArgs(PageArgs):
    box = fields.String(load_default="sent", validate=validate.OneOf(("sent", "received")))
    sort = fields.String(
        load_default="respond_by",
        validate=validate.OneOf(("respond_by", "updated_at")),
        metadata={
            "description": "`respond_by` (default: the most urgent first) or `updated_at` "
            "(for syncing: least recently changed first, ties by id; a stable order to page "
            "through with `updated_since`)"
        },
    )
    updated_since = fields.AwareDateTime(
        metadata={"description": "only referrals changed at or after this instant (RFC 3339)"}
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    service = fields.String(validate=validate.Length(min=1, max=64))
    overdue = fields.Boolean()
    sender_reference = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "The sender's own reference, exactly (box=sent only: a recipient "
            "never learns it)"
        },
    )
    number = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Referrals whose number holds this text, in any case"},
    )
    partner = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "The organisation on the other side, by id: the recipient of a "
            "sent referral, the sender of a received one"
        },
    )
    created_from = fields.Date(
        metadata={"description": "Made on or after this day (the hub's calendar)"}
    )
    created_until = fields.Date(
        metadata={"description": "Made on or before this day (the hub's calendar)"}
    )


class PartyRefOut(Schema):
    """Who acted: a user of the unit, or a machine client (OAuth client id and name)."""

    kind = fields.String(required=True, metadata={"enum": ["user", "client"]})
    id = fields.String(required=True)
    name = fields.String(required=True)


class ApprovalOut(Schema):
    """An override's approval, for its sender (null on consent and for the recipient)."""

    status = fields.String(required=True, metadata={"enum": ["pending", "approved", "declined"]})
    requested_by = fields.Nested(PartyRefOut, allow_none=True)
    decided_by = fields.Nested(PartyRefOut, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)


class OrgRefOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class AppointmentIn(Schema):
    starts_at = fields.AwareDateTime(required=True)
    mode = fields.String(required=True, validate=validate.OneOf(("in_person", "video", "phone")))
    location = fields.String(validate=validate.Length(min=1, max=500))
    practitioner = fields.String(validate=_short)
    duration_minutes = fields.Integer(validate=validate.Range(min=5, max=600))
    recorded_on_behalf = _on_behalf_flag()
    note = _how_it_came()


class AppointmentPatchIn(Schema):
    status = fields.String(
        validate=validate.OneOf(("scheduled", "attended", "no_show", "cancelled"))
    )
    note = fields.String(validate=_text)
    starts_at = fields.AwareDateTime()
    recorded_on_behalf = _on_behalf_flag()


class AppointmentCoreOut(Schema):
    """When, how, where and how it went: what every answer names of an appointment."""

    starts_at = fields.DateTime(required=True)
    mode = fields.String(required=True)
    location = fields.String(allow_none=True)
    status = fields.String(required=True)
    note = fields.String(allow_none=True)


class AppointmentOut(AppointmentCoreOut):
    id = fields.String(required=True)
    duration_minutes = fields.Integer(allow_none=True)
    practitioner = fields.String(allow_none=True)
    recorded_on_behalf = fields.Boolean(required=True)


class TimelineEntryOut(Schema):
    at = fields.DateTime(required=True)
    action = fields.String(required=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    organization = fields.Nested(OrgRefOut, allow_none=True)
    note = fields.String(allow_none=True)
    recorded_on_behalf = fields.Boolean(
        required=True,
        metadata={"description": "recorded by the sender on the recipient's behalf"},
    )
    on_behalf_note = fields.String(
        allow_none=True, metadata={"description": "how the answer came (phone, letter)"}
    )


class CaseworkerContactOut(Schema):
    name = fields.String(required=True)
    work_phone = fields.String(allow_none=True, required=True)


class FocalPointOut(Schema):
    name = fields.String(required=True)
    title = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)


class ContactsOut(Schema):
    """The other party's staff contacts (never a client's)."""

    organization = fields.Nested(OrgRefOut, required=True)
    caseworker = fields.Nested(
        CaseworkerContactOut,
        allow_none=True,
        required=True,
        metadata={"description": "the sending caseworker (the recipient's view only)"},
    )
    focal_points = fields.List(fields.Nested(FocalPointOut), required=True)


class ReferralCaseOut(Schema):
    """The case a referral was made from: the sender's; the recipient's only when shared."""

    id = fields.String(required=True)
    number = fields.String(required=True)


class DemographicsOut(Schema):
    """Shared with every recipient: no one is identified by these."""

    age_band = fields.String(allow_none=True)
    sex = fields.String(allow_none=True)
    disability = fields.List(fields.String(), required=True)
    domicile_region = fields.String(
        allow_none=True, metadata={"description": "Kemendagri region code"}
    )


class IdentityOut(Schema):
    full_name = fields.String(required=True)
    nik = fields.String(allow_none=True, metadata={"description": "NIK (national id number)"})
    birth_date = fields.String(required=True, metadata={"format": "date"})


class ContactOut(Schema):
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)


class GuardianContactOut(Schema):
    """The guardian as someone to contact (never the alleged perpetrator)."""

    name = fields.String(required=True)
    relationship = fields.String(required=True)
    phone = fields.String(allow_none=True)


class ReferralCaseSummaryOut(Schema):
    violence_types = fields.List(
        fields.String(metadata={"enum": list(VIOLENCE_TYPES)}), required=True
    )
    incident_place_type = fields.String(metadata={"enum": list(INCIDENT_PLACES)})
    chronology = fields.String()


class HealthOut(Schema):
    notes = fields.String(required=True)


class LegalOut(Schema):
    police_report_number = fields.String()
    court_case_number = fields.String()


class PerpetratorOut(Schema):
    relationship = fields.String(required=True)
    details = fields.String()


class CaseDataOut(Schema):
    """The case data a referral carries, by data category (the output of CaseDataIn)."""

    case_summary = fields.Nested(ReferralCaseSummaryOut)
    health = fields.Nested(HealthOut)
    legal = fields.Nested(LegalOut)
    perpetrator = fields.Nested(PerpetratorOut)


class ReferralClientOut(CaseDataOut):
    """The client as this reader may see it (one minimising function builds it).

    `code` and `demographics` always; every other part only when its data category is
    shared with the reader (the agreement, the consent, the referral's status and the
    reader's own scopes decide), and absent otherwise. Lists show `code` and `demographics`
    only. `guardian` is null when the guardian is the alleged perpetrator.
    """

    code = fields.String(required=True)
    demographics = fields.Nested(DemographicsOut, required=True)
    identity = fields.Nested(IdentityOut)
    contact = fields.Nested(ContactOut)
    guardian = fields.Nested(GuardianContactOut, allow_none=True)


class ReferralAgreementOut(Schema):
    """The agreement a referral rests on."""

    id = fields.String(required=True)
    number = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["mou", "pks", "contract"]})


class UserRefOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class OverrideOut(Schema):
    """A referral sent without consent, on a legal basis a supervisor approves."""

    legal_basis = fields.String(required=True, metadata={"enum": list(LEGAL_BASES)})
    approved_by = fields.Nested(UserRefOut, allow_none=True)
    justification = fields.String(
        metadata={"description": "the sender's only, with the client's personal data"}
    )


class ReferralCoreOut(Schema):
    """What every answer names of a referral: its number, service, status and outcome."""

    number = fields.String(required=True)
    status = fields.String(required=True)
    status_reason = fields.String(allow_none=True)
    service = fields.String(required=True)
    urgency = fields.String(required=True)
    reason = fields.String(allow_none=True)
    data_categories = fields.List(fields.String(), required=True)
    outcome = fields.String(allow_none=True)
    outcome_summary = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class ReferralOut(ReferralCoreOut):
    """What either party sees; the client part is built by the one minimising function."""

    id = fields.String(required=True)
    sender = fields.Nested(OrgRefOut, required=True)
    recipient = fields.Nested(OrgRefOut, required=True)
    agreement = fields.Nested(ReferralAgreementOut, required=True)
    legal_basis = fields.String(required=True)
    override = fields.Nested(OverrideOut, allow_none=True)
    client = fields.Nested(ReferralClientOut, required=True)
    respond_by = fields.DateTime(required=True)
    overdue = fields.Boolean(required=True)
    sender_reference = fields.String(allow_none=True)
    case = fields.Nested(ReferralCaseOut, allow_none=True)
    approval = fields.Nested(ApprovalOut, allow_none=True)
    allowed_actions = fields.List(fields.String(), required=True)
    appointments = fields.List(fields.Nested(AppointmentOut), required=True)
    recipient_on_hub = fields.Boolean(
        required=True,
        metadata={"description": "someone answers for the recipient on the hub"},
    )
    recorded_on_behalf = fields.Boolean(
        required=True,
        metadata={
            "description": "the current status was recorded by the sender on the recipient's behalf"
        },
    )
    on_behalf_actions = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "the recipient's answers the sender may record on its behalf now "
            "(empty unless the caller is the sender and the recipient is not on the hub)"
        },
    )
    contacts = fields.Nested(
        ContactsOut,
        allow_none=True,
        required=True,
        metadata={
            "description": "the other party's staff contacts; null unless the two "
            "organisations share an agreement"
        },
    )
