"""MoU registry API: agreements, their lifecycle and documents, the registry and coverage."""

from __future__ import annotations

import base64

from flask import Response, request, url_for
from flask_smorest import Blueprint

from referral_hub.agreements import operations as ops
from referral_hub.agreements.export import export_registry
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.schemas import (
    AgreementIn,
    AgreementOut,
    AgreementPatchIn,
    AgreementQueryArgs,
    CoverageArgs,
    CoverageMatrixOut,
    CoverageOut,
    DisputeIn,
    DocumentOut,
    DocumentUploadIn,
    ExportArgs,
    MatrixArgs,
    PaperSignatureIn,
    ReasonIn,
    RenewIn,
    SignIn,
    TerminateIn,
)
from referral_hub.apidoc import PROBLEM_RESPONSE, protected
from referral_hub.audit.schemas import AuditEntryOut
from referral_hub.pagination import PageArgs, page_schema, paginate, paginate_list
from referral_hub.security import MULTIPART_ENDPOINTS

blp = Blueprint(
    "agreements",
    __name__,
    url_prefix="/api/v1",
    description="MoU registry: agreements between organisations, their documents, and coverage",
)

AgreementPage = page_schema(AgreementOut, "AgreementPage")
HistoryPage = page_schema(AuditEntryOut, "AgreementHistoryPage")
FILTERS = ("status", "party", "service", "provider", "region", "expiring_within_days")
ETAG_HEADER = {"ETag": {"description": "entity tag; send it back in If-Match", "schema": {}}}
CONFLICT = {409: "Refused in the agreement's current status", 404: "No such agreement"}


def _if_match_parameter(required: bool) -> dict:
    """The If-Match request header, documented so a generated client sends it."""
    return {
        "in": "header",
        "name": "If-Match",
        "required": required,
        "description": "The agreement's ETag as last read"
        + ("" if required else "; if sent and stale, the change is refused with 412"),
        "schema": {"type": "string"},
    }


#: A draft is only changed against the version read (428 without, 412 if stale).
IF_MATCH_REQUIRED = {"parameters": [_if_match_parameter(True)]}
#: Transitions take an optional If-Match: a stale one is refused with 412.
IF_MATCH_OPTIONAL = {"parameters": [_if_match_parameter(False)]}
STALE = {412: "The agreement changed since the ETag you sent"}

MULTIPART_ENDPOINTS.add("agreements.upload_document")


def _with_etag(agreement: Agreement, status: int = 200, **headers: str):
    return agreement, status, {"ETag": f'"{ops.etag_of(agreement)}"', **headers}


def _location(agreement: Agreement) -> str:
    return url_for("agreements.get_agreement", agreement_id=agreement.id, _external=True)


# --- the registry --------------------------------------------------------------------------


@blp.route("/agreements", methods=["GET"])
@blp.arguments(AgreementQueryArgs, location="query")
@blp.response(200, AgreementPage)
@protected(blp, "agreements:read")
def list_agreements(actor, args):
    """Agreements the caller's organisation is party to (all, for the hub operator), filtered.

    `status` is the effective status today; `expiring_within_days` keeps agreements still
    in force that end within that many days.
    """
    query = ops.registry_query(actor, **{k: args.get(k) for k in FILTERS})
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/agreements", methods=["POST"])
@blp.arguments(AgreementIn)
@blp.response(201, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={409: "Duplicate number among the same parties"})
def create_agreement(actor, data):
    """Draft an agreement; the caller's organisation must be one of the parties."""
    agreement = ops.create_agreement(actor, data)
    return _with_etag(agreement, 201, Location=_location(agreement))


@blp.route("/agreements/export.csv")
@blp.arguments(ExportArgs, location="query")
@blp.response(
    200,
    content_type="text/csv",
    description="The filtered registry as CSV (UTF-8 with BOM), one agreement a row",
)
@protected(blp, "agreements:read")
def export_agreements(actor, args):
    """The registry with the same filters as the list, as a CSV file (audited)."""
    filename, text = export_registry(actor, {k: args.get(k) for k in FILTERS})
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- one agreement -------------------------------------------------------------------------


