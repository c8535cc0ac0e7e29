"""Who acts on clients: the rights to change and to read them, the unit, the client reached.

Clients are registered and kept by UPTD PPA units (`require_uptd`); a unit reaches only its
own clients (another unit's client does not exist for it: 404), the system all of them.
What a role may do is permissions.py's (`clients:write`, `clients:read`).
"""

from __future__ import annotations

from referral_hub.actors import Actor
from referral_hub.clients.models import Client
from referral_hub.directory.models import Organization
from referral_hub.extensions import db
from referral_hub.problems import Problem, register_problem

NOT_A_UPTD = register_problem("not-a-uptd", "Only a UPTD PPA does this")
#: Why a UPTD PPA is needed, by the `reason` of a not-a-uptd refusal (its English detail).
UPTD_ONLY = {
    "registers-clients": "Clients are registered and kept by UPTD PPA units; partner agencies "
    "see a client only through a referral.",
    "keeps-cases": "Cases are opened and kept by UPTD PPA units; partner agencies follow their "
    "part of a case through its referrals.",
    "answers-intakes": "Intakes are received and answered by UPTD PPA units; other "
    "organisations report them and see their status.",
}
CLIENT_ERASED = register_problem(
    "client-erased", "The client was erased: nothing personal is kept of them"
)


def _acting_organization(actor: Actor) -> Organization | None:
    if actor.organization_id is None:
        return None
    return db.session.get(Organization, actor.organization_id)


def require_writer(actor: Actor) -> None:
    """The right to change clients' records and consent (permissions.py: caseworkers and
    supervisors, or a token with clients:write acting for one of them, or for its unit)."""
    if not actor.has_scope("clients:write"):
        raise Problem(
            403,
            "forbidden",
            "Your role does not change clients' records or consent.",
            reason="client-writers",
        )


def may_read_clients(actor: Actor) -> bool:
    """The right to read clients' personal data: `clients:read` for a token, and for a person
    (or an app acting for one) a role that keeps clients."""
    return actor.has_scope("clients:read")


def require_reader(actor: Actor) -> None:
    if not may_read_clients(actor):
        raise Problem(
            403,
            "forbidden",
            "Your role does not read clients' personal data.",
            reason="client-readers",
        )


def require_uptd(actor: Actor, reason: str = "registers-clients") -> Organization:
    """The actor's organisation, which must be a UPTD PPA (403 not-a-uptd otherwise, saying
    why by `reason`, a key of UPTD_ONLY: clients by default, cases, intakes)."""
    org = _acting_organization(actor)
    if org is None or org.type != "uptd_ppa":
        raise Problem(403, NOT_A_UPTD, UPTD_ONLY[reason], reason=reason)
    return org


def sees_client(actor: Actor, client: Client) -> bool:
    return actor.is_system or client.organization_id == actor.organization_id


def find_client_of(actor: Actor, client_id: str) -> Client | None:
    """The client if the actor's organisation owns it (the system sees all), else None."""
    client = db.session.get(Client, client_id) if isinstance(client_id, str) else None
    if client is None or not sees_client(actor, client):
        return None
    return client


def get_client_of(actor: Actor, client_id: str) -> Client:
    """The client of the actor's organisation, or 404 (another unit's client does not exist)."""
    client = find_client_of(actor, client_id)
    if client is None:
        raise Problem(404, "not-found", f"No client '{client_id}'.", reason="no-client")
    return client


def require_not_erased(client: Client) -> None:
    """Refuse to change an erased client's record or consent (409 client-erased)."""
    if client.is_erased:
        raise Problem(
            409,
            CLIENT_ERASED,
            f"Client {client.code} was erased on {client.erased_at.date().isoformat()}.",
            client={"id": client.id, "code": client.code},
        )
