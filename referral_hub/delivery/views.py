"""Webhook: an organisation administrator's subscriptions, their deliveries, and redelivery.

The pages call the same operations as the API: the URL check, the per-organisation limit
and the visibility of deliveries are decided there.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from referral_hub.delivery import operations as ops
from referral_hub.delivery.models import DELIVERY_STATUSES
from referral_hub.delivery.outbox import EVENT_TYPES
from referral_hub.delivery.urlguard import MAX_URL_LENGTH
from referral_hub.extensions import db
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import label
from referral_hub.portal.forms import flash_refusal, read_form
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.portal.templating import MOMENTS, offer_to_templates
from referral_hub.problems import Problem

bp = Blueprint("delivery_portal", __name__)
offer_to_templates(bp, globals={"code_label": label}, filters=MOMENTS)

#: The pages manage webhooks, as the API's `webhooks:write` does: one right, decided per role
#: in permissions.py (administrators).
manager_page = login_required(permission="webhooks:write")
PAGE_SIZE = 20


@bp.get("/webhooks")
@manager_page
def webhooks():
    """The organisation's webhook subscriptions, with its deliveries counted by status."""
    actor = portal_actor()
    return render_template(
        "delivery/webhooks.html",
        hooks=db.session.scalars(ops.webhooks_of(actor)).all(),
        counts=ops.delivery_counts(actor),
        statuses=DELIVERY_STATUSES,
    )


@bp.route("/webhooks/new", methods=["GET", "POST"])
@manager_page
def webhook_new():
    """Subscribe; the signing secret is shown once, on the page that answers this form."""
    form = read_form(text=("url",), lists=("events",))
    if request.method == "POST":
        form.require("url")
        if len(str(form.values["url"])) > MAX_URL_LENGTH:
            form.errors.setdefault("url", []).append(
                _("Paling banyak %(count)d karakter.", count=MAX_URL_LENGTH)
            )
        if not form.errors:
            try:
                hook, secret = ops.create_webhook(
                    portal_actor(),
                    url=str(form.values["url"]),
                    events=list(form.values["events"]),  # type: ignore[call-overload]
                )
            except Problem as problem:
                form.refused(problem)
            else:
                page = render_template("delivery/webhook_created.html", hook=hook, secret=secret)
                return page, 201
    return (
        render_template("delivery/webhook_new.html", form=form, event_types=EVENT_TYPES),
        422 if form.invalid else 200,
    )


@bp.post("/webhooks/<webhook_id>/delete")
@manager_page
def webhook_delete(webhook_id: str):
    """End a subscription; pending deliveries are cancelled, the history stays."""
    hook = ops.get_webhook(portal_actor(), webhook_id)
    url = hook.url
    ops.delete_webhook(portal_actor(), webhook_id)
    flash(_("Webhook ke %(url)s dihapus.", url=url), "success")
    return redirect(url_for(".webhooks"))


@bp.post("/webhooks/<webhook_id>/rotate-secret")
@manager_page
def webhook_rotate_secret(webhook_id: str):
    """A new signing secret, shown once; the old one keeps signing for 24 hours."""
    hook, secret = ops.rotate_webhook_secret(portal_actor(), webhook_id)
    return render_template("delivery/webhook_created.html", hook=hook, secret=secret)


@bp.get("/webhooks/<webhook_id>")
@manager_page
def webhook_detail(webhook_id: str):
    """One subscription's deliveries, newest first, each with every attempt."""
    actor = portal_actor()
    hook = ops.get_webhook(actor, webhook_id)
    status = (request.args.get("status") or "").strip()
    errors: dict[str, list[str]] = {}
    if status and status not in DELIVERY_STATUSES:
        errors["status"] = [_("Pilih status dari daftar.")]
        status = ""
    query = ops.deliveries_of(actor, hook.id, status or None)
    return render_template(
        "delivery/webhook_detail.html",
        hook=hook,
        page=paginate_select(query, page_number(), PAGE_SIZE),
        status=status,
        errors=errors,
        statuses=[(s, label("delivery_status", s)) for s in DELIVERY_STATUSES],
    ), (422 if errors else 200)


@bp.post("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
@manager_page
def redeliver(webhook_id: str, delivery_id: str):
    """Send a delivery again now (dead or not), with the same webhook-id."""
    try:
        ops.redeliver(portal_actor(), webhook_id, delivery_id)
    except Problem as problem:
        flash_refusal(problem)
    else:
        flash(_("Pengiriman dijadwalkan ulang sekarang."), "success")
    return redirect(url_for(".webhook_detail", webhook_id=webhook_id))
