"""The rows that decide what is shared, held against what the audit chain recorded.

Whose data goes to whom, and which of it, is decided by a few columns: a referral's
recipient, client, service, agreement, consent, legal basis and data categories; a consent's
client, recipients, services, data categories, last day and withdrawal; an agreement's
parties, services (with their providers) and data categories, and its whole signed content
by its hash. The operations that set them record them in the audit entry of the change, in
the same transaction. A row changed in the database behind the operations (`UPDATE
referrals SET data_categories = ...`) no longer matches the chain, and verification names it.

The rule, per object: each field must equal the value of the last entry (of the actions in
RECORDING) that recorded that field. Lists compare as sets. A field no entry recorded is
not compared: rows written before the entries carried a field raise no false alarm. So an
agreement recorded before its entries named parties, services and categories is held to
the content hash those entries carried, which covers all three; a referral sent before its
entry named the client is not held to a client. A consent's withdrawal is recorded by its
`consent.withdrawn` entry: a withdrawn consent made live again fails, and so does one
withdrawn behind the operations. A row that no entry recorded at all fails: each is created
by an operation that records it. A row deleted is not reported here: it shares nothing.

One pass over each kind: its recording entries, then its rows, streamed; a few microseconds
a row (bench/measure.py reports `audit_decisions_rows_per_s`).
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from referral_hub.actors import Actor
from referral_hub.audit.models import AuditEntry
from referral_hub.audit.operations import load_stored_json
from referral_hub.extensions import db

#: object type -> (the actions whose entries record its deciding fields, those fields).
RECORDING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "referral": (
        # An override is sent again on its approval, under the agreement in force then.
        ("referral.sent", "referral.override_approved"),
        (
            "recipient",
            "client",
            "service",
            "agreement",
            "consent",
            "legal_basis",
            "data_categories",
        ),
    ),
    "consent": (
        ("consent.recorded", "consent.withdrawn"),
        ("client", "recipients", "services", "data_categories", "valid_until"),
    ),
    "agreement": (
        ("agreement.created", "agreement.updated", "agreement.signed"),
        ("parties", "services", "data_categories", "content_sha256"),
    ),
}
#: How many failing rows a report names (the count is always whole).
NAMED = 100
_BATCH = 5000


@dataclass(frozen=True)
class Mismatch:
    """A row that no longer matches the chain: the fields that differ, or none recorded."""

    object_type: str
    object_id: str
    fields: tuple[str, ...]
    #: The organisations concerned, who may be told of it (never shown).
    organizations: frozenset[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_type": self.object_type,
            "object_id": self.object_id,
            "fields": list(self.fields),
            "reason": "changed" if self.fields else "unrecorded",
        }

    def line(self) -> str:
        if not self.fields:
            return f"{self.object_type} {self.object_id}: not recorded in the audit chain"
        return (
            f"{self.object_type} {self.object_id}: {', '.join(self.fields)} "
            "no longer match what the audit chain recorded"
        )


@dataclass
class DecisionsReport:
    checked: int = 0
    failures: list[Mismatch] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self, actor: Actor | None = None) -> dict[str, Any]:
        """The verdict; only rows of the actor's organisation are named (all for the hub)."""
        sees_all = actor is None or actor.is_system or actor.is_hub_operator
        named = [f for f in self.failures if sees_all or actor.organization_id in f.organizations]
        return {
            "ok": self.ok,
            "checked": self.checked,
            "failed": len(self.failures),
            "failures": [f.as_dict() for f in named[:NAMED]],
        }

    def lines(self) -> list[str]:
        return [f.line() for f in self.failures]


def _comparable(value: Any) -> Any:
    """Lists as sets (of tuples, for lists of pairs); anything else as it is."""
    if value.__class__ is list:  # JSON arrays, from the chain and from the rows alike
        return frozenset([tuple(v) if v.__class__ is list else v for v in value])
    return value


def _recorded(
    session: Session, object_type: str, wanted: Container[str]
) -> dict[str, dict[str, Any]]:
    """For each object of `wanted`, each deciding field's value (comparable) in the last
    entry that recorded it. A detail is decoded only for an object that is wanted."""
    actions, names = RECORDING[object_type]
    consent = object_type == "consent"
    out: dict[str, dict[str, Any]] = {}
    query = (
        select(AuditEntry.object_id, AuditEntry.action, cast(AuditEntry.detail, Text))
        .where(AuditEntry.object_type == object_type, AuditEntry.action.in_(actions))
        .order_by(AuditEntry.seq)
    )
    for object_id, action, text in _stream(session, query):
        if object_id not in wanted:
            continue  # an object whose row is gone
        detail = load_stored_json(text)
        values = out.get(object_id)
        if values is None:
            values = out[object_id] = {"withdrawn": False} if consent else {}
        if consent and action == "consent.withdrawn":
            values["withdrawn"] = True
        for name in names:
            if name in detail:
                values[name] = _comparable(detail[name])
    return out


def _stream(session: Session, query) -> Iterator[Any]:
    """The rows of a select, fetched in batches, without the ORM's per-row work."""
    connection = session.connection()
    with connection.execute(query.execution_options(yield_per=_BATCH)) as result:
        yield from result


