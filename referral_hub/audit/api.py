"""Audit API: read and verify the chain."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import or_

from referral_hub.apidoc import protected
from referral_hub.audit.models import AuditEntry
from referral_hub.audit.operations import entries_visible_to, verify_chain
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
    query = entries_visible_to(actor).order_by(AuditEntry.seq.desc())
    if args.get("object_type"):
        query = query.where(AuditEntry.object_type == args["object_type"])
    if args.get("object_id"):
        query = query.where(AuditEntry.object_id == args["object_id"])
    if args.get("action"):
        query = query.where(AuditEntry.action == args["action"])
    if args.get("actor"):
        who = args["actor"]
        query = query.where(
            or_(
                AuditEntry.actor_user_id == who,
                AuditEntry.actor_client_id == who,
                AuditEntry.organization_id == who,
            )
        )
    if args.get("since"):
        query = query.where(AuditEntry.at >= args["since"])
    body, headers = paginate(query, args["page"], args["page_size"])
    return body, 200, headers


@blp.route("/audit/verify")
@blp.response(200, VerificationOut)
@protected(blp, "audit:read")
def verify_audit_chain(actor):
    """Walk the whole chain; `ok` is false with the first bad entry if anything was altered."""
    return verify_chain().as_dict()
