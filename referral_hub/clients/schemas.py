"""Wire shapes of clients, consents and disclosures."""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from referral_hub.categories import DATA_CATEGORIES
from referral_hub.clients.models import (
    ASSENT_AGE,
    CONSENT_GIVERS,
    CONSENT_METHODS,
    DISABILITIES,
    DISCLOSURE_KINDS,
    ERASURE_REASONS,
    SEXES,
)
from referral_hub.clients.name_index import MATCH_REASONS, MAX_SEARCH_TEXT, search_words
from referral_hub.directory.schemas import KnownRegion, OrganizationRefOut
from referral_hub.pagination import PageArgs
from referral_hub.referrals.schemas import AppointmentCoreOut, CaseDataOut, ReferralCoreOut

#: Regency ("64.09") or district ("64.09.01"): the village belongs in the (encrypted) address.
DOMICILE_REGION = re.compile(r"^\d{2}\.\d{2}(\.\d{2})?$")
#: Loose on purpose (people write 0812-3456-789, +62 812 ..., (0542) 123456) but bounded.
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,22}[0-9]$")
NIK_SEPARATORS = re.compile(r"[\s.-]")
#: The same rule as a pattern for the OpenAPI contract: 16 digits, separators anywhere.
NIK_PATTERN = r"^[\s.-]*(?:[0-9][\s.-]*){16}$"
SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
#: Nobody alive was born before this; older dates are typing mistakes.
OLDEST_BIRTH_DATE = dt.date(1900, 1, 1)

_name = validate.Length(min=1, max=200)


def _strip_strings(data, names):
    if isinstance(data, dict):
        data = dict(data)
        for name in names:
            if isinstance(data.get(name), str):
                data[name] = data[name].strip()
    return data


class StrictBoolean(fields.Boolean):
    """JSON true or false only: 0, 1, "yes" or "on" are refused, not guessed.

    A safeguarding flag (the guardian is the alleged perpetrator, the child assented) must be
    what the caller meant; marshmallow's Boolean would read 0, "n" or "off" as a decision.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # 1 == True in Python: compare types, not values
            raise self.make_error("invalid", input=value)
        return value


class NikField(fields.String):
    """A NIK: 16 digits; spaces, dots and hyphens people type between groups are dropped."""

    def __init__(self, **kwargs) -> None:
        # documented, so a client generated from the contract knows a NIK before sending it
        kwargs["metadata"] = {"pattern": NIK_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        digits = NIK_SEPARATORS.sub("", text)
        if not (len(digits) == 16 and digits.isascii() and digits.isdigit()):
            raise ValidationError("A NIK is 16 digits.")
        return digits


class GuardianIn(Schema):
    name = fields.String(required=True, validate=_name)
    relationship = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(validate=validate.Regexp(PHONE, error="Not a phone number."))
    is_alleged_perpetrator = StrictBoolean(load_default=False)

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(data, ("name", "relationship", "phone"))


class ClientIn(Schema):
    full_name = fields.String(required=True, validate=_name)
    nik = NikField()
    birth_date = fields.Date(required=True)
    sex = fields.String(required=True, validate=validate.OneOf(SEXES))
    disability = fields.List(
        fields.String(validate=validate.OneOf(DISABILITIES)),
        load_default=list,
        validate=validate.Length(max=len(DISABILITIES)),
        metadata={"description": "Kinds of disability (UU 8/2016); empty when none"},
    )
    phone = fields.String(validate=validate.Regexp(PHONE, error="Not a phone number."))
    address = fields.String(validate=validate.Length(min=1, max=500))
    domicile_region = fields.String(
        required=True,
        validate=validate.Regexp(
            DOMICILE_REGION,
            error="Give the Kemendagri code of the regency (64.09) or district (64.09.01); "
            "the village belongs in the address.",
        ),
    )
    guardian = fields.Nested(GuardianIn)
    simfoni_id = fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"),
        metadata={"description": "The case's reference in SIMFONI-PPA"},
    )

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(data, ("full_name", "phone", "address", "simfoni_id"))

    @validates("birth_date")
    def _plausible_birth_date(self, value: dt.date, **kwargs) -> None:
        from referral_hub.clients.models import local_today

        if value > local_today():
            raise ValidationError("A birth date cannot be in the future.")
        if value < OLDEST_BIRTH_DATE:
            raise ValidationError("This birth date is not plausible.")

    @validates("domicile_region")
    def _known_region(self, value: str, **kwargs) -> None:
        if DOMICILE_REGION.match(value):  # otherwise the pattern's message says it all
            KnownRegion(levels=(2, 3))(value)

    @validates("disability")
    def _distinct(self, value: list[str], **kwargs) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("List each kind once.")


class GuardianOut(Schema):
    name = fields.String(required=True)
    relationship = fields.String(required=True)
    phone = fields.String(allow_none=True)
    is_alleged_perpetrator = fields.Boolean(required=True)


class ClientCreatedOut(Schema):
    """What a client's registration answers: no personal data echoed back."""

    id = fields.String(required=True)
    code = fields.String(required=True)
    age_band = fields.Function(lambda c: c.age_band(), required=True)
    is_child = fields.Function(lambda c: c.is_child(), required=True)
    sex = fields.String(required=True)
    domicile_region = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class PossibleMatchOut(Schema):
    """An existing client who may be the same person: its id and why, nothing personal."""

    id = fields.String(required=True, attribute="client_id")
    reasons = fields.List(
        fields.String(validate=validate.OneOf(MATCH_REASONS)),
        required=True,
        metadata={
            "description": "nik: the same NIK; name_same / name_close: the same name or a "
            "close spelling of it; age: an age within 2 years; region: the same regency"
        },
    )


