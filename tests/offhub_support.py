"""Partners not on the hub: take an organisation off it (its users and clients switched off)
and bring it back, as an invitation or a registered app would."""

from __future__ import annotations

from sqlalchemy import select, update

from referral_hub.accounts.models import User
from referral_hub.db import utcnow
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db
from referral_hub.oauth.models import OAuthClient


def take_off_hub(app, code: str) -> None:
    """No one answers for `code` on the hub any more: its users and OAuth clients are off."""
    with app.app_context():
        org_id = find_organization(code).id
        db.session.execute(update(User).where(User.organization_id == org_id).values(active=False))
        db.session.execute(
            update(OAuthClient)
            .where(OAuthClient.organization_id == org_id, OAuthClient.disabled_at.is_(None))
            .values(disabled_at=utcnow())
        )
        db.session.commit()
        db.session.remove()


def set_contacts(app, code: str, contacts: list[dict]) -> None:
    with app.app_context():
        find_organization(code).contacts = contacts
        db.session.commit()
        db.session.remove()


def set_work_phone(app, user_id: str, phone: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).work_phone = phone
        db.session.commit()
        db.session.remove()


def active_users(app, code: str) -> list[str]:
    with app.app_context():
        org_id = find_organization(code).id
        return list(
            db.session.scalars(
                select(User.id).where(User.organization_id == org_id, User.active.is_(True))
            )
        )
