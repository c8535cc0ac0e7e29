"""Audit API: read and verify the chain."""

from __future__ import annotations

from flask_smorest import Blueprint

from referral_hub.apidoc import protected
from referral_hub.audit.operations import search_entries, verify_chain
from referral_hub.audit.schemas import AuditEntryOut, AuditQueryArgs, VerificationOut
from referral_hub.pagination import page_schema, paginate

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Tamper-evident audit log")

AuditPage = page_schema(AuditEntryOut, "AuditPage")


@blp.route("/audit")
@blp.arguments(AuditQueryArgs, location="query")
@blp.response(200, AuditPage)
@protected(blp, "audit:read")
def list_audit_entries(actor, args):
    """The caller's organisation's entries, newest first; the hub operator sees all."""
    query = search_entries(
        actor,
        object_type=args.get("object_type"),
        object_id=args.get("object_id"),
        action=args.get("action"),
        actor_ref=args.get("actor"),
        since=args.get("since"),
    )
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/audit/verify")
@blp.response(200, VerificationOut)
@protected(blp, "audit:read")
def verify_audit_chain(actor):
    """Walk the whole chain; `ok` is false with the first bad entry if anything was altered."""
    return verify_chain().as_dict()
