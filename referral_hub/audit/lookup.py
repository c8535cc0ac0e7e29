"""The audit log's filters in words: a client code, a referral number, an agreement number,
a person's e-mail or name, each turned into ids here, on the server.

A client's entries are those about the client, its consents, its referrals and its cases.
A person's are those the person did and those about the person's account. Words that name
nothing give no entries, the same as words that name something with no entry the reader
may see: the filter does not tell whether a code or a name exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, false, func, or_, select

from referral_hub.audit.models import AuditEntry


@dataclass(frozen=True)
class Words:
    """What the reader typed in the filters (stripped; empty for none)."""

    client: str = ""
    referral: str = ""
    agreement: str = ""
    person: str = ""


def _about(object_type: str, ids) -> object:
    return (AuditEntry.object_type == object_type) & AuditEntry.object_id.in_(ids)


def narrow(query: Select, words: Words) -> Select:
    """The query's entries that match every filter given."""
    from referral_hub.accounts.models import User
    from referral_hub.agreements.models import Agreement
    from referral_hub.cases.models import Case
    from referral_hub.clients.models import Client, Consent
    from referral_hub.referrals.models import Referral

    if words.client:
        client_ids = select(Client.id).where(func.upper(Client.code) == words.client.upper())
        query = query.where(
            or_(
                _about("client", client_ids),
                _about("consent", select(Consent.id).where(Consent.client_id.in_(client_ids))),
                _about("referral", select(Referral.id).where(Referral.client_id.in_(client_ids))),
                _about("case", select(Case.id).where(Case.client_id.in_(client_ids))),
            )
        )
    if words.referral:
        query = query.where(
            _about(
                "referral",
                select(Referral.id).where(func.upper(Referral.number) == words.referral.upper()),
            )
        )
    if words.agreement:
        query = query.where(
            _about(
                "agreement",
                select(Agreement.id).where(func.upper(Agreement.number) == words.agreement.upper()),
            )
        )
    if words.person:
        text = words.person.lower()
        if len(text) < 3:
            return query.where(false())  # two letters would match half the staff
        people = select(User.id).where(
            or_(
                func.lower(User.email) == text,
                func.lower(User.name).contains(text, autoescape=True),
            )
        )
        query = query.where(or_(AuditEntry.actor_user_id.in_(people), _about("user", people)))
    return query