class ClientRegisteredOut(ClientCreatedOut):
    """A registration's answer: the new client, and the clients of the unit who may be the
    same person (found before it was created; nothing is merged)."""

    possible_matches = fields.List(fields.Nested(PossibleMatchOut), required=True)


class MatchQueryIn(Schema):
    """Who is about to be registered: what is known of the person (give a NIK or a name)."""

    nik = NikField()
    full_name = fields.String(validate=_name)
    birth_date = fields.Date()
    age_years = fields.Integer(validate=validate.Range(min=0, max=130))
    domicile_region = fields.String(
        validate=validate.Regexp(DOMICILE_REGION, error="A regency or district code.")
    )

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(data, ("full_name",))

    @validates_schema
    def _who(self, data, **kwargs) -> None:
        if not data.get("nik") and not data.get("full_name"):
            raise ValidationError("Give nik or full_name.", field_name="full_name")


class MatchListOut(Schema):
    items = fields.List(fields.Nested(PossibleMatchOut), required=True)


class ClientSummaryOut(ClientCreatedOut):
    """A client in a list: pseudonymous, so listing reveals no personal data."""

    disability = fields.List(fields.String(), required=True)
    simfoni_id = fields.String(allow_none=True)


class ClientOut(ClientSummaryOut):
    """The owner's full read; once erased, the personal fields read "[erased]" or null."""

    organization = fields.Nested(OrganizationRefOut, required=True)
    erased_at = fields.DateTime(allow_none=True)
    full_name = fields.String(required=True)
    nik = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    guardian = fields.Nested(GuardianOut, allow_none=True)


#: A NIK in a URL ends up in access logs, proxies and browser histories.
NIK_NOT_IN_URLS = (
    "A NIK is never sent in a URL (access logs keep URLs): search with "
    "POST /api/v1/clients/search and the NIK in the body."
)


#: A name in a URL would sit in the same logs.
NAME_NOT_IN_URLS = (
    "A name is never sent in a URL (access logs keep URLs): search with "
    "POST /api/v1/clients/search and the name in the body."
)


class ClientQueryArgs(PageArgs):
    code = fields.String(validate=validate.Length(min=1, max=40))
    simfoni_id = fields.String(validate=validate.Length(min=1, max=64))

    @pre_load
    def _no_nik_in_urls(self, data, **kwargs):
        # An unknown parameter already fails; this one says where the search went.
        if "nik" in data:
            raise ValidationError(NIK_NOT_IN_URLS, field_name="nik")
        for name in ("q", "name", "full_name"):
            if name in data:
                raise ValidationError(NAME_NOT_IN_URLS, field_name=name)
        return data


