"""The client's rights under UU PDP: the full export (Pasal 7, 32: what is held and how it was
processed), rectification (Pasal 6) and erasure (Pasal 8, 16) by destroying the client's key.

Erasure keeps what is not personal data: the client's code, sex, disability and district in
clear, the age band at erasure, every referral's number and status, the disclosure log (ids,
organisations, categories, times) and the audit chain, so numbers and reports stay whole and
the chain still verifies. What was personal data becomes unreadable noise: every value under
the client's key (record, consents' givers and reasons, referrals' texts and case data,
timeline notes, appointments, rectifications) reads as `ERASED`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete, select
from werkzeug.http import parse_etags

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.clients.crypto import destroy_client_key
from referral_hub.clients.models import (
    ERASURE_REASONS,
    RECTIFIABLE_FIELDS,
    Client,
    Consent,
    Disclosure,
    Rectification,
)
from referral_hub.clients.operations.access import (
    get_client_of,
    require_not_erased,
    require_reader,
    require_writer,
)
from referral_hub.clients.operations.disclosures import record_disclosure
from referral_hub.clients.operations.matching import index_client_name
from referral_hub.clients.operations.minimisation import held_categories
from referral_hub.clients.operations.records import find_by_nik
from referral_hub.clients.signals import erasure_requested
from referral_hub.db import utcnow
from referral_hub.directory.operations import org_ref
from referral_hub.extensions import db
from referral_hub.permissions import permits
from referral_hub.problems import Problem, register_problem

CLIENT_HAS_OPEN_WORK = register_problem(
    "client-has-open-work", "The client still has open work: erasure waits until it is closed"
)


def _require_eraser(actor: Actor) -> None:
    """Who may erase: a supervisor or an organisation's administrator of the owning unit
    (`clients:erase`), in person or through an app acting for one of them (a partner
    system's own token never: erasure is a person's decision); the hub itself from the CLI."""
    if actor.is_system:
        return
    if not permits(actor, "clients:erase") or (actor.kind == "client" and not actor.acts_for_user):
        raise Problem(
            403, "forbidden", "Only a supervisor or an administrator of the unit erases a client."
        )


def open_work_of(client: Client, actor: Actor) -> list[dict[str, Any]]:
    """What every receiver of `erasure_requested` says is still open for the client."""
    refusals: list[dict[str, Any]] = []
    for _receiver, result in erasure_requested.send(client, actor=actor):
        refusals.extend(result or [])
    return refusals


def _purge_idempotent_responses(client: Client) -> int:
    """Forget the stored API responses (kept up to 24 h to replay a POST) that concern the
    client: they were encrypted under the ring, not the client's key."""
    from referral_hub.idempotency.models import IdempotencyKey

    marks = (client.id, client.code)
    doomed = []
    for key in db.session.scalars(select(IdempotencyKey)):
        texts = [key.path, str(key.response_headers or "")]
        if key.response_body_ciphertext is not None:
            texts.append(key.response_body)
        if any(mark in text for mark in marks for text in texts):
            doomed.append(key.id)
    if doomed:
        db.session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.id.in_(doomed))
            .execution_options(synchronize_session=False)
        )
    return len(doomed)


def erase_client(actor: Actor, client_id: str, reason: str) -> Client:
    """Erase a client (the caller commits): refused while work is open (409), by others (403).

    Destroys the client's data key, drops the NIK's blind index (the person can no longer be
    found by NIK) and the stored API responses that mention the client, and audits the act
    with the reason's code only.
    """
    if reason not in ERASURE_REASONS:
        raise ValueError(f"unknown erasure reason {reason}")
    _require_eraser(actor)
    # Locked, so that a referral sent meanwhile waits for the erasure (and then finds it).
    client = db.session.scalar(
        select(Client).where(Client.id == client_id).with_for_update(of=Client)
    )
    if client is None or not (actor.is_system or client.organization_id == actor.organization_id):
        raise Problem(404, "not-found", f"No client '{client_id}'.")
    require_not_erased(client)
    open_work = open_work_of(client, actor)
    if open_work:
        raise Problem(
            409,
            CLIENT_HAS_OPEN_WORK,
            "Close or cancel the client's open work before erasing the client.",
            open_work=open_work,
        )
    age_band = client.age_band()
    purged = _purge_idempotent_responses(client)
    destroy_client_key(client.id)
    client.nik_index = client.nik_index_kid = None
    client.name_terms.clear()  # nor can a name be tested against the name index
    client.erased_at = utcnow()
    client.erased_by_user_id = actor.user_id
    client.erasure_reason = reason
    client.erased_age_band = age_band
    db.session.flush()
    audit.record(
        actor,
        "client.erased",
        "client",
        client.id,
        {"code": client.code, "reason": reason, "stored_responses_purged": purged},
        subject_organization_id=client.organization_id,
    )
    return client


def _export_client(client: Client) -> dict[str, Any]:
    guardian = client.guardian
    return {
        "id": client.id,
        "code": client.code,
        "organization": org_ref(client.organization),
        "full_name": client.full_name,
        "nik": client.nik,
        "birth_date": client.birth_date.isoformat() if client.birth_date else None,
        "sex": client.sex,
        "disability": list(client.disability or []),
        "phone": client.phone,
        "address": client.address,
        "domicile_region": client.domicile_region,
        "guardian": guardian,
        "simfoni_id": client.simfoni_id,
        "created_at": client.created_at,
    }


