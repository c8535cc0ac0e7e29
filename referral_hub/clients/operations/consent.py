"""Consent: recording it (giver rules first), reading it, withdrawing it.

A withdrawal sends `consent_withdrawn` (clients/signals.py), whose receivers run in the
withdrawing transaction. A consent's giver name (a parent's or guardian's identity) goes
only to a caller with the right to read clients, and that read is logged
(`consents_seen_by`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.categories import ALWAYS_SHARED, DATA_CATEGORIES
from referral_hub.clients.models import (
    CONSENT_GIVERS,
    CONSENT_METHODS,
    Client,
    Consent,
    local_today,
)
from referral_hub.clients.operations.access import (
    get_client_of,
    may_read_clients,
    require_not_erased,
    require_reader,
    require_writer,
    sees_client,
)
from referral_hub.clients.operations.disclosures import record_disclosure
from referral_hub.clients.operations.givers import check_giver, clearing_supervisor, needs_clearance
from referral_hub.clients.signals import consent_withdrawn
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization, Service
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

#: How far ahead a consent may run; longer is a typing mistake (and consent should be renewed).
MAX_CONSENT_YEARS = 10
CONSENT_ALREADY_WITHDRAWN = register_problem(
    "consent-already-withdrawn", "The consent was already withdrawn"
)


def record_consent(
    actor: Actor,
    client: Client,
    *,
    given_by: str,
    recipients: list[str],
    services: list[str],
    data_categories: list[str],
    method: str,
    evidence_sha256: str,
    valid_until: dt.date,
    giver_name: str | None = None,
    giver_relationship: str | None = None,
    giver_is_alleged_perpetrator: bool = False,
    giver_cleared_by_supervisor: bool = False,
    child_assent: bool | None = None,
    child_assent_refusal_reason: str | None = None,
) -> Consent:
    """Record consent to share a client's data with recipients for services (giver rules first).

    A giver who resembles the guardian flagged as the alleged perpetrator (a close spelling
    of the name, or the same relationship to the client) is accepted only with
    `giver_cleared_by_supervisor` from an active supervisor of the unit acting personally.
    """
    require_writer(actor)
    if not sees_client(actor, client):
        raise Problem(404, "not-found", f"No client '{client.id}'.", reason="no-client")
    require_not_erased(client)
    if given_by not in CONSENT_GIVERS or method not in CONSENT_METHODS:
        raise ValueError("given_by and method are validated by the schema")
    now = utcnow()
    today = local_today(now)
    is_child = client.is_child(today)
    resembles = check_giver(
        client, is_child, given_by, giver_name, giver_relationship, giver_is_alleged_perpetrator
    )
    cleared_by = clearing_supervisor(actor, client) if giver_cleared_by_supervisor else None
    if resembles is not None and cleared_by is None:
        raise needs_clearance(resembles)

    errors: dict[str, list[str]] = {}
    if given_by != "client":
        if not giver_name:
            errors["giver_name"] = ["Required when a parent or guardian gives consent."]
        if not giver_relationship:
            errors["giver_relationship"] = ["Required when a parent or guardian gives consent."]
    if is_child and child_assent is None:
        errors["child_assent"] = ["Record whether the child agreed (true or false)."]
    if not is_child and child_assent is not None:
        errors["child_assent"] = ["Only recorded for a child client."]
    if child_assent is False and not child_assent_refusal_reason:
        errors["child_assent_refusal_reason"] = ["Required when the child did not agree."]
    if child_assent is not False and child_assent_refusal_reason:
        errors["child_assent_refusal_reason"] = ["Only recorded when the child did not agree."]

    orgs: list[Organization] = []
    unknown_orgs = []
    for ref in dict.fromkeys(recipients):
        org = db.session.scalar(
            select(Organization).where((Organization.id == ref) | (Organization.code == ref))
        )
        if org is None:
            unknown_orgs.append(f"Unknown organisation '{ref}'.")
        elif org.id == client.organization_id:
            unknown_orgs.append("The client's own unit needs no consent to hold its data.")
        elif org not in orgs:
            orgs.append(org)
    if unknown_orgs:
        errors["recipients"] = unknown_orgs

    wanted_services = list(dict.fromkeys(services))
    known_services = set(
        db.session.scalars(select(Service.code).where(Service.code.in_(wanted_services)))
    )
    if set(wanted_services) - known_services:
        errors["services"] = [
            f"Unknown service '{code}'." for code in wanted_services if code not in known_services
        ]

    categories = [
        ALWAYS_SHARED,
        *(c for c in dict.fromkeys(data_categories) if c != ALWAYS_SHARED),
    ]
    unknown_categories = [c for c in categories if c not in DATA_CATEGORIES]
    if unknown_categories:
        errors["data_categories"] = [f"Unknown data category '{c}'." for c in unknown_categories]

    if valid_until < today:
        errors["valid_until"] = ["Must be today or later: consent is recorded for the future."]
    elif valid_until > today + dt.timedelta(days=365 * MAX_CONSENT_YEARS):
        errors["valid_until"] = [f"At most {MAX_CONSENT_YEARS} years ahead; renew consent instead."]
    if errors:
        raise Problem(422, "validation-error", "The consent cannot be recorded.", errors=errors)

    consent = Consent(
        client_id=client.id,
        organization_id=client.organization_id,
        given_by=given_by,
        giver_relationship=giver_relationship if given_by != "client" else None,
        giver_is_alleged_perpetrator=False,
        client_was_child=is_child,
        child_assent=child_assent,
        giver_cleared_by_user_id=cleared_by if resembles is not None else None,
        services=wanted_services,
        data_categories=categories,
        method=method,
        evidence_sha256=evidence_sha256.lower(),
        valid_until=valid_until,
        created_at=now,
        recorded_by_user_id=actor.user_id,
        recorded_by_client_id=actor.client_id,
    )
    consent.recipients = orgs
    consent.giver_name = giver_name if given_by != "client" else None
    consent.child_assent_refusal_reason = child_assent_refusal_reason
    db.session.add(consent)
    db.session.flush()
    audit.record(
        actor,
        "consent.recorded",
        "consent",
        consent.id,
        {
            "client": client.id,
            "given_by": given_by,
            "client_was_child": is_child,
            "child_assent": child_assent,
            "recipients": [o.code for o in orgs],
            "services": wanted_services,
            "data_categories": categories,
            "method": method,
            "evidence_sha256": consent.evidence_sha256,
            "valid_until": valid_until.isoformat(),
        },
        subject_organization_id=client.organization_id,
    )
    if consent.giver_cleared_by_user_id is not None:
        # The kind of resemblance, never the names: the audit log holds no personal data.
        audit.record(
            actor,
            "consent.giver_cleared",
            "consent",
            consent.id,
            {"client": client.id, "resembles": resembles},
            subject_organization_id=client.organization_id,
        )
    return consent


def get_consent_of(actor: Actor, consent_id: str) -> Consent:
    """A consent of the actor's organisation's client, or 404."""
    consent = db.session.get(Consent, consent_id) if isinstance(consent_id, str) else None
    if consent is None or not (actor.is_system or consent.organization_id == actor.organization_id):
        raise Problem(404, "not-found", f"No consent '{consent_id}'.", reason="no-consent")
    return consent


def require_consent_for(
    actor: Actor, consent_id: str, client: Client, *, hold: bool = False
) -> Consent:
    """The actor's consent `consent_id`, which must be this client's (else 422 on `consent`).

    `hold` locks it FOR SHARE until the commit, read as it is once the lock is had (a
    withdrawal waits for the caller's commit, or is seen if it committed first).
    """
    consent = None
    if isinstance(consent_id, str) and hold:
        consent = db.session.scalar(
            select(Consent)
            .where(Consent.id == consent_id, Consent.client_id == client.id)
            .with_for_update(read=True, of=Consent)
            .execution_options(populate_existing=True)
        )
    elif isinstance(consent_id, str):
        consent = db.session.get(Consent, consent_id)
    if consent is None or consent.client_id != client.id or not sees_client(actor, client):
        raise Problem(
            422,
            "validation-error",
            "No such consent of this client.",
            errors={"consent": [f"'{consent_id}' is not a consent of client {client.code}."]},
        )
    return consent


def consents_query(actor: Actor, client_id: str) -> Select:
    """A client's consents, newest first."""
    require_reader(actor)
    client = get_client_of(actor, client_id)
    return (
        select(Consent)
        .where(Consent.client_id == client.id)
        .order_by(Consent.created_at.desc(), Consent.id.desc())
    )


def record_consent_reads(actor: Actor, consents: Iterable[Consent], context: str) -> None:
    """Log the owner's read of the giver names (a parent's or guardian's identity) shown."""
    for consent in consents:
        if consent.giver_name_enc is not None:
            record_disclosure(
                actor, consent.client, ["guardian"], "owner", f"{context} consent:{consent.id}"
            )


class ConsentWithoutGiver:
    """A consent as a caller without the right to read clients receives it: everything but
    the giver's name (a parent's or guardian's identity)."""

    giver_name = None

    def __init__(self, consent: Consent) -> None:
        self._consent = consent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consent, name)