class ClientSearchIn(Schema):
    """A search kept out of URLs (and so out of proxy and access logs): give at least one."""

    nik = NikField()
    code = fields.String(validate=validate.Length(min=1, max=40))
    simfoni_id = fields.String(validate=validate.Length(min=1, max=64))
    name = fields.String(
        validate=validate.Length(min=3, max=MAX_SEARCH_TEXT),
        metadata={
            "description": "A part of the name: each word given (3 letters or more) begins a "
            "word of the client's name, in any order; case, accents, titles and doubled "
            "letters do not matter"
        },
    )

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(data, ("name",))

    @validates_schema
    def _something(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("Give nik, code, simfoni_id or name.", field_name="nik")
        if "name" in data and not search_words(data["name"]):
            raise ValidationError("Give a word of 3 letters or more.", field_name="name")


class ConsentIn(Schema):
    given_by = fields.String(required=True, validate=validate.OneOf(CONSENT_GIVERS))
    giver_name = fields.String(validate=_name)
    giver_relationship = fields.String(validate=validate.Length(min=1, max=64))
    giver_is_alleged_perpetrator = StrictBoolean(load_default=False)
    giver_cleared_by_supervisor = StrictBoolean(
        load_default=False,
        metadata={
            "description": "The caller, an active supervisor of the client's unit acting "
            "personally, has made sure that a giver who resembles the guardian flagged as the "
            "alleged perpetrator (a close spelling, the same relationship) is another person"
        },
    )
    child_assent = StrictBoolean(
        allow_none=True,
        metadata={"description": "Required when the client is a child: did the child agree?"},
    )
    child_assent_refusal_reason = fields.String(
        validate=validate.Length(min=1, max=2000),
        metadata={
            "description": "Required when child_assent is false: why the child did not agree "
            f"(encrypted at rest). From age {ASSENT_AGE} the refusal blocks sharing on this "
            "consent"
        },
    )
    recipients = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "Organisation ids or codes"},
    )
    services = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    data_categories = fields.List(
        fields.String(validate=validate.Length(min=1, max=32)),
        required=True,
        validate=validate.Length(min=1, max=len(DATA_CATEGORIES)),
        metadata={"description": "Category codes; demographics is always implied"},
    )
    method = fields.String(required=True, validate=validate.OneOf(CONSENT_METHODS))
    evidence_sha256 = fields.String(
        required=True, validate=validate.Regexp(SHA256_HEX, error="64 hexadecimal digits.")
    )
    valid_until = fields.Date(required=True, metadata={"description": "last day it holds"})

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(
            data,
            ("giver_name", "giver_relationship", "evidence_sha256", "child_assent_refusal_reason"),
        )


class WithdrawIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(data, ("reason",))


class ConsentTermsOut(Schema):
    """Who gave a consent, for what and how, and its withdrawal: the owner's read and the
    client's export both name these."""

    id = fields.String(required=True)
    given_by = fields.String(required=True)
    giver_name = fields.String(allow_none=True)
    giver_relationship = fields.String(allow_none=True)
    services = fields.List(fields.String(), required=True)
    data_categories = fields.List(fields.String(), required=True)
    method = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)


class ConsentOut(ConsentTermsOut):
    client_id = fields.String(required=True)
    status = fields.Function(lambda c: c.status(), required=True)
    giver_is_alleged_perpetrator = fields.Boolean(required=True)
    giver_cleared_by = fields.String(
        allow_none=True,
        attribute="giver_cleared_by_user_id",
        metadata={"description": "The supervisor (user id) who cleared a resembling giver"},
    )
    client_was_child = fields.Boolean(required=True)
    child_assent = fields.Boolean(allow_none=True)
    child_assent_refusal_reason = fields.String(allow_none=True)
    recipients = fields.List(fields.Nested(OrganizationRefOut), required=True)
    evidence_sha256 = fields.String(required=True)
    valid_until = fields.Date(required=True)


class DisclosureActorOut(Schema):
    kind = fields.String(required=True, attribute="actor_kind")
    user_id = fields.String(allow_none=True)
    client_id = fields.String(allow_none=True, attribute="oauth_client_id")
    label = fields.String(allow_none=True, attribute="actor_label")


class DisclosureFactsOut(Schema):
    """When, which categories, on what basis, in what context: the log's read and the
    client's export both name these."""

    at = fields.DateTime(required=True)
    categories = fields.List(fields.String(), required=True)
    basis = fields.String(required=True)
    context = fields.String(required=True)


class DisclosureOut(DisclosureFactsOut):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(DISCLOSURE_KINDS))
    organization = fields.Nested(OrganizationRefOut, allow_none=True)
    actor = fields.Function(lambda d: DisclosureActorOut().dump(d), required=True)


class ClientPatchIn(Schema):
    """A rectification: only the fields sent change; null clears an optional one."""

    full_name = fields.String(validate=_name)
    nik = NikField(allow_none=True)
    birth_date = fields.Date()
    phone = fields.String(
        allow_none=True, validate=validate.Regexp(PHONE, error="Not a phone number.")
    )
    address = fields.String(allow_none=True, validate=validate.Length(min=1, max=500))
    guardian = fields.Nested(GuardianIn, allow_none=True)

    @pre_load
    def _strip(self, data, **kwargs):
        return _strip_strings(data, ("full_name", "phone", "address"))

    @validates_schema
    def _something(self, data, **kwargs) -> None:
        if not data:
            raise ValidationError("Give at least one field to correct.", field_name="full_name")

    _plausible_birth_date = ClientIn._plausible_birth_date


