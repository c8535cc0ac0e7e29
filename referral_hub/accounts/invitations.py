"""Invitations: an admin brings a person onto the hub by e-mail, with a single-use link.

Who may invite whom (`may_invite`, on `directory:write`, an org_admin's right):

- the hub operator's admin: into any organisation, any role;
- an organisation's own admin: into its own organisation, any role;
- a UPTD PPA's admin: into a partner it added or shares an agreement with (a draft counts:
  the partner is being brought in to sign it), while that partner has no active admin of
  its own. Once it has one, that admin invites its staff (409 partner-has-admin).

The link (`/invitations/<token>`) is valid for INVITATION_DAYS and works once. The hub keeps
only the SHA-256 of its token; the e-mail carrying it is sealed with the data key while it
waits and erased once sent (delivery/notifications.py). The invitee chooses a password
(the rules of accounts.operations.create_user) and, for org_admin and auditor, sets up an
authenticator (the first-sign-in enrolment of accounts/views.py). An expired, used or
revoked link is refused with 410 and says why; an unknown one is 404 and says nothing more.
Every step is audited: invitation.created, .revoked, .accepted, .refused (a known link
refused), and the user.created of the new account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import func, select, update

from referral_hub.accounts.models import ROLES, SECOND_FACTOR_ROLES, Invitation, User
from referral_hub.accounts.operations import MIN_PASSWORD_LENGTH, clean_work_phone, create_user
from referral_hub.actors import Actor
from referral_hub.audit import operations as audit
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization
from referral_hub.directory.operations import (
    DIRECTORY_WRITE,
    find_organization,
    has_own_admin,
    shares_agreement,
)
from referral_hub.extensions import db
from referral_hub.permissions import permits
from referral_hub.problems import Problem, register_problem

INVITATION_DAYS = 7
TOKEN_BYTES = 32
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

INVITATION_NOT_ALLOWED = register_problem(
    "invitation-not-allowed", "You may not invite people into this organisation"
)
PARTNER_HAS_ADMIN = register_problem(
    "partner-has-admin", "The organisation has its own admin, who invites its staff"
)
INVITATION_UNKNOWN = register_problem("invitation-unknown", "No such invitation link")
INVITATION_EXPIRED = register_problem("invitation-expired", "The invitation link has expired")
INVITATION_USED = register_problem("invitation-used", "The invitation link was used already")
INVITATION_REVOKED = register_problem("invitation-revoked", "The invitation was revoked")
INVITATION_NOT_OPEN = register_problem(
    "invitation-not-open", "The invitation was accepted, revoked or has expired"
)

_REFUSALS = {
    "expired": (INVITATION_EXPIRED, "This invitation link has expired; ask for a new one."),
    "accepted": (INVITATION_USED, "This invitation link was used already; sign in instead."),
    "revoked": (INVITATION_REVOKED, "This invitation was revoked; ask for a new one."),
}


def hash_token(token: str) -> str:
    """The stored form of an invitation token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def may_invite(actor: Actor, org: Organization) -> bool:
    """Whether the actor may invite people into this organisation at all (the module's rule;
    the partner-has-admin case is answered by `require_may_invite`)."""
    if actor.is_system:
        return True
    if actor.organization_id is None or not permits(actor, DIRECTORY_WRITE):
        return False
    if actor.is_hub_operator or actor.organization_id == org.id:
        return True
    if actor.organization_type != "uptd_ppa" or org.type == "hub_operator":
        return False
    return org.added_by_id == actor.organization_id or shares_agreement(
        actor.organization_id, org.id
    )


def require_may_invite(actor: Actor, org: Organization) -> None:
    """Refuse (403, or 409 once the partner has its own admin) unless the actor may invite."""
    if not may_invite(actor, org):
        raise Problem(
            403,
            INVITATION_NOT_ALLOWED,
            "Only the organisation's own admin, the hub operator's admin, or the admin of a "
            "UPTD that added the partner or has an agreement with it may invite people here.",
            organization=org.code,
        )
    if (
        not actor.is_system
        and not actor.is_hub_operator
        and actor.organization_id != org.id
        and has_own_admin(org.id)
    ):
        raise Problem(
            409,
            PARTNER_HAS_ADMIN,
            "The organisation has its own admin now, who invites its staff.",
            organization=org.code,
        )


def _organization(id_or_code: str) -> Organization:
    org = find_organization(id_or_code)
    if org is None:
        raise Problem(
            404, "not-found", f"No organisation '{id_or_code}'.", reason="no-organization"
        )
    return org


