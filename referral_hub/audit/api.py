"""Audit API: read and verify the chain, its signed checkpoints and their keys."""

from __future__ import annotations

from flask_smorest import Blueprint

from referral_hub.apidoc import protected
from referral_hub.audit.checkpoints import as_served, public_keys, recent_checkpoints
from referral_hub.audit.operations import search_entries
from referral_hub.audit.schemas import (
    AuditEntryOut,
    AuditKeyOut,
    AuditQueryArgs,
    CheckpointOut,
    CheckpointQueryArgs,
    VerificationOut,
)
from referral_hub.audit.verification import verify_audit
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
    """Walk the whole chain, hold it to every signed checkpoint, and the deciding rows to it.

    `ok` is false, with the first bad entry, if an entry was altered or removed; also when
    the chain no longer reaches a signed checkpoint's entry count and head (entries cut from
    the end, or a rewritten chain), and when a referral, consent or agreement no longer
    matches what the chain recorded of it (`records`; only rows that concern the caller's
    organisation are named, the hub operator's sees all).
    """
    return verify_audit().as_dict(actor)


@blp.route("/audit/checkpoints")
@blp.arguments(CheckpointQueryArgs, location="query")
@blp.response(200, CheckpointOut(many=True))
@protected(blp, "audit:read")
def list_audit_checkpoints(actor, args):
    """The hub's signed checkpoints of the chain, newest first.

    Every few minutes when the chain grew, the hub signs (Ed25519) its length and the hash
    of its last entry; each checkpoint is also an `audit.checkpoint` event in every
    organisation's feed. Keep them: `flask hub audit-verify --checkpoint FILE` holds the
    chain to one, and any Ed25519 library verifies one with a key of
    `GET /api/v1/audit/keys`. The signed text is UTF-8, these lines joined by a newline,
    none after the last: `referral_hub-audit-checkpoint:v1`, `entries` in decimal, `head`,
    `at` exactly as given, and `previous` (empty when null). `previous` is the SHA-256 (hex)
    of the checkpoint before's signed text, a newline, its `key_id`, a newline, its
    `signature`.
    """
    return [as_served(checkpoint) for checkpoint in recent_checkpoints(args["limit"])]


@blp.route("/audit/keys")
@blp.response(200, AuditKeyOut(many=True))
@protected(blp, "audit:read")
def list_audit_keys(actor):
    """The Ed25519 public keys that sign the checkpoints: the current one and retired ones.

    A retired key stays listed so that the checkpoints it signed still verify.
    """
    return public_keys()