@blp.route('/agreements/<id("export.csv"):agreement_id>', methods=["GET"])
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:read", extra={404: "No such agreement"})
def get_agreement(actor, agreement_id):
    """One agreement with its parties, services, signatures and documents.

    With `If-None-Match` holding the current ETag the answer is 304 without a body.
    """
    agreement = ops.get_agreement(actor, agreement_id)
    etag = ops.etag_of(agreement)
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return _with_etag(agreement)


@blp.route('/agreements/<id("export.csv"):agreement_id>', methods=["PATCH"])
@blp.arguments(AgreementPatchIn)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(
    blp,
    "agreements:write",
    extra={
        **CONFLICT,
        412: "The agreement changed since the ETag you sent",
        428: "If-Match is required",
    },
)
@blp.doc(**IF_MATCH_REQUIRED)
def update_agreement(actor, changes, agreement_id):
    """Change a draft nobody has signed yet; send `If-Match` with the ETag you read."""
    agreement = ops.update_agreement(
        actor, agreement_id, changes, if_match=request.headers.get("If-Match")
    )
    return _with_etag(agreement)


def _if_match() -> str | None:
    return request.headers.get("If-Match")


@blp.route("/agreements/<agreement_id>/sign", methods=["POST"])
@blp.arguments(SignIn, required=False)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={**CONFLICT, **STALE})
@blp.doc(**IF_MATCH_OPTIONAL)
def sign_agreement(actor, data, agreement_id):
    """The caller's organisation signs; the last signature brings the agreement into force."""
    agreement = ops.sign_agreement(
        actor, agreement_id, content_sha256_seen=data.get("content_sha256"), if_match=_if_match()
    )
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/suspend", methods=["POST"])
@blp.arguments(ReasonIn, required=False)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={**CONFLICT, **STALE})
@blp.doc(**IF_MATCH_OPTIONAL)
def suspend_agreement(actor, data, agreement_id):
    """Suspend an active agreement: it covers no new referral until resumed."""
    agreement = ops.suspend_agreement(
        actor, agreement_id, reason=data.get("reason"), if_match=_if_match()
    )
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/resume", methods=["POST"])
@blp.arguments(ReasonIn, required=False)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={**CONFLICT, **STALE})
@blp.doc(**IF_MATCH_OPTIONAL)
def resume_agreement(actor, data, agreement_id):
    """Resume a suspended agreement."""
    agreement = ops.resume_agreement(
        actor, agreement_id, reason=data.get("reason"), if_match=_if_match()
    )
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/terminate", methods=["POST"])
@blp.arguments(TerminateIn)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={**CONFLICT, **STALE})
@blp.doc(**IF_MATCH_OPTIONAL)
def terminate_agreement(actor, data, agreement_id):
    """End the agreement for good (or withdraw a draft), with a reason."""
    agreement = ops.terminate_agreement(
        actor, agreement_id, reason=data["reason"], if_match=_if_match()
    )
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/renew", methods=["POST"])
@blp.arguments(RenewIn, required=False)
@blp.response(201, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra=CONFLICT)
def renew_agreement(actor, data, agreement_id):
    """A new draft (version + 1) that supersedes this agreement once in force."""
    renewal = ops.renew_agreement(actor, agreement_id, data, if_match=_if_match())
    return _with_etag(renewal, 201, Location=_location(renewal))


