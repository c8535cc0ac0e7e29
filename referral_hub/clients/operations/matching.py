"""Possible duplicates and finding clients by name, on encrypted names (name_index.py).

`possible_matches` lists the clients of the actor's unit who may be the person about to be
registered (or reported in an intake): the same NIK through its blind index, or a name with
a term or a sound in common (through the name index) that, once decrypted, is the same or a
close spelling (clients.names), with a compatible age and region. Only the candidates the
index gives are decrypted. Nothing is merged: a person chooses.

`name_search_clause` is the SQL condition of the search box: every word typed (3 letters or
more) is a prefix of one of the client's words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, or_, select

from referral_hub.actors import Actor
from referral_hub.clients.crypto import nik_index_candidates
from referral_hub.clients.models import Client, ClientNameTerm, age_on, local_today
from referral_hub.clients.name_index import (
    MATCH_REASONS,
    match_terms,
    respell,
    search_words,
    term_candidates,
)
from referral_hub.clients.names import compare_names
from referral_hub.clients.operations.access import require_reader, require_uptd
from referral_hub.clients.operations.disclosures import record_disclosure
from referral_hub.extensions import db

#: Years a recorded age may differ and still be the same person's (estimates, typing).
AGE_TOLERANCE = 2
#: At most this many candidates are decrypted for one check.
MAX_CANDIDATES = 500
#: Why a client is a possible match (codes), in the order a person reads them.
REASONS = MATCH_REASONS


@dataclass
class Match:
    """An existing client who may be the same person, and why (codes of REASONS)."""

    client: Client
    reasons: list[str] = field(default_factory=list)

    @property
    def client_id(self) -> str:
        return self.client.id

    @property
    def code(self) -> str:
        return self.client.code


def index_client_name(client: Client) -> None:
    """Build (or rebuild) the index of a client's name: call it whenever the name is set or
    changed (registration, rectification)."""
    client.index_name()


#: What a row naming a client shows: the name (identity), age band, sex and region.
SHOWN_CATEGORIES = ("demographics", "identity")


def record_name_reads(actor: Actor, clients: list[Client], context: str) -> None:
    """Log that the actor saw the names of these clients (a list of matches or search results
    that names them): one read per row shown, none for rows not shown."""
    require_reader(actor)
    for client in clients:
        record_disclosure(actor, client, SHOWN_CATEGORIES, "owner", context)


def _term_clause(kind: str, terms: set[str], organization_id: str) -> ColumnElement[bool]:
    pairs = [p for t in sorted(terms) for p in term_candidates(kind, t, organization_id)]
    return and_(
        ClientNameTerm.kind == kind,
        or_(*(and_(ClientNameTerm.kid == k, ClientNameTerm.term == v) for k, v in pairs)),
    )


def name_search_clause(organization_id: str, text: str) -> ColumnElement[bool] | None:
    """Clients whose name has, for every word of `text` (3 letters or more), a word that
    begins with it; None when `text` has no such word."""
    wanted = search_words(text)
    if not wanted:
        return None
    return and_(
        *(
            Client.id.in_(
                select(ClientNameTerm.client_id).where(_term_clause("prefix", {w}, organization_id))
            )
            for w in wanted
        )
    )


def _resemblance(a: str, b: str) -> str | None:
    found = compare_names(a, b)
    if found is not None:
        return found
    # Old and new spellings of one name ("Soesilo", "Susilo") are a close spelling.
    respelt = compare_names(
        " ".join(respell(w) for w in a.split()), " ".join(respell(w) for w in b.split())
    )
    return "close" if respelt else None


def _age_fits(
    client: Client, birth_date: dt.date | None, age_years: int | None, today: dt.date
) -> bool | None:
    """True or False when an age was given, None when nothing tells."""
    if birth_date is not None:
        return abs(age_on(client.birth_date, today) - age_on(birth_date, today)) <= AGE_TOLERANCE
    if age_years is not None:
        return abs(client.age(today) - age_years) <= AGE_TOLERANCE
    return None


def _region_fits(client: Client, region_code: str | None) -> bool | None:
    """Same regency (a regency and its districts are one place here), or None if unknown."""
    if not region_code:
        return None
    return client.domicile_region[:5] == region_code[:5]


def possible_matches(
    actor: Actor,
    *,
    nik: str | None = None,
    full_name: str | None = None,
    birth_date: dt.date | None = None,
    age_years: int | None = None,
    region_code: str | None = None,
) -> list[Match]:
    """Existing clients of the actor's unit who may be this person, NIK matches first.

    Who may register may ask (the answer holds ids and reasons, no personal data); showing
    a match's name is a read, logged by `record_name_reads`."""
    if not actor.has_scope("clients:write"):
        require_reader(actor)
    org = require_uptd(actor)
    found: dict[str, Match] = {}
    if nik:
        pairs = nik_index_candidates(nik, org.id)
        same_nik = db.session.scalar(
            select(Client).where(
                Client.organization_id == org.id,
                or_(*(and_(Client.nik_index_kid == k, Client.nik_index == v) for k, v in pairs)),
            )
        )
        if same_nik is not None:
            found[same_nik.id] = Match(same_nik, ["nik"])
    terms = match_terms(full_name or "")
    if any(terms.values()):
        by_kind = [_term_clause(k, t, org.id) for k, t in terms.items() if t]
        candidates = db.session.scalars(
            select(Client)
            .where(
                Client.organization_id == org.id,
                Client.id.in_(select(ClientNameTerm.client_id).where(or_(*by_kind))),
            )
            .order_by(Client.created_at.desc(), Client.id.desc())
            .limit(MAX_CANDIDATES)
        )
        today = local_today()
        for client in candidates:
            resemblance = _resemblance(full_name or "", client.full_name)
            if resemblance is None:
                continue
            age = _age_fits(client, birth_date, age_years, today)
            region = _region_fits(client, region_code)
            match = found.get(client.id)
            if match is None and (age is False or region is False):
                continue
            reasons = [f"name_{resemblance}"]
            reasons += ["age"] if age else []
            reasons += ["region"] if region else []
            if match is None:
                found[client.id] = Match(client, reasons)
            else:
                match.reasons += reasons
    return list(found.values())
