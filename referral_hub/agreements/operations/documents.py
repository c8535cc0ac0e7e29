"""PDFs kept with an agreement (the signed scan, annexes).

Documents are not content: the signed scan is usually uploaded after signing, so parties
may add PDFs in any status. Whoever may record a party's paper signature may also upload its
scan beforehand (`may_add_document`): the hub operator's admin, who changes no agreement,
records paper signatures and so needs the scan kept first (the API's paper signature names
a document by id). Every read is audited.
"""

from __future__ import annotations

import hashlib
import logging
from typing import BinaryIO

from flask import current_app
from werkzeug.utils import secure_filename

from referral_hub.actors import Actor
from referral_hub.agreements.models import Agreement, AgreementDocument
from referral_hub.agreements.operations.access import (
    READ_ONLY,
    get_agreement,
    may_change,
    not_found,
    require_writer,
)
from referral_hub.agreements.operations.paper_access import paper_signature_parties
from referral_hub.agreements.operations.record import audit_change, touch
from referral_hub.agreements.storage import DocumentNotFound, document_store
from referral_hub.config import setting
from referral_hub.db import utcnow
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

log = logging.getLogger(__name__)


PDF_MAGIC = b"%PDF-"

NOT_A_PDF = register_problem("document-not-pdf", "The document is not a PDF")


def document_max_bytes() -> int:
    """The upload limit for agreement documents (HUB_DOCUMENT_MAX_BYTES, default 20 MiB)."""
    return setting(current_app.config, "HUB_DOCUMENT_MAX_BYTES")


def clean_filename(name: str | None) -> str:
    """A safe file name ending in .pdf: no path, no control or shell characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    safe = secure_filename(base)[:120]
    stem = safe[:-4] if safe.lower().endswith(".pdf") else safe
    stem = stem.strip("._") or "document"
    return f"{stem}.pdf"


def may_add_document(actor: Actor, agreement: Agreement) -> bool:
    """Who attaches a PDF: a party's writer, in any status; or whoever may record another
    party's paper signature on it now (the hub operator's admin too), for that scan."""
    return may_change(actor, agreement) or bool(paper_signature_parties(actor, agreement))


def add_document(
    actor: Actor, agreement_id: str, *, filename: str | None, stream: BinaryIO
) -> AgreementDocument:
    """Keep a PDF with the agreement (the bytes decide, not the name); SHA-256 recorded."""
    agreement = get_agreement(actor, agreement_id, lock=True)
    if not may_add_document(actor, agreement):
        if not actor.is_hub_operator:
            require_writer(actor)  # 403 for a reader
            raise not_found(agreement.id)  # a writer of no party of it
        raise Problem(
            403,
            READ_ONLY,
            "The hub operator attaches only the scan of a paper signature it may still "
            "record, while a party has not signed.",
        )
    return keep_document(actor, agreement, filename=filename, stream=stream)


def keep_document(
    actor: Actor, agreement: Agreement, *, filename: str | None, stream: BinaryIO
) -> AgreementDocument:
    """Store and record a PDF for an agreement the caller has locked and may add to (a
    party's writer; for a paper signature's scan, also the hub operator)."""
    limit = document_max_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise Problem(
            413,
            "payload-too-large",
            f"A document may be at most {limit} bytes.",
            errors={"file": [f"Larger than {limit} bytes."]},
            reason="document-too-large",
            limit=limit,
        )
    if not data:
        raise Problem(
            422, "validation-error", "The file is empty.", errors={"file": ["The file is empty."]}
        )
    if not data.startswith(PDF_MAGIC):
        raise Problem(
            422,
            NOT_A_PDF,
            "Only PDF documents are accepted; this file does not start like a PDF.",
            errors={"file": ["Not a PDF (the content does not start with %PDF-)."]},
        )
    digest = hashlib.sha256(data).hexdigest()
    key = document_store().put(data)
    now = utcnow()
    document = AgreementDocument(
        filename=clean_filename(filename),
        size=len(data),
        sha256=digest,
        storage_key=key,
        uploaded_by_organization_id=actor.organization_id,
        uploaded_by_user_id=actor.user_id,
        uploaded_by_client_id=actor.client_id,
        uploaded_at=now,
    )
    agreement.documents.append(document)
    touch(agreement, now)
    db.session.flush()
    audit_change(
        actor,
        "agreement.document_uploaded",
        agreement,
        {
            "document": document.id,
            "filename": document.filename,
            "size": document.size,
            "sha256": digest,
        },
    )
    return document


def read_document(
    actor: Actor, agreement_id: str, document_id: str
) -> tuple[AgreementDocument, bytes]:
    """A document's bytes for a party or the hub operator; every read is audited."""
    agreement = get_agreement(actor, agreement_id)
    document = next((d for d in agreement.documents if d.id == document_id), None)
    if document is None:
        raise Problem(
            404,
            "not-found",
            f"No document '{document_id}' on this agreement.",
            reason="no-document",
        )
    try:
        data = document_store().get(document.storage_key)
    except DocumentNotFound:
        log.error("document %s of agreement %s is missing", document.id, agreement.id)
        raise Problem(
            503,
            "service-unavailable",
            "The document cannot be read right now.",
            reason="document-unreadable",
        ) from None
    if hashlib.sha256(data).hexdigest() != document.sha256:
        log.error("document %s of agreement %s fails its SHA-256", document.id, agreement.id)
        raise Problem(
            500, "internal-error", "The stored document does not match its recorded SHA-256."
        )
    audit_change(
        actor,
        "agreement.document_downloaded",
        agreement,
        {"document": document.id, "filename": document.filename, "sha256": document.sha256},
    )
    return document, data
