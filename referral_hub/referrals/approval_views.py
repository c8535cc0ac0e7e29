"""Menunggu persetujuan: the unit's supervisors approve, or decline, its waiting overrides.

An override (a referral on a legal basis instead of the client's consent) sent by a
caseworker or by the unit's machine client is a draft its recipient cannot see. Here a
supervisor of the unit sees each one with its written justification, its legal basis, who
asked, and exactly what the recipient would see once it is sent: built by the function that
builds the wizard's review (`recipient_view`), not a copy. Approving and declining are
`approve_override` and `decline_override`, which check again that the user is an active
supervisor of the unit acting personally, and every gate of sending.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from referral_hub.accounts.models import User
from referral_hub.clients import operations as clients
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.forms import FormState, read_form
from referral_hub.portal.navigation import register_nav_entry, uptd_supervisors
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.problems import Problem
from referral_hub.referrals import operations as ops
from referral_hub.referrals.lifecycle import DRAFT, SENDER
from referral_hub.referrals.listing import count_of
from referral_hub.referrals.models import Referral
from referral_hub.referrals.wizard import recipient_view, shown_personal_categories
from referral_hub.transaction import commit_now

supervisor_page = login_required(roles=("supervisor",), org_types=("uptd_ppa",))
PAGE_SIZE = 25
TEXT_MAX = 4000


def _pending_count(user: User) -> int:
    """The unit's overrides waiting for a supervisor, for the menu."""
    return count_of(ops.pending_approvals_query(portal_actor()))


register_nav_entry(
    "referrals_portal.approvals",
    _l("Menunggu persetujuan"),
    uptd_supervisors,
    order=35,
    count=_pending_count,
)


@supervisor_page
def approvals():
    """The unit's overrides waiting for approval, oldest first."""
    actor = portal_actor()
    page = paginate_select(ops.pending_approvals_query(actor), page_number(), PAGE_SIZE)
    return render_template(
        "referrals/approvals.html",
        page=page,
        lines=[ops.referral_summary(actor, referral) for referral in page.items],
    )


def _sent_by_unit(referral_id: str) -> Referral:
    """A referral the user's unit sent; anything else is 404 here."""
    actor = portal_actor()
    referral = ops.get_referral_for(actor, referral_id)
    if ops.side_of(actor, referral) != SENDER:
        raise Problem(404, "not-found", f"No referral '{referral_id}'.", reason="no-referral")
    return referral


def _approval_page(
    referral: Referral, *, forms: dict[str, FormState] | None = None, status: int = 200
):
    """The override, and what its recipient would see once sent; the supervisor's read of the
    client's data in that preview is logged as the owner's."""
    actor = portal_actor()
    view = ops.referral_view(actor, referral, record=False)
    preview = recipient_view(referral, as_sent=referral.status == DRAFT)
    shown = shown_personal_categories(preview)
    if shown:
        clients.record_disclosure(
            actor, referral.client, shown, "owner", f"referral:{referral.number} approval"
        )
    commit_now()  # the read is logged also when the page answers a refusal (4xx)
    forms = dict(forms or {})
    forms.setdefault("approve", FormState())
    forms.setdefault("decline", FormState())
    return render_template(
        "referrals/approval.html",
        referral=view,
        preview=preview,
        states=forms,
    ), status


@supervisor_page
def approval(referral_id: str):
    """One waiting override: its justification, basis, who asked, and the recipient's view."""
    referral = _sent_by_unit(referral_id)
    if referral.status != DRAFT:
        # Decided already (here, or by another supervisor): its own page says how.
        flash(_("Rujukan %(number)s sudah diputuskan.", number=referral.number), "info")
        return redirect(url_for(".detail", referral_id=referral.id))
    return _approval_page(referral)


def _refused(referral_id: str, name: str, form: FormState, problem: Problem):
    form.refused(problem)
    if "reason" in form.errors:
        form.errors["decline_reason"] = form.errors.pop("reason")
    status = problem.status if problem.status in (409, 422) else 422
    return _approval_page(_sent_by_unit(referral_id), forms={name: form}, status=status)


@supervisor_page
def approve(referral_id: str):
    """Approve the override personally: it is sent to its recipient now."""
    referral = _sent_by_unit(referral_id)
    form = FormState()
    try:
        ops.approve_override(portal_actor(), referral.id)
    except Problem as problem:
        return _refused(referral_id, "approve", form, problem)
    flash(
        _(
            "Rujukan %(number)s disetujui dan dikirim ke %(to)s.",
            number=referral.number,
            to=referral.recipient.name,
        ),
        "success",
    )
    return redirect(url_for(".detail", referral_id=referral.id))


@supervisor_page
def decline(referral_id: str):
    """Decline the override (a reason is required): it is cancelled, never sent."""
    referral = _sent_by_unit(referral_id)
    form = read_form(text=("decline_reason",))
    form.require("decline_reason")
    if len(str(form.values["decline_reason"])) > TEXT_MAX:
        form.errors.setdefault("decline_reason", []).append(
            _("Paling banyak %(count)d karakter.", count=TEXT_MAX)
        )
    if form.errors:
        return _approval_page(referral, forms={"decline": form}, status=422)
    try:
        ops.decline_override(portal_actor(), referral.id, str(form.values["decline_reason"]))
    except Problem as problem:
        return _refused(referral_id, "decline", form, problem)
    flash(
        _(
            "Persetujuan rujukan %(number)s ditolak: rujukan dibatalkan dan tidak pernah "
            "dikirim ke penerima.",
            number=referral.number,
        ),
        "success",
    )
    return redirect(url_for(".detail", referral_id=referral.id))
