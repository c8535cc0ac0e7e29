"""The rules of the MoU registry, one module per concern; callers use this package's names.

    status      an agreement's status at a moment (the calendar in the hub's time zone, renewals)
    access      who sees an agreement, who may change it
    terms       what a renewal proposes: the term in months, the next number
    content     what the parties agree to: validation, hash, ETag, number
    record      what a change leaves: revision, audit entries for every party, events
    lifecycle   drafting, signing, suspending, resuming, terminating, renewing
    signatures  paper signatures: recorded for a party, confirmed or disputed by it
    documents   PDFs kept with an agreement
    registry    the registry's filtered list and an agreement's history
    coverage    where an organisation can refer a service, under which agreement
    sweep       the scheduled sweep of statuses and expiry notices

Each module imports only from those above it in this list (and never another module's
`_private` helpers), so they read top to bottom.
"""

from referral_hub.agreements.operations.access import (
    READ_ONLY,
    get_agreement,
    may_change,
    may_read_registry,
    sees_every_agreement,
    visible_agreements,
)
from referral_hub.agreements.operations.content import (
    DUPLICATE_NUMBER,
    MAX_PARTIES,
    MAX_RESPONSE_HOURS,
    MAX_TERM_DAYS,
    canonical_content,
    content_sha256,
    etag_of,
    number_key,
)
from referral_hub.agreements.operations.coverage import (
    Coverage,
    active_agreements_covering,
    coverage_for,
    coverage_matrix,
    covering_agreements_for,
    partners_not_on_hub,
)
from referral_hub.agreements.operations.documents import (
    NOT_A_PDF,
    add_document,
    clean_filename,
    document_max_bytes,
    may_add_document,
    read_document,
)
from referral_hub.agreements.operations.lifecycle import (
    AGREEMENT_LOCKED,
    ALREADY_RENEWED,
    ALREADY_SIGNED,
    CONTENT_CHANGED,
    INVALID_TRANSITION,
    TRANSITIONS,
    Transition,
    allowed_actions,
    create_agreement,
    plan_transition,
    renew_agreement,
    resume_agreement,
    sign_agreement,
    suspend_agreement,
    terminate_agreement,
    update_agreement,
)
from referral_hub.agreements.operations.paper_access import (
    may_record_paper,
    paper_signature_parties,
)
from referral_hub.agreements.operations.record import ENDING_EVENT_TYPES, EVENT_TYPES
from referral_hub.agreements.operations.registry import (
    agreement_history,
    record_export,
    registry_query,
)
from referral_hub.agreements.operations.signatures import (
    answerable_signature,
    confirm_paper_signature,
    dispute_paper_signature,
    record_paper_signature,
)
from referral_hub.agreements.operations.status import (
    LIVE_STATUSES,
    covers_at,
    effective_status,
    effective_status_clause,
    local_date,
    start_of_day,
)
from referral_hub.agreements.operations.sweep import EXPIRY_WINDOWS, sweep_agreement_expiry

__all__ = [
    "AGREEMENT_LOCKED",
    "ALREADY_RENEWED",
    "ALREADY_SIGNED",
    "CONTENT_CHANGED",
    "DUPLICATE_NUMBER",
    "ENDING_EVENT_TYPES",
    "EVENT_TYPES",
    "EXPIRY_WINDOWS",
    "INVALID_TRANSITION",
    "LIVE_STATUSES",
    "MAX_PARTIES",
    "MAX_RESPONSE_HOURS",
    "MAX_TERM_DAYS",
    "NOT_A_PDF",
    "READ_ONLY",
    "TRANSITIONS",
    "Coverage",
    "Transition",
    "active_agreements_covering",
    "add_document",
    "agreement_history",
    "allowed_actions",
    "answerable_signature",
    "canonical_content",
    "clean_filename",
    "confirm_paper_signature",
    "content_sha256",
    "coverage_for",
    "coverage_matrix",
    "covering_agreements_for",
    "covers_at",
    "create_agreement",
    "dispute_paper_signature",
    "document_max_bytes",
    "effective_status",
    "effective_status_clause",
    "etag_of",
    "get_agreement",
    "local_date",
    "may_add_document",
    "may_change",
    "may_read_registry",
    "may_record_paper",
    "number_key",
    "paper_signature_parties",
    "partners_not_on_hub",
    "plan_transition",
    "read_document",
    "record_export",
    "record_paper_signature",
    "registry_query",
    "renew_agreement",
    "resume_agreement",
    "sees_every_agreement",
    "sign_agreement",
    "start_of_day",
    "suspend_agreement",
    "sweep_agreement_expiry",
    "terminate_agreement",
    "update_agreement",
    "visible_agreements",
]