def consents_seen_by(
    actor: Actor, consents: Iterable[Consent], context: str, *, record: bool = True
) -> list[Consent | ConsentWithoutGiver]:
    """The consents as the actor may receive them, the one rule for every answer that holds
    one: the giver's name only with the right to read clients, and then that read logged.

    `record=False` is for the answer to recording a consent, which echoes the name the
    caller has just sent: nothing the hub held is read there.
    """
    consents = list(consents)
    if not may_read_clients(actor):
        return [ConsentWithoutGiver(consent) for consent in consents]
    if record:
        record_consent_reads(actor, consents, context)
    return consents


def withdraw_consent(actor: Actor, consent_id: str, reason: str) -> Consent:
    """Withdraw a consent now: recorded, audited, and `consent_withdrawn` sent (its receivers
    run in this transaction; clients/signals.py)."""
    require_writer(actor)
    consent = get_consent_of(actor, consent_id)
    if consent.withdrawn_at is not None:
        raise Problem(
            409,
            CONSENT_ALREADY_WITHDRAWN,
            f"The consent was withdrawn at {consent.withdrawn_at.isoformat()}.",
        )
    consent.withdrawn_at = utcnow()
    consent.withdrawal_reason = reason
    consent.withdrawn_by_user_id = actor.user_id
    consent.withdrawn_by_client_id = actor.client_id
    db.session.flush()
    audit.record(
        actor,
        "consent.withdrawn",
        "consent",
        consent.id,
        {"client": consent.client_id, "recipients": sorted(o.code for o in consent.recipients)},
        subject_organization_id=consent.organization_id,
    )
    consent_withdrawn.send(consent, actor=actor)
    return consent
