"""Wire shapes of cases, their plan and notes: one per direction."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from referral_hub.cases.models import (
    CLOSE_REASONS,
    PERPETRATOR_RELATIONSHIPS,
    PLAN_STATUSES,
    RISK_LEVELS,
    STATUSES,
)
from referral_hub.categories import DATA_CATEGORIES
from referral_hub.clients.name_index import MAX_SEARCH_TEXT, search_words
from referral_hub.pagination import PageArgs
from referral_hub.referrals.schemas import (
    INCIDENT_PLACES,
    LEGAL_BASES,
    URGENCIES,
    VIOLENCE_TYPES,
    OrgRefOut,
    ReferralCaseOut,
    ReferralIn,
    UserRefOut,
)

_text = validate.Length(min=1, max=4000)
_ref = validate.Length(min=1, max=254)


class IncidentIn(Schema):
    occurred_on = fields.Date(allow_none=True)
    place_type = fields.String(allow_none=True, validate=validate.OneOf(INCIDENT_PLACES))
    region_code = fields.String(
        allow_none=True, validate=validate.Regexp(r"^[0-9]{2}(\.[0-9]{2}){0,3}$")
    )


class _CaseFields(Schema):
    risk_level = fields.String(validate=validate.OneOf(RISK_LEVELS))
    violence_types = fields.List(
        fields.String(validate=validate.OneOf(VIOLENCE_TYPES)),
        validate=validate.Length(max=len(VIOLENCE_TYPES)),
    )
    incident = fields.Nested(IncidentIn)
    perpetrator_relationship = fields.String(
        allow_none=True, validate=validate.OneOf(PERPETRATOR_RELATIONSHIPS)
    )
    summary = fields.String(allow_none=True, validate=_text)
    caseworker = fields.String(
        allow_none=True,
        validate=_ref,
        metadata={"description": "a user of the unit (id or e-mail); null: nobody yet"},
    )
    supervisor = fields.String(
        allow_none=True,
        validate=_ref,
        metadata={"description": "a supervisor of the unit (id or e-mail)"},
    )


class CaseIn(_CaseFields):
    client = fields.String(required=True, validate=validate.Length(min=1, max=64))
    intake = fields.String(validate=validate.Length(min=1, max=32))
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))


class CasePatchIn(_CaseFields):
    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Nothing to change.")


class CaseCloseIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(CLOSE_REASONS))
    summary = fields.String(validate=_text)


class CaseFilters(Schema):
    """The filters of the unit's case list; a name is never one of them in a URL."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    caseworker = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "a user id, or `me` for the caller's own (a person's token)"},
    )
    client = fields.String(validate=validate.Length(min=1, max=32))
    number = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Cases whose number (KS-…) holds this text, in any case"},
    )
    violence_type = fields.String(
        validate=validate.OneOf(VIOLENCE_TYPES),
        metadata={"description": "Cases with this violence type among theirs (SIMFONI code)"},
    )
    opened_from = fields.Date(
        metadata={"description": "Opened on or after this day (the hub's calendar)"}
    )
    opened_until = fields.Date(
        metadata={"description": "Opened on or before this day (the hub's calendar)"}
    )


class CaseQueryArgs(PageArgs, CaseFilters):
    @pre_load
    def _no_name_in_urls(self, data, **kwargs):
        # An unknown parameter already fails; this one says where the search went.
        for name in ("q", "name", "client_name"):
            if name in data:
                raise ValidationError(
                    "A client's name is not sent in a URL: POST /api/v1/cases/search with "
                    "`client_name` in the body.",
                    field_name=name,
                )
        return data


class CaseSearchIn(CaseFilters):
    """The case list's filters and a part of the client's name, in the body (never a URL)."""

    client_name = fields.String(
        required=True,
        validate=validate.Length(min=3, max=MAX_SEARCH_TEXT),
        metadata={
            "description": "A part of the client's name: each word given (3 letters or more) "
            "begins a word of the name, in any order (the clients' name index)"
        },
    )

    @validates_schema
    def _words(self, data, **kwargs) -> None:
        if "client_name" in data and not search_words(data["client_name"]):
            raise ValidationError("Give a word of 3 letters or more.", field_name="client_name")


class PlanItemIn(Schema):
    service = fields.String(required=True, validate=validate.Length(min=1, max=64))
    provider = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "an organisation (id or code); left out: the unit itself"},
    )
    due_on = fields.Date()
    note = fields.String(validate=_text)