class EraseIn(Schema):
    reason = fields.String(
        required=True,
        validate=validate.OneOf(ERASURE_REASONS),
        metadata={"description": "Why (a code: free text could name the person)"},
    )


class ExportRectifiedFieldsOut(Schema):
    """The fields a rectification changed, as they were or became."""

    full_name = fields.String()
    nik = fields.String(allow_none=True)
    birth_date = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    guardian = fields.Nested(GuardianOut, allow_none=True)


class ExportClientOut(ExportRectifiedFieldsOut):
    """The client's record in an export: the rectifiable fields as a rectification shows
    them, and the rest; after erasure only `id`, `code` and `erased`."""

    id = fields.String(required=True)
    code = fields.String(required=True)
    erased = fields.Boolean(required=True)
    organization = fields.Nested(OrganizationRefOut)
    sex = fields.String()
    disability = fields.List(fields.String())
    domicile_region = fields.String(allow_none=True)
    simfoni_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ExportConsentOut(ConsentTermsOut):
    status = fields.String(required=True)
    recipients = fields.List(fields.String(), required=True)
    valid_until = fields.String(required=True)


class ExportOrganizationOut(Schema):
    code = fields.String(required=True)
    name = fields.String()


class ExportCaseDataOut(CaseDataOut):
    """A referral's copy of the case, by data category."""


class ExportAppointmentOut(AppointmentCoreOut):
    pass


class ExportReferralOut(ReferralCoreOut):
    sender = fields.String(required=True)
    recipient = fields.Nested(ExportOrganizationOut, required=True)
    legal_basis = fields.String(allow_none=True)
    case_data = fields.Nested(ExportCaseDataOut, allow_none=True)
    appointments = fields.List(fields.Nested(ExportAppointmentOut), required=True)


class ExportPlanItemOut(Schema):
    service = fields.String(required=True)
    provider = fields.Nested(ExportOrganizationOut, required=True)
    due_on = fields.String(allow_none=True)
    status = fields.String(required=True)
    note = fields.String(allow_none=True)
    referral = fields.String(allow_none=True, metadata={"description": "The referral's number"})
    created_at = fields.DateTime(required=True)


class ExportCaseNoteOut(Schema):
    at = fields.DateTime(required=True)
    text = fields.String(allow_none=True)
    follow_up_on = fields.String(allow_none=True)
    follow_up_done_at = fields.DateTime(allow_none=True)


class ExportCaseOut(Schema):
    number = fields.String(required=True)
    status = fields.String(required=True)
    risk_level = fields.String(required=True)
    violence_types = fields.List(fields.String(), required=True)
    incident_occurred_on = fields.String(allow_none=True)
    incident_place_type = fields.String(allow_none=True)
    incident_region_code = fields.String(allow_none=True)
    perpetrator_relationship = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)
    close_summary = fields.String(allow_none=True)
    opened_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(allow_none=True)
    plan = fields.List(fields.Nested(ExportPlanItemOut), required=True)
    notes = fields.List(fields.Nested(ExportCaseNoteOut), required=True)


class ExportRectificationOut(Schema):
    at = fields.DateTime(required=True)
    fields_ = fields.List(fields.String(), required=True, data_key="fields", attribute="fields")
    before = fields.Nested(ExportRectifiedFieldsOut, allow_none=True)
    after = fields.Nested(ExportRectifiedFieldsOut, allow_none=True)


class ExportDisclosureOut(DisclosureFactsOut):
    kind = fields.String(required=True)
    organization = fields.Nested(ExportOrganizationOut, allow_none=True)
    actor = fields.String(allow_none=True)


class ClientExportOut(Schema):
    """Everything held of a client and its processing history (UU PDP Pasal 7 and 32)."""

    client = fields.Nested(ExportClientOut, required=True)
    erased_at = fields.DateTime(allow_none=True)
    consents = fields.List(fields.Nested(ExportConsentOut), required=True)
    referrals = fields.List(fields.Nested(ExportReferralOut), required=True)
    cases = fields.List(fields.Nested(ExportCaseOut), required=True)
    rectifications = fields.List(fields.Nested(ExportRectificationOut), required=True)
    disclosures = fields.List(fields.Nested(ExportDisclosureOut), required=True)
    exported_at = fields.DateTime(required=True)