def _referrals(session: Session, codes: dict[str, str]) -> Iterator[tuple[str, dict, frozenset]]:
    from referral_hub.referrals.models import Referral

    query = select(
        Referral.id,
        Referral.sender_organization_id,
        Referral.recipient_organization_id,
        Referral.client_id,
        Referral.service_code,
        Referral.agreement_id,
        Referral.consent_id,
        Referral.legal_basis,
        Referral.data_categories,
    )
    for rid, sender, recipient, client, service, agreement, consent, basis, categories in _stream(
        session, query
    ):
        current = {
            "recipient": codes.get(recipient, recipient),
            "client": client,
            "service": service,
            "agreement": agreement,
            "consent": consent,
            "legal_basis": basis,
            "data_categories": categories,
        }
        yield rid, current, frozenset((sender, recipient))


def _consents(session: Session, codes: dict[str, str]) -> Iterator[tuple[str, dict, frozenset]]:
    from referral_hub.clients.models import Consent, ConsentRecipient

    recipients: dict[str, list[str]] = {}
    for consent_id, org_id in _stream(
        session, select(ConsentRecipient.consent_id, ConsentRecipient.organization_id)
    ):
        recipients.setdefault(consent_id, []).append(org_id)
    query = select(
        Consent.id,
        Consent.organization_id,
        Consent.client_id,
        Consent.services,
        Consent.data_categories,
        Consent.valid_until,
        Consent.withdrawn_at,
    )
    for cid, owner, client, services, categories, valid_until, withdrawn_at in _stream(
        session, query
    ):
        orgs = recipients.get(cid, [])
        current = {
            "client": client,
            "recipients": [codes.get(o, o) for o in orgs],
            "services": services,
            "data_categories": categories,
            "valid_until": valid_until.isoformat(),
            "withdrawn": withdrawn_at is not None,
        }
        yield cid, current, frozenset((owner, *orgs))


def _agreements(session: Session, codes: dict[str, str]) -> Iterator[tuple[str, dict, frozenset]]:
    from referral_hub.agreements.models import Agreement, AgreementParty, AgreementService
    from referral_hub.agreements.operations.content import content_sha256

    parties: dict[str, list[str]] = {}
    for agreement_id, org_id in _stream(
        session, select(AgreementParty.agreement_id, AgreementParty.organization_id)
    ):
        parties.setdefault(agreement_id, []).append(org_id)
    services: dict[str, list[SimpleNamespace]] = {}
    for agreement_id, code, provider in _stream(
        session,
        select(
            AgreementService.agreement_id,
            AgreementService.service_code,
            AgreementService.provider_id,
        ),
    ):
        services.setdefault(agreement_id, []).append(
            SimpleNamespace(service_code=code, provider_id=provider)
        )
    columns = (
        "id",
        "kind",
        "number",
        "title",
        "purpose",
        "data_categories",
        "effective_from",
        "expires_on",
        "response_hours",
        "signatories",
        "notes",
        "version",
        "supersedes_id",
    )
    query = select(*(getattr(Agreement, name) for name in columns))
    for row in _stream(session, query):
        # The content hash by the very function that made the recorded one.
        agreement = SimpleNamespace(
            **dict(zip(columns, row, strict=True)),
            party_ids=parties.get(row.id, []),
            services=services.get(row.id, []),
        )
        current = {
            "parties": [codes.get(o, o) for o in agreement.party_ids],
            "services": [[s.service_code, codes.get(s.provider_id)] for s in agreement.services],
            "data_categories": agreement.data_categories,
            "content_sha256": content_sha256(agreement),
        }
        yield row.id, current, frozenset(agreement.party_ids)


_ROWS = {"referral": _referrals, "consent": _consents, "agreement": _agreements}


def organization_codes(session: Session) -> dict[str, str]:
    from referral_hub.directory.models import Organization

    return dict(session.execute(select(Organization.id, Organization.code)).all())


def deciding_rows(
    session: Session, object_type: str, codes: dict[str, str]
) -> Iterator[tuple[str, dict[str, Any], frozenset[str]]]:
    """(id, deciding values as the chain records them, organisations concerned) of each row
    of one kind (a key of RECORDING); `codes` maps organisation ids to codes."""
    return _ROWS[object_type](session, codes)


def verify_decisions(session: Session | None = None) -> DecisionsReport:
    """Every referral, consent and agreement row against what the chain recorded of it.

    Kind by kind: its rows are read first (held in memory, one kind at a time), then the
    entries recording that kind, decoding only those of rows that exist.
    """
    session = session or db.session()
    started = time.perf_counter()
    report = DecisionsReport()
    codes = organization_codes(session)
    for object_type in RECORDING:
        rows = {
            object_id: (current, organizations)
            for object_id, current, organizations in deciding_rows(session, object_type, codes)
        }
        recorded = _recorded(session, object_type, rows)
        for object_id, (current, organizations) in rows.items():
            values = recorded.get(object_id)
            if values is None:
                report.failures.append(Mismatch(object_type, object_id, (), organizations))
                continue
            differ = tuple(
                sorted(
                    name for name, value in values.items() if value != _comparable(current[name])
                )
            )
            if differ:
                report.failures.append(Mismatch(object_type, object_id, differ, organizations))
        report.checked += len(rows)
    report.seconds = time.perf_counter() - started
    return report
