"""The lists of referrals: sent and received (lines only), overrides waiting for approval.

A line shows no personal data; its select is built once (`_lines_statement`). A recipient's
lists and counts hold only what reached it.
"""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import joinedload, lazyload, load_only

from referral_hub.actors import Actor
from referral_hub.clients.models import Client
from referral_hub.clock import start_of_day
from referral_hub.db import utcnow
from referral_hub.referrals.lifecycle import DRAFT
from referral_hub.referrals.models import Referral
from referral_hub.referrals.operations.access import REACHED_RECIPIENT, field_error

#: What referral_summary reads of a referral and of its client.
_LINE_COLUMNS = (
    Referral.id,
    Referral.number,
    Referral.status,
    Referral.approval_status,
    Referral.service_code,
    Referral.urgency,
    Referral.sender_organization_id,
    Referral.recipient_organization_id,
    Referral.client_id,
    Referral.respond_by,
    Referral.created_at,
    Referral.updated_at,
    Referral.version,
)
_LINE_CLIENT_COLUMNS = (
    Client.id,
    Client.code,
    Client.birth_date_enc,
    Client.sex,
    Client.disability,
    Client.domicile_region,
    Client.erased_at,
    Client.erased_age_band,
)


@functools.cache
def _lines_statement() -> Select:
    """The lists' select, loader options and order, built once (building the options cost
    as much CPU as loading a page of fifty lines); referrals_query adds the filters.

    A line (referral_summary) shows sender, recipient and client only: the agreement, the
    consent, the approver and the appointments the model loads eagerly for the detail
    would add five joins (most of the planning time) and six queries to every page. Nor
    does it read the encrypted texts of the referral or the client (but the birth date, for
    the age band), nor the client's organisation: not loading those saves a fifth of the
    page's row processing. Every caller of referrals_query shows lines, never the detail.
    """
    return (
        select(Referral)
        .options(
            load_only(*_LINE_COLUMNS),
            lazyload(Referral.agreement),
            lazyload(Referral.consent),
            lazyload(Referral.override_approved_by),
            lazyload(Referral.approval_decided_by),
            lazyload(Referral.appointments),
            joinedload(Referral.client).options(
                load_only(*_LINE_CLIENT_COLUMNS),
                lazyload(Client.organization),
                # The birth date is under the client's own key: loaded with it.
                joinedload(Client.key_row),
            ),
        )
        .order_by(Referral.respond_by.asc(), Referral.created_at.desc(), Referral.id)
    )


def referrals_query(
    actor: Actor,
    box: str,
    status: str | None = None,
    service: str | None = None,
    overdue: bool | None = None,
    *,
    sender_reference: str | None = None,
    updated_since: dt.datetime | None = None,
    order: str = "respond_by",
    number: str | None = None,
    partner: str | None = None,
    created_from: dt.date | None = None,
    created_until: dt.date | None = None,
) -> Select:
    """Sent or received referrals of the actor's organisation: overdue first, then newest.

    `order="updated_at"` is the order for syncing: least recently changed first, ties by id,
    so a partner paging through with `updated_since` (its last sync) sees each change once,
    in a stable order whatever the clock's resolution.

    `sender_reference` finds the sender's referrals by its own reference (after a timeout:
    was it made?). It is the sender's: a recipient's box refuses it, whether or not such a
    referral exists, so the filter tells a recipient nothing.

    `number` finds referrals whose number holds the text (any case: "000042" or
    "rj-ppu-2026"); `partner` is the organisation on the other side (the recipient of a
    sent referral, the sender of a received one), by id; `created_from` and `created_until`
    are days of the hub's calendar, both included.
    """
    if sender_reference is not None and box != "sent":
        raise field_error(
            "sender_reference",
            "A sender's own reference finds referrals in its sent box only (box=sent).",
        )
    column = (
        Referral.sender_organization_id if box == "sent" else Referral.recipient_organization_id
    )
    query = _lines_statement().where(column == actor.organization_id)
    if sender_reference is not None:
        query = query.where(Referral.sender_reference == sender_reference)
    if box != "sent":
        # What never reached the recipient is not in its lists, nor in their counts.
        query = query.where(REACHED_RECIPIENT)
    if status:
        query = query.where(Referral.status == status)
    if service:
        query = query.where(Referral.service_code == service)
    now = utcnow()
    late = and_(Referral.status == "requested", Referral.respond_by < now)
    if overdue is True:
        query = query.where(late)
    elif overdue is False:
        query = query.where(~late)
    if updated_since is not None:
        query = query.where(Referral.updated_at >= updated_since)
    if number:
        query = query.where(func.upper(Referral.number).contains(number.strip().upper()))
    if partner:
        other = (
            Referral.recipient_organization_id if box == "sent" else Referral.sender_organization_id
        )
        query = query.where(other == partner)
    if created_from is not None:
        query = query.where(Referral.created_at >= start_of_day(created_from))
    if created_until is not None:
        query = query.where(
            Referral.created_at < start_of_day(created_until + dt.timedelta(days=1))
        )
    if order == "updated_at":
        query = query.order_by(None).order_by(Referral.updated_at, Referral.id)
    return query


def pending_approvals_query(actor: Actor) -> Select:
    """The sending unit's overrides waiting for approval, oldest first (lines only)."""
    return (
        _lines_statement()
        .where(
            Referral.sender_organization_id == actor.organization_id,
            Referral.status == DRAFT,
        )
        .order_by(None)
        .order_by(Referral.created_at, Referral.id)
    )


def is_overdue(referral: Referral, at: dt.datetime | None = None) -> bool:
    """Still unanswered after respond_by."""
    return referral.status == "requested" and (at or utcnow()) > referral.respond_by
