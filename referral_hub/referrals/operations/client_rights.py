"""A client's data rights, as far as referrals hold the client's data: erasure waits while a
referral is open (`open_referrals_of_client`), and the export lists the client's referrals as
their sender sees them (`referrals_for_export`). Receivers of clients.signals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from referral_hub.actors import Actor
from referral_hub.clients.models import Client
from referral_hub.extensions import db
from referral_hub.referrals.lifecycle import DRAFT, OPEN_STATUSES
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import APPROVAL_PENDING


def open_referrals_of_client(client: Client, *, actor: Actor) -> list[dict[str, Any]]:
    """Receives `erasure_requested`: the client's open referrals (and overrides waiting for
    approval) refuse the erasure."""
    count = db.session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.client_id == client.id,
            or_(
                Referral.status.in_(OPEN_STATUSES),
                (Referral.status == DRAFT) & (Referral.approval_status == APPROVAL_PENDING),
            ),
        )
    )
    return [{"reason": "open-referrals", "count": count}] if count else []


def _appointment(appointment) -> dict[str, Any]:
    return {
        "starts_at": appointment.starts_at,
        "mode": appointment.mode,
        "location": appointment.location,
        "status": appointment.status,
        "note": appointment.note,
    }


def referrals_for_export(client: Client, *, actor: Actor) -> dict[str, Any]:
    """Receives `export_requested`: the client's referrals as their sender sees them."""
    referrals = db.session.scalars(
        select(Referral).where(Referral.client_id == client.id).order_by(Referral.created_at)
    ).all()
    return {
        "referrals": [
            {
                "number": r.number,
                "sender": r.sender.code,
                "recipient": {"code": r.recipient.code, "name": r.recipient.name},
                "service": r.service_code,
                "status": r.status,
                "urgency": r.urgency,
                "legal_basis": r.legal_basis,
                "data_categories": list(r.data_categories),
                "reason": r.reason,
                "case_data": r.case_data,
                "status_reason": r.status_reason,
                "outcome": r.outcome,
                "outcome_summary": r.outcome_summary,
                "appointments": [_appointment(a) for a in r.appointments],
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
            for r in referrals
        ]
    }
