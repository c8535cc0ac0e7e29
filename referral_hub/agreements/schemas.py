"""Wire shapes of the MoU registry and of coverage."""

from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from referral_hub.agreements import operations as ops
from referral_hub.agreements.models import KINDS, STATUSES
from referral_hub.categories import DATA_CATEGORIES
from referral_hub.directory.models import PARTNER_TYPES
from referral_hub.directory.regions import region_name
from referral_hub.directory.schemas import KnownRegion, OrganizationRefOut, ServiceOut
from referral_hub.pagination import PageArgs

_REGION = KnownRegion()
_ORG_REF = {"description": "organisation id or code"}


def _text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


# --- input ---------------------------------------------------------------------------------


class ServiceItemIn(Schema):
    service = _text(64, required=True, metadata={"description": "service code"})
    provider = _text(64, required=True, metadata=_ORG_REF)


class SignatoryIn(Schema):
    name = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "may be left out: the title identifies the office"},
    )
    title = _text(200, required=True, metadata={"description": "e.g. Kepala UPTD PPA"})
    organization = _text(64, required=True, metadata=_ORG_REF)


def _content_fields(required: bool) -> dict[str, fields.Field]:
    """The agreement's content fields; all required on create, all optional on PATCH."""

    def opt(**kwargs: Any) -> dict[str, Any]:
        return {"required": True, **kwargs} if required else {}

    return {
        "kind": fields.String(validate=validate.OneOf(KINDS), **opt()),
        "number": _text(100, **opt(), metadata={"description": "the agreement's own number"}),
        "title": _text(300, **opt()),
        "parties": fields.List(
            _text(64, metadata=_ORG_REF),
            validate=validate.Length(min=2, max=ops.MAX_PARTIES),
            **opt(),
        ),
        "services": fields.List(
            fields.Nested(ServiceItemIn), validate=validate.Length(min=1, max=60), **opt()
        ),
        "data_categories": fields.List(
            fields.String(validate=validate.OneOf(DATA_CATEGORIES)),
            validate=validate.Length(max=len(DATA_CATEGORIES)),
            metadata={"description": "'demographics' is always included"},
            **({"load_default": list} if required else {}),
        ),
        "purpose": _text(4000, **opt()),
        "effective_from": fields.Date(**opt()),
        "expires_on": fields.Date(
            **opt(), metadata={"description": "last day in force; after effective_from"}
        ),
        "response_hours": fields.Integer(
            validate=validate.Range(min=1, max=ops.MAX_RESPONSE_HOURS),
            metadata={"description": "hours a provider has to answer a routine referral"},
            **opt(),
        ),
        "signatories": fields.List(
            fields.Nested(SignatoryIn),
            validate=validate.Length(max=40),
            **({"load_default": list} if required else {}),
        ),
        "notes": fields.String(
            allow_none=True, validate=validate.Length(max=4000), load_default=None
        )
        if required
        else fields.String(allow_none=True, validate=validate.Length(max=4000)),
    }


AgreementIn = Schema.from_dict(_content_fields(required=True), name="AgreementIn")
AgreementPatchIn = Schema.from_dict(_content_fields(required=False), name="AgreementPatchIn")


class SignIn(Schema):
    content_sha256 = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={"description": "the content hash you reviewed; refused (409) if it changed"},
    )


class ReasonIn(Schema):
    reason = fields.String(validate=validate.Length(max=2000), allow_none=True)


class TerminateIn(Schema):
    reason = _text(2000, required=True)


class RenewIn(Schema):
    number = _text(
        100,
        metadata={
            "description": "default: the next number (the sequence number + 1, the year "
            "of the new start), e.g. PKS/003/2026 -> PKS/004/2027"
        },
    )
    effective_from = fields.Date(metadata={"description": "default: the day after it expires"})
    expires_on = fields.Date(
        metadata={
            "description": "default: the same length of term (in calendar months when the "
            "old term was whole months)"
        }
    )
    notes = fields.String(allow_none=True, validate=validate.Length(max=4000))


class PaperSignatureIn(Schema):
    organization = _text(64, required=True, metadata={"description": "the party that signed"})
    signed_on = fields.Date(required=True, metadata={"description": "the date on the paper"})
    signatory_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    signatory_title = fields.String(allow_none=True, validate=validate.Length(max=200))
    document = _text(
        32,
        required=True,
        metadata={"description": "id of the signed scan (a PDF uploaded to this agreement)"},
    )