class PlanItemPatchIn(Schema):
    status = fields.String(validate=validate.OneOf(PLAN_STATUSES))
    due_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True, validate=_text)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Nothing to change.")


class PlanItemReferIn(Schema):
    """A referral for the item: the gates of POST /referrals, the case data from the case."""

    consent = fields.String(validate=validate.Length(min=1, max=64))
    legal_basis = fields.String(validate=validate.OneOf(LEGAL_BASES))
    justification = fields.String(validate=validate.Length(min=20, max=4000))
    approved_by = fields.String(validate=_ref)
    urgency = fields.String(load_default="routine", validate=validate.OneOf(URGENCIES))
    reason = fields.String(
        validate=_text, metadata={"description": "left out: the item's note is the reason"}
    )
    data_categories = fields.List(
        fields.String(validate=validate.OneOf(DATA_CATEGORIES)),
        load_default=list,
        validate=validate.Length(max=len(DATA_CATEGORIES)),
    )
    sender_reference = fields.String(validate=validate.Length(min=1, max=100))

    @validates_schema
    def _basis(self, data, **kwargs):
        """The rule of a direct send, word for word (referrals.schemas.ReferralIn)."""
        ReferralIn._basis(self, data, **kwargs)


class CaseNoteIn(Schema):
    text = fields.String(required=True, validate=_text)
    follow_up_on = fields.Date()


class CaseUserOut(UserRefOut):
    """A user of the unit: the referrals' user reference, under the cases' own name."""


class CaseClientOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)


class PlanReferralOut(ReferralCaseOut):
    """The referral an item was referred by: its reference and its status."""

    status = fields.String(required=True)


class IncidentOut(Schema):
    occurred_on = fields.Date(allow_none=True)
    place_type = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True)


class ClosingOut(Schema):
    reason = fields.String(required=True, metadata={"enum": list(CLOSE_REASONS)})
    summary = fields.String(allow_none=True)
    at = fields.DateTime(required=True)


class PlanItemOut(Schema):
    id = fields.String(required=True)
    service = fields.String(required=True)
    provider = fields.Nested(OrgRefOut, required=True)
    by_unit = fields.Boolean(required=True, metadata={"description": "the unit's own service"})
    due_on = fields.Date(allow_none=True)
    overdue = fields.Boolean(required=True)
    note = fields.String(allow_none=True)
    status = fields.String(
        required=True,
        metadata={
            "enum": list(PLAN_STATUSES),
            "description": "once referred, the referral's: live in_progress, completed done, "
            "ended otherwise cancelled",
        },
    )
    referral = fields.Nested(PlanReferralOut, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CaseSummaryOut(Schema):
    """A case in a list; the full read (CaseOut) adds to it."""

    id = fields.String(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    client = fields.Nested(CaseClientOut, required=True)
    risk_level = fields.String(required=True)
    caseworker = fields.Nested(CaseUserOut, allow_none=True)
    opened_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CaseOut(CaseSummaryOut):
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    intake = fields.String(allow_none=True)
    violence_types = fields.List(fields.String(), required=True)
    incident = fields.Nested(IncidentOut, required=True)
    perpetrator_relationship = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)
    supervisor = fields.Nested(CaseUserOut, allow_none=True)
    closing = fields.Nested(ClosingOut, allow_none=True)
    plan_items = fields.List(fields.Nested(PlanItemOut), required=True)


class CaseNoteOut(Schema):
    id = fields.String(required=True)
    text = fields.String(required=True)
    follow_up_on = fields.Date(allow_none=True)
    follow_up_done_at = fields.DateTime(allow_none=True)
    author = fields.Nested(CaseUserOut, allow_none=True)
    created_at = fields.DateTime(required=True)


class TimelineItemOut(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "enum": [
                "case_opened",
                "case_closed",
                "intake",
                "consent_recorded",
                "consent_withdrawn",
                "plan_item",
                "referral",
                "appointment",
                "note",
                "disclosure",
            ]
        },
    )
    id = fields.String()
    number = fields.String()
    status = fields.String(allow_none=True)
    service = fields.String()
    services = fields.List(fields.String())
    organization = fields.String(allow_none=True)
    categories = fields.List(fields.String())
    date = fields.Date(allow_none=True)
    text = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    this_case = fields.Boolean()
    channel = fields.String(metadata={"description": "an intake's channel"})
    risk_level = fields.String(allow_none=True, metadata={"description": "an intake's triage"})