@blp.route("/agreements/<agreement_id>/signatures", methods=["POST"])
@blp.arguments(PaperSignatureIn)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(
    blp,
    "agreements:write",
    extra={**CONFLICT, 403: "Not an administrator of another party or of the hub operator"},
)
def record_paper_signature(actor, data, agreement_id):
    """Record that a party signed on paper, with the signed scan (a document's id).

    An administrator of another party, or of the hub operator, records it; a party on the
    hub signs on the hub. It counts like a signature on the hub until the party disputes it.
    """
    agreement = ops.record_paper_signature(
        actor,
        agreement_id,
        party=data["organization"],
        signed_on=data["signed_on"],
        document=data["document"],
        signatory_name=data.get("signatory_name"),
        signatory_title=data.get("signatory_title"),
    )
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/signatures/<organization>/confirm", methods=["POST"])
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={**CONFLICT, 403: "Not of the organisation that signed"})
def confirm_paper_signature(actor, agreement_id, organization):
    """The party confirms the paper signature recorded for it."""
    agreement = ops.confirm_paper_signature(actor, agreement_id, party=organization)
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/signatures/<organization>/dispute", methods=["POST"])
@blp.arguments(DisputeIn)
@blp.response(200, AgreementOut, headers=ETAG_HEADER)
@protected(blp, "agreements:write", extra={**CONFLICT, 403: "Not of the organisation that signed"})
def dispute_paper_signature(actor, data, agreement_id, organization):
    """The party disputes the paper signature recorded for it, with a reason: it no longer
    counts, and an agreement in force is suspended."""
    agreement = ops.dispute_paper_signature(
        actor, agreement_id, party=organization, reason=data["reason"]
    )
    return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/history")
@blp.arguments(PageArgs, location="query")
@blp.response(200, HistoryPage)
@protected(blp, "agreements:read", extra={404: "No such agreement"})
def agreement_history(actor, args, agreement_id):
    """Every change, signature and document read of the agreement, oldest first."""
    entries = ops.agreement_history(actor, agreement_id)
    body, headers = paginate_list(entries, args["page"], args["page_size"])
    return body, 200, headers


# --- documents -----------------------------------------------------------------------------


@blp.route("/agreements/<agreement_id>/documents", methods=["POST"], endpoint="upload_document")
@blp.arguments(DocumentUploadIn, location="files")
@blp.response(201, DocumentOut)
@protected(
    blp,
    "agreements:write",
    extra={
        404: "No such agreement",
        413: "The file is larger than the limit",
        415: "Not multipart/form-data",
    },
)
def upload_document(actor, files, agreement_id):
    """Attach a PDF (multipart field `file`); its SHA-256 is recorded.

    A party's writer attaches in any status; whoever may record another party's paper
    signature (the hub operator's admin too) attaches its scan while that party has not
    signed, then names it in `POST /agreements/{id}/signatures`."""
    upload = files["file"]
    document = ops.add_document(actor, agreement_id, filename=upload.filename, stream=upload.stream)
    location = url_for(
        "agreements.download_document",
        agreement_id=agreement_id,
        document_id=document.id,
        _external=True,
    )
    return document, 201, {"Location": location}


@blp.route("/agreements/<agreement_id>/documents/<document_id>")
@blp.doc(
    responses={
        200: {
            "description": "The PDF, byte for byte as uploaded",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: PROBLEM_RESPONSE,
    }
)
@protected(blp, "agreements:read")
def download_document(actor, agreement_id, document_id):
    """The document's bytes, for the parties and the hub operator; every download audited."""
    document, data = ops.read_document(actor, agreement_id, document_id)
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "ETag": f'"{document.sha256}"',
        },
    )


# --- coverage ------------------------------------------------------------------------------


@blp.route("/coverage")
@blp.arguments(CoverageArgs, location="query")
@blp.response(200, CoverageOut)
@protected(blp, "agreements:read", extra={404: "Coverage of another organisation"})
def coverage(actor, args):
    """Where the caller's organisation (or `for`) can refer a service today, and under what."""
    org, items = ops.coverage_for(actor, service=args.get("service"), for_org=args.get("for_org"))
    return {
        "organization": org,
        "service": args.get("service"),
        "date": ops.local_date(),
        "items": items,
    }


@blp.route("/coverage/matrix")
@blp.arguments(MatrixArgs, location="query")
@blp.response(200, CoverageMatrixOut)
@protected(blp, "agreements:read", extra={404: "Coverage of another organisation"})
def coverage_matrix(actor, args):
    """Services x organisations (one, or a region's for the hub operator): covered or a gap."""
    return ops.coverage_matrix(
        actor,
        for_org=args.get("for_org"),
        region=args.get("region"),
        org_type=args.get("type", "uptd_ppa"),
    )