class DisputeIn(Schema):
    reason = _text(2000, required=True)


class DocumentUploadIn(Schema):
    file = Upload(required=True, metadata={"description": "the PDF (at most 20 MB)"})


class _RegistryFilters(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    party = _text(64, metadata=_ORG_REF)
    service = _text(64)
    provider = _text(64, metadata=_ORG_REF)
    region = fields.String(
        validate=_REGION, metadata={"description": "any party in this region or below"}
    )
    expiring_within_days = fields.Integer(validate=validate.Range(min=0, max=ops.MAX_TERM_DAYS))


class AgreementQueryArgs(PageArgs, _RegistryFilters):
    pass


class ExportArgs(_RegistryFilters):
    pass


class CoverageArgs(Schema):
    service = _text(64)
    for_org = _text(64, data_key="for", metadata=_ORG_REF)


class MatrixArgs(Schema):
    for_org = _text(64, data_key="for", metadata=_ORG_REF)
    region = fields.String(validate=_REGION)
    type = fields.String(
        validate=validate.OneOf(PARTNER_TYPES),
        metadata={"description": "organisation type of the rows for a region; uptd_ppa"},
    )


# --- output --------------------------------------------------------------------------------


def _org_ref(org) -> dict[str, Any] | None:
    if org is None:
        return None
    return {"id": org.id, "code": org.code, "name": org.name, "type": org.type}


class PartyOut(Schema):
    id = fields.Function(lambda p: p.organization.id, required=True)
    code = fields.Function(lambda p: p.organization.code, required=True)
    name = fields.Function(lambda p: p.organization.name, required=True)
    type = fields.Function(lambda p: p.organization.type, required=True)
    region_code = fields.Function(lambda p: p.organization.region_code, allow_none=True)
    region_name = fields.Function(
        lambda p: region_name(p.organization.region_code), allow_none=True
    )
    signed = fields.Function(
        lambda p: p.organization_id in p.agreement.signed_party_ids, required=True
    )


class AgreementServiceOut(Schema):
    service = fields.String(attribute="service_code", required=True)
    provider = fields.Nested(OrganizationRefOut, required=True)


class SignatoryOut(Schema):
    name = fields.String(allow_none=True)
    title = fields.String(required=True)
    organization = fields.Nested(OrganizationRefOut, required=True)


class SignatureOut(Schema):
    organization = fields.Nested(OrganizationRefOut, required=True)
    signed_at = fields.DateTime(required=True)
    signed_by = fields.Function(
        lambda s: {
            "kind": s.actor_kind,
            "user_id": s.user_id,
            "client_id": s.client_id,
            "label": s.actor_label,
        },
        required=True,
        metadata={"description": "the user or OAuth client that signed for the organisation"},
    )
    content_sha256 = fields.String(required=True)
    method = fields.String(
        required=True, metadata={"description": "hub | paper: how the party's signature was given"}
    )
    recorded_by = fields.Function(
        lambda s: _org_ref(s.recorded_by) if s.method == "paper" else None,
        allow_none=True,
        metadata={"description": "paper: the organisation whose administrator recorded it"},
    )
    document = fields.String(
        attribute="document_id",
        allow_none=True,
        metadata={"description": "paper: id of the signed scan among the documents"},
    )
    signed_on = fields.Date(allow_none=True, metadata={"description": "paper: date on the paper"})
    signatory_name = fields.String(allow_none=True)
    signatory_title = fields.String(allow_none=True)
    confirmation = fields.Function(
        lambda s: (
            None
            if s.method != "paper"
            else {
                "state": s.confirmation,
                "at": s.answered_at.isoformat() if s.answered_at else None,
                "by": s.answered_by_label,
                "reason": s.dispute_reason,
            }
        ),
        allow_none=True,
        metadata={
            "description": "paper: the party's answer: state pending | confirmed | disputed "
            "(a disputed signature does not count), when, by whom, the dispute's reason"
        },
    )


class DocumentOut(Schema):
    id = fields.String(required=True)
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    content_type = fields.Constant("application/pdf")
    uploaded_at = fields.DateTime(required=True)
    uploaded_by_organization_id = fields.String(allow_none=True)


class AgreementOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    purpose = fields.String(required=True)
    status = fields.Function(
        lambda a: ops.effective_status(a),
        required=True,
        metadata={"description": "effective now: " + " | ".join(STATUSES)},
    )
    version = fields.Integer(required=True)
    supersedes = fields.String(attribute="supersedes_id", allow_none=True, required=True)
    renewed_by = fields.Function(
        lambda a: next((r.id for r in reversed(a.renewals) if r.status != "terminated"), None),
        allow_none=True,
        metadata={"description": "the renewal of this agreement, if any"},
    )
    parties = fields.List(fields.Nested(PartyOut), required=True)
    services = fields.List(fields.Nested(AgreementServiceOut), required=True)
    data_categories = fields.List(fields.String(), required=True)
    effective_from = fields.Date(required=True)
    expires_on = fields.Date(required=True)
    response_hours = fields.Integer(required=True)
    signatories = fields.Method("get_signatories", required=True)
    notes = fields.String(allow_none=True)
    signatures = fields.List(fields.Nested(SignatureOut), required=True)
    awaiting_signature_from = fields.Method("get_awaiting", required=True)
    content_sha256 = fields.Function(
        lambda a: ops.content_sha256(a),
        required=True,
        metadata={"description": "SHA-256 of the canonical content; what a signature covers"},
    )
    documents = fields.List(fields.Nested(DocumentOut), required=True)
    activated_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    termination_reason = fields.String(allow_none=True)
    status_reason = fields.String(allow_none=True)
    created_by = fields.Method("get_created_by", required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    def get_signatories(self, agreement) -> list[dict[str, Any]]:
        orgs = {p.organization_id: p.organization for p in agreement.parties}
        return [
            {
                "name": s.get("name"),
                "title": s["title"],
                "organization": _org_ref(orgs.get(s["organization_id"])),
            }
            for s in agreement.signatories
        ]

    def get_awaiting(self, agreement) -> list[dict[str, Any]]:
        if ops.effective_status(agreement) != "draft":
            return []
        signed = agreement.signed_party_ids
        return [
            _org_ref(p.organization) for p in agreement.parties if p.organization_id not in signed
        ]

    def get_created_by(self, agreement) -> dict[str, Any]:
        return {
            "organization_id": agreement.created_by_organization_id,
            "user_id": agreement.created_by_user_id,
            "client_id": agreement.created_by_client_id,
        }


class AgreementRefOut(Schema):
    id = fields.String(required=True)
    number = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    expires_on = fields.Date(required=True)


class CoverageItemOut(Schema):
    service = fields.String(attribute="service_code", required=True)
    organization = fields.Nested(
        OrganizationRefOut,
        attribute="provider",
        required=True,
        metadata={"description": "the organisation the service can be referred to"},
    )
    agreement = fields.Nested(AgreementRefOut, required=True)
    data_categories = fields.List(fields.String(), required=True)
    response_hours = fields.Integer(required=True)


class CoverageOut(Schema):
    organization = fields.Nested(OrganizationRefOut, required=True)
    service = fields.String(allow_none=True)
    date = fields.Date(
        required=True,
        metadata={"description": "the day it holds for, in the hub's time zone (HUB_TIMEZONE)"},
    )
    items = fields.List(fields.Nested(CoverageItemOut), required=True)


class MatrixCoverOut(Schema):
    provider = fields.Nested(OrganizationRefOut, required=True)
    agreement = fields.Nested(AgreementRefOut, required=True)


class MatrixCellOut(Schema):
    service = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "covered | own | gap"})
    offered_by_self = fields.Boolean(required=True)
    covered_by = fields.List(fields.Nested(MatrixCoverOut), required=True)


class MatrixRowOut(Schema):
    organization = fields.Nested(OrganizationRefOut, required=True)
    cells = fields.List(fields.Nested(MatrixCellOut), required=True)


class CoverageMatrixOut(Schema):
    date = fields.Date(required=True)
    services = fields.List(fields.Nested(ServiceOut), required=True)
    rows = fields.List(fields.Nested(MatrixRowOut), required=True)
    gaps = fields.Integer(required=True, metadata={"description": "number of gap cells"})
