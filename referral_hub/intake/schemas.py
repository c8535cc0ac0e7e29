"""Wire shapes of intakes: one per direction (API.md, Intake from community channels)."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates

from referral_hub.cases.schemas import CaseSummaryOut
from referral_hub.clients.models import SEXES
from referral_hub.clients.schemas import DOMICILE_REGION, PHONE, GuardianIn
from referral_hub.directory.schemas import KnownRegion
from referral_hub.intake.models import CHANNELS, RELATIONSHIPS, RISK_LEVELS, STATUSES
from referral_hub.pagination import PageArgs
from referral_hub.referrals.schemas import INCIDENT_PLACES, VIOLENCE_TYPES, OrgRefOut

_name = validate.Length(min=1, max=200)
_text = validate.Length(min=1, max=4000)


def _strip(data, names):
    if isinstance(data, dict):
        data = dict(data)
        for name in names:
            if isinstance(data.get(name), str):
                data[name] = data[name].strip() or None
    return data


class IntakeReporterIn(Schema):
    name = fields.String(allow_none=True, validate=_name)
    phone = fields.String(
        allow_none=True, validate=validate.Regexp(PHONE, error="Not a phone number.")
    )
    relationship = fields.String(allow_none=True, validate=validate.OneOf(RELATIONSHIPS))
    is_victim = fields.Boolean(load_default=False)

    @pre_load
    def _clean(self, data, **kwargs):
        return _strip(data, ("name", "phone"))


class IntakeVictimIn(Schema):
    name = fields.String(allow_none=True, validate=_name)
    age_years = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=120))
    sex = fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    region_code = fields.String(
        required=True,
        validate=validate.Regexp(
            DOMICILE_REGION,
            error="Give the Kemendagri code of the regency (64.09) or district (64.09.01).",
        ),
        metadata={"description": "where the victim lives: decides the unit in charge"},
    )
    location_hint = fields.String(allow_none=True, validate=validate.Length(min=1, max=500))

    @pre_load
    def _clean(self, data, **kwargs):
        return _strip(data, ("name", "location_hint"))

    @validates("region_code")
    def _known_region(self, value: str, **kwargs) -> None:
        if DOMICILE_REGION.match(value):
            KnownRegion(levels=(2, 3))(value)


class IntakeIncidentIn(Schema):
    violence_types = fields.List(
        fields.String(validate=validate.OneOf(VIOLENCE_TYPES)),
        load_default=list,
        validate=validate.Length(max=len(VIOLENCE_TYPES)),
    )
    summary = fields.String(allow_none=True, validate=_text)
    place_type = fields.String(allow_none=True, validate=validate.OneOf(INCIDENT_PLACES))
    occurred_on = fields.Date(allow_none=True)

    @validates("occurred_on")
    def _not_future(self, value, **kwargs) -> None:
        from referral_hub.clients.models import local_today

        if value is not None and value > local_today():
            raise ValidationError("The incident cannot be in the future.")
        if value is not None and value < EARLIEST_INCIDENT:
            raise ValidationError("Give the incident's date from 1900 on.")


#: The earliest incident date taken (an adult may report what happened in childhood).
EARLIEST_INCIDENT = dt.date(1900, 1, 1)


class Reference(fields.String):
    """An organisation's own reference: spaces around it are not part of it (an app that pads
    it on a retry means the same report); its letters' case is the app's."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.strip() if isinstance(text, str) else text


class IntakeIn(Schema):
    to = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the UPTD PPA (code or id)"},
    )
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    reporter = fields.Nested(IntakeReporterIn, load_default=dict)
    victim = fields.Nested(IntakeVictimIn, required=True)
    incident = fields.Nested(IntakeIncidentIn, load_default=dict)
    immediate_danger = fields.Boolean(load_default=False)
    reporter_may_be_contacted = fields.Boolean(load_default=False)
    external_reference = Reference(
        allow_none=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the reporter's own reference (an app's report id)"},
    )


class IntakeTriageIn(Schema):
    risk_level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    note = fields.String(allow_none=True, validate=_text)


class IntakeForwardIn(Schema):
    to = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "another UPTD PPA (code or id), e.g. the victim's domicile"},
    )


class IntakeRegisterIn(Schema):
    full_name = fields.String(validate=_name)
    birth_date = fields.Date()
    sex = fields.String(validate=validate.OneOf(SEXES))
    domicile_region = fields.String(validate=validate.Regexp(DOMICILE_REGION))
    nik = fields.String(validate=validate.Regexp(r"^\d{16}$"))
    guardian = fields.Nested(
        GuardianIn, metadata={"description": "required when the victim is a child (under 18)"}
    )