def create_invitation(
    actor: Actor, organization: str, *, email: str, role: str
) -> tuple[Invitation, str]:
    """Invite a person into an organisation with a role; e-mail the link. Returns the
    invitation and the token (the caller shows it to no one: it goes by e-mail).

    An earlier open invitation of the same address into the same organisation is revoked:
    only the newest link works.
    """
    from referral_hub.delivery.notifications import notify_invitation

    org = _organization(organization)
    require_may_invite(actor, org)
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not _EMAIL.match(email) or len(email) > 254:
        errors["email"] = ["Not a valid e-mail address."]
    elif db.session.scalar(select(func.count()).where(User.email == email)):
        errors["email"] = ["A user with this e-mail exists."]
    if role not in ROLES:
        errors["role"] = [f"Must be one of: {', '.join(ROLES)}."]
    if errors:
        raise Problem(422, "validation-error", "The invitation cannot be sent.", errors=errors)
    now = utcnow()
    replaced = list(
        db.session.scalars(
            select(Invitation).where(
                Invitation.organization_id == org.id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
        )
    )
    for old in replaced:
        old.revoked_at = now
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation(
        organization_id=org.id,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by_organization_id=actor.organization_id,
        invited_by_user_id=actor.user_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    notify_invitation(
        org.id,
        email,
        f"/invitations/{token}",
        role=role,
        expires_at=invitation.expires_at,
        second_factor=role in SECOND_FACTOR_ROLES,
    )
    audit.record(
        actor,
        "invitation.created",
        "invitation",
        invitation.id,
        {
            "organization": org.code,
            "email": email,
            "role": role,
            "expires_at": invitation.expires_at.isoformat(),
            "replaces": [old.id for old in replaced],
        },
        subject_organization_id=org.id,
    )
    return invitation, token


def visible_invitations(actor: Actor, organization: str) -> list[Invitation]:
    """The organisation's invitations, newest first, for whoever may invite into it."""
    return list(db.session.scalars(invitations_query(actor, organization)))


def invitations_query(actor: Actor, organization: str):
    """A select of the invitations the actor may see: all of the organisation's for its own
    admin and the hub operator's, those its organisation sent for a UPTD; newest first."""
    org = _organization(organization)
    if not may_invite(actor, org):
        raise Problem(
            403,
            INVITATION_NOT_ALLOWED,
            "You may not see the invitations of this organisation.",
            organization=org.code,
        )
    query = select(Invitation).where(Invitation.organization_id == org.id)
    if not (actor.is_system or actor.is_hub_operator or actor.organization_id == org.id):
        query = query.where(Invitation.invited_by_organization_id == actor.organization_id)
    return query.order_by(Invitation.created_at.desc(), Invitation.id)


def revoke_invitation(actor: Actor, organization: str, invitation_id: str) -> Invitation:
    """Withdraw an open invitation: its link stops working at once. Audited."""
    invitation = next(
        (i for i in visible_invitations(actor, organization) if i.id == invitation_id), None
    )
    if invitation is None:
        raise Problem(404, "not-found", "No such invitation.", reason="no-invitation")
    status = invitation.status_at(utcnow())
    if status != "open":
        raise Problem(
            409,
            INVITATION_NOT_OPEN,
            f"The invitation is {status}; only an open one can be revoked.",
            invitation_status=status,
        )
    invitation.revoked_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "invitation.revoked",
        "invitation",
        invitation.id,
        {"organization": invitation.organization.code, "email": invitation.email},
        subject_organization_id=invitation.organization_id,
    )
    return invitation


def _invitee(invitation: Invitation) -> Actor:
    """The person holding the link, before the account exists."""
    return Actor(
        organization_id=invitation.organization_id,
        kind="user",
        label=f"invitation:{invitation.id}",
        organization_type=invitation.organization.type,
    )


def open_invitation(token: str, *, record_refusal: bool = True) -> Invitation:
    """The open invitation behind a link, or a refusal: 404 for a link the hub never issued
    (nothing about any invitation is said), 410 with the reason for an expired, used or
    revoked one (audited, so its holder's attempts are seen)."""
    invitation = None
    if isinstance(token, str) and 20 <= len(token) <= 100:
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        )
    if invitation is None:
        raise Problem(404, INVITATION_UNKNOWN, "No such invitation link.")
    status = invitation.status_at(utcnow())
    if status != "open":
        slug, detail = _REFUSALS[status]
        if record_refusal:
            audit.record(
                _invitee(invitation),
                "invitation.refused",
                "invitation",
                invitation.id,
                {"reason": status},
                subject_organization_id=invitation.organization_id,
            )
        raise Problem(410, slug, detail, reason=status)
    return invitation


def accept_invitation(
    token: str, *, name: str, password: str, work_phone: str | None = None
) -> User:
    """Create the invited account with the chosen password; the link is spent. Audited.

    The link is claimed with one conditional UPDATE, so two submissions at once make one
    account; a refusal of the password leaves the link open.
    """
    invitation = open_invitation(token)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Required."]
    elif len(name) > 200:
        errors["name"] = ["At most 200 characters."]
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"At least {MIN_PASSWORD_LENGTH} characters."]
    work_phone = clean_work_phone(work_phone, errors)
    if errors:
        raise Problem(422, "validation-error", "The account cannot be created.", errors=errors)
    now = utcnow()
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Problem(410, INVITATION_USED, _REFUSALS["accepted"][1], reason="accepted")
    # The account is made by the hub on the invitation's authority (the invitee holds no
    # role yet); what the invitee then does is theirs.
    user = create_user(
        Actor.system(label=f"invitation:{invitation.id}"),
        organization=invitation.organization_id,
        email=invitation.email,
        role=invitation.role,
        password=password,
        name=name,
        work_phone=work_phone,
    )
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(accepted_user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(invitation)
    audit.record(
        Actor.for_user(user),
        "invitation.accepted",
        "invitation",
        invitation.id,
        {"user": user.id, "email": user.email, "role": user.role},
        subject_organization_id=invitation.organization_id,
    )
    return user