def _export_consent(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "status": consent.status(),
        "given_by": consent.given_by,
        "giver_name": consent.giver_name,
        "giver_relationship": consent.giver_relationship,
        "recipients": [org.code for org in consent.recipients],
        "services": list(consent.services),
        "data_categories": list(consent.data_categories),
        "method": consent.method,
        "valid_until": consent.valid_until.isoformat(),
        "created_at": consent.created_at,
        "withdrawn_at": consent.withdrawn_at,
        "withdrawal_reason": consent.withdrawal_reason,
    }


def _export_disclosure(disclosure: Disclosure) -> dict[str, Any]:
    return {
        "at": disclosure.at,
        "kind": disclosure.kind,
        "organization": org_ref(disclosure.organization),
        "actor": disclosure.actor_label,
        "categories": list(disclosure.categories),
        "basis": disclosure.basis,
        "context": disclosure.context,
    }


def _export_rectification(rectification: Rectification) -> dict[str, Any]:
    return {
        "at": rectification.at,
        "fields": list(rectification.fields),
        "before": rectification.before,
        "after": rectification.after,
    }


def export_client(actor: Actor, client_id: str, context: str) -> dict[str, Any]:
    """Everything the hub holds of a client, with the history of its processing (the
    disclosure log), as the owning unit hands it to the client; logged as a disclosure."""
    require_reader(actor)
    client = get_client_of(actor, client_id)
    if client.is_erased:
        # Nothing personal to hand out; the numbers and the history stay.
        personal: dict[str, Any] = {"id": client.id, "code": client.code, "erased": True}
    else:
        personal = {**_export_client(client), "erased": False}
    from referral_hub.clients.signals import export_requested

    sections: dict[str, Any] = {}
    for _receiver, result in export_requested.send(client, actor=actor):
        sections.update(result or {})
    consents = db.session.scalars(
        select(Consent).where(Consent.client_id == client.id).order_by(Consent.created_at)
    ).all()
    rectifications = db.session.scalars(
        select(Rectification).where(Rectification.client_id == client.id).order_by(Rectification.at)
    ).all()
    # The history is read before this export is logged, so it lists what came before.
    disclosures = db.session.scalars(
        select(Disclosure).where(Disclosure.client_id == client.id).order_by(Disclosure.at)
    ).all()
    export = {
        "client": personal,
        "erased_at": client.erased_at,
        "consents": [_export_consent(c) for c in consents],
        **sections,
        "rectifications": [_export_rectification(r) for r in rectifications],
        "disclosures": [_export_disclosure(d) for d in disclosures],
        "exported_at": utcnow(),
    }
    if not client.is_erased:
        record_disclosure(actor, client, held_categories(client), "owner", context)
    # The export itself, beside the read it logged: an auditor looks for exports by action.
    audit.record(
        actor,
        "client.exported",
        "client",
        client.id,
        {"code": client.code, "erased": client.is_erased},
        subject_organization_id=client.organization_id,
    )
    return export


def etag_of(client: Client) -> str:
    """The client record's entity tag (unquoted): a digest of the stored ciphertexts of the
    fields a rectification may change (each write seals anew), never of the values."""
    seed = "|".join(
        [client.id, str(client.erased_at)]
        + [str(getattr(client, f"{name}_enc", None)) for name in RECTIFIABLE_FIELDS]
    )
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def check_if_match(client: Client, if_match: str | None) -> None:
    """A rectification is made against the record as read: 428 without If-Match, 412 stale."""
    if not if_match:
        raise Problem(
            428, "precondition-required", "Send If-Match with the client's ETag (GET it first)."
        )
    if not parse_etags(if_match).contains(etag_of(client)):
        raise Problem(
            412,
            "precondition-failed",
            "The client's record changed since you read it; read it again and retry.",
            headers={"ETag": f'"{etag_of(client)}"'},
        )


def rectify_client(
    actor: Actor, client_id: str, changes: dict[str, Any], *, if_match: str | None
) -> Client:
    """Correct fields of a client's record against the version read (`if_match`); the
    before and after are kept under the client's key, the audit entry names only the fields."""
    require_writer(actor)
    client = get_client_of(actor, client_id)
    require_not_erased(client)
    check_if_match(client, if_match)
    unknown = set(changes) - set(RECTIFIABLE_FIELDS)
    if unknown:
        raise ValueError(f"not rectifiable: {sorted(unknown)}")
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(client, name)
        old_json = old.isoformat() if hasattr(old, "isoformat") else old
        new_json = value.isoformat() if hasattr(value, "isoformat") else value
        if old_json == new_json:
            continue
        if name == "nik" and value is not None:
            existing = find_by_nik(client.organization_id, value)
            if existing is not None and existing.id != client.id:
                from referral_hub.clients.operations.records import CLIENT_ALREADY_REGISTERED

                raise Problem(
                    409,
                    CLIENT_ALREADY_REGISTERED,
                    f"This NIK is already registered as client {existing.code}.",
                    client={"id": existing.id, "code": existing.code},
                )
        before[name] = old_json
        after[name] = new_json
        setattr(client, name, value)
    if not after:
        return client
    if "full_name" in after:
        index_client_name(client)  # the search and matching index follows the name
    rectification = Rectification(
        client_id=client.id,
        organization_id=client.organization_id,
        fields=sorted(after),
        at=utcnow(),
        user_id=actor.user_id,
        oauth_client_id=actor.client_id,
    )
    rectification.before = before
    rectification.after = after
    db.session.add(rectification)
    db.session.flush()
    audit.record(
        actor,
        "client.rectified",
        "client",
        client.id,
        {"code": client.code, "rectification": rectification.id, "fields": sorted(after)},
        subject_organization_id=client.organization_id,
    )
    return client