class IntakeAcceptIn(Schema):
    client = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "an existing client of the unit; absent: register one"},
    )
    register = fields.Nested(
        IntakeRegisterIn,
        metadata={"description": "what the intake does not tell, to register the victim"},
    )
    caseworker = fields.String(allow_none=True, validate=validate.Length(min=1, max=254))
    supervisor = fields.String(allow_none=True, validate=validate.Length(min=1, max=254))


class IntakeDeclineIn(Schema):
    reason = fields.String(required=True, validate=_text)


class IntakeQueryArgs(PageArgs):
    box = fields.String(load_default="received", validate=validate.OneOf(("sent", "received")))
    status = fields.String(validate=validate.OneOf(STATUSES))
    number = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Intakes whose number (ADU-…) holds this text, in any case"},
    )
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    risk = fields.String(
        validate=validate.OneOf(RISK_LEVELS),
        metadata={
            "description": "The risk triaged; `high` also finds untriaged reports of "
            "immediate danger"
        },
    )
    reporter = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "The reporting organisation, by id"},
    )
    received_from = fields.Date(
        metadata={"description": "Received on or after this day (the hub's calendar)"}
    )
    received_until = fields.Date(
        metadata={"description": "Received on or before this day (the hub's calendar)"}
    )
    external_reference = Reference(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "The reporting organisation's own reference (box=sent only): "
            "after a timeout, whether its report was made"
        },
    )


class IntakeCreatedOut(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    respond_by = fields.DateTime(required=True)


class IntakeHistoryOut(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    organization = fields.Nested(OrgRefOut, required=True)
    to = fields.Nested(OrgRefOut, allow_none=True)
    risk_level = fields.String(allow_none=True)


class IntakeReporterOut(Schema):
    name = fields.String()
    phone = fields.String()
    relationship = fields.String()
    is_victim = fields.Boolean()


class IntakeVictimOut(Schema):
    name = fields.String()
    age_years = fields.Integer()
    sex = fields.String()
    region_code = fields.String(required=True)
    location_hint = fields.String()


class IntakeIncidentOut(Schema):
    violence_types = fields.List(fields.String(), required=True)
    summary = fields.String(allow_none=True)
    place_type = fields.String(allow_none=True)
    occurred_on = fields.Date(allow_none=True)


class IntakeOut(Schema):
    """The reporter's side gets the first fields only; the unit's fields are absent for it."""

    id = fields.String(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    channel = fields.String(required=True)
    to = fields.Nested(OrgRefOut, required=True)
    reported_by = fields.Nested(OrgRefOut, required=True)
    external_reference = fields.String(allow_none=True)
    received_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    history = fields.List(fields.Nested(IntakeHistoryOut), required=True)
    reporter = fields.Nested(IntakeReporterOut, allow_none=True)
    victim = fields.Nested(IntakeVictimOut)
    incident = fields.Nested(IntakeIncidentOut)
    immediate_danger = fields.Boolean()
    reporter_may_be_contacted = fields.Boolean()
    risk_level = fields.String(allow_none=True)
    effective_risk = fields.String()
    triage_note = fields.String(allow_none=True)
    triaged_at = fields.DateTime(allow_none=True)
    respond_by = fields.DateTime()
    overdue = fields.Boolean()
    decline_reason = fields.String(allow_none=True)
    client = fields.String(allow_none=True)
    case = fields.String(allow_none=True)


class IntakeClientRefOut(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)


class IntakeAcceptedOut(Schema):
    intake = fields.Nested(IntakeOut, required=True)
    client = fields.Nested(IntakeClientRefOut, required=True)
    case = fields.Nested(CaseSummaryOut, required=True)


class _Hours(Schema):
    high = fields.Integer(strict=True, required=True, metadata={"description": "hours"})
    medium = fields.Integer(strict=True, required=True, metadata={"description": "hours"})
    low = fields.Integer(strict=True, required=True, metadata={"description": "hours"})


class IntakeClockIn(_Hours):
    """A unit's own hours to answer an intake, by risk: whole hours from 1 to 720, high at
    most 24, and high <= medium <= low."""


class IntakeClockOut(_Hours):
    defaults = fields.Nested(_Hours, required=True, metadata={"description": "the hub's"})
    own = fields.Boolean(
        required=True, metadata={"description": "whether the unit has set its own hours"}
    )
