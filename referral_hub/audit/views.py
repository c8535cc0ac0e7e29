"""Log audit: the audit entries an auditor or administrator may read, the last signed
checkpoint, and verification of the chain, its checkpoints and the rows it decided.

Pages of the portal's blueprint (`portal.audit_log`, `portal.audit_verify`): their URLs are
in `portal/blueprint.py`, which imports this module; this module never imports it.
"""

from __future__ import annotations

import datetime as dt

from flask import render_template, request
from flask_babel import get_timezone
from flask_babel import gettext as _

from referral_hub.audit import lookup
from referral_hub.audit import operations as audit
from referral_hub.audit.checkpoints import latest_checkpoint
from referral_hub.audit.failure_words import verification_failures
from referral_hub.audit.home import audit_home
from referral_hub.audit.verification import verify_audit
from referral_hub.audit.wording import describe_entries
from referral_hub.portal.access import login_required, portal_actor
from referral_hub.portal.code_names import LABELS
from referral_hub.portal.code_names import label as code_label
from referral_hub.portal.navigation import audit_readers, register_panel
from referral_hub.portal.paging import page_number, paginate_select

#: The log is read with the API's `audit:read`, decided per role in permissions.py.
reader_page = login_required(permission="audit:read")
PAGE_SIZE = 50
#: Filters in words (audit/lookup.py): a client code, a referral or agreement number, a person.
WORD_FILTERS = ("client", "referral", "agreement", "person")


def _filters():
    """The filter form's values and errors, from the query string."""
    values = {
        "object_type": (request.args.get("object_type") or "").strip()[:32],
        "action": (request.args.get("action") or "").strip()[:64],
        "since": (request.args.get("since") or "").strip(),
        **{name: (request.args.get(name) or "").strip()[:200] for name in WORD_FILTERS},
    }
    errors: dict[str, list[str]] = {}
    since = None
    if values["since"]:
        try:
            day = dt.date.fromisoformat(values["since"])
        except ValueError:
            errors["since"] = [_("Tanggal tidak sah; gunakan format TTTT-BB-HH.")]
        else:
            # The day as the reader means it: midnight in the hub's time zone.
            # localize(), not tzinfo=: a pytz zone given as tzinfo is its local mean time
            # (+07:58 for Makassar), which would start the day two minutes off.
            try:
                since = get_timezone().localize(dt.datetime.combine(day, dt.time.min))
            except OverflowError:  # the first day of year 1 began in year 0 in UTC
                since = None
    return values, errors, since


def _page(verification=None):
    actor = portal_actor()
    records = verification.records.as_dict(actor) if verification is not None else None
    values, errors, since = _filters()
    query = audit.search_entries(
        actor,
        object_type=values["object_type"] or None,
        action=values["action"] or None,
        since=since,
    )
    query = lookup.narrow(query, lookup.Words(**{name: values[name] for name in WORD_FILTERS}))
    page = paginate_select(query, page_number(), PAGE_SIZE)
    return render_template(
        "portal/audit_log.html",
        page=page,
        rows=list(zip(page.items, describe_entries(page.items), strict=True)),
        actions=sorted(
            ((code, str(name)) for code, name in LABELS["audit_action"].items()),
            key=lambda pair: pair[1],
        ),
        values=values,
        errors=errors,
        object_types=[
            (t, code_label("audit_object", t)) for t in audit.visible_object_types(actor)
        ],
        verification=verification,
        records=records,
        failures=(
            verification_failures(verification, records)
            if verification is not None and not verification.ok
            else []
        ),
        checkpoint=latest_checkpoint(),
        sees_all=actor.is_hub_operator,
    ), (422 if errors else 200)


@reader_page
def audit_log():
    """Audit entries, newest first, with filters."""
    return _page()


@reader_page
def audit_verify():
    """Verify the chain, its signed checkpoints and the rows it decided; show what failed."""
    # Same refusal as the list for anyone who may not read the log.
    audit.search_entries(portal_actor())
    return _page(verification=verify_audit())


register_panel(
    "audit-watch", "portal/_audit_panel.html", audience=audit_readers, data=audit_home, order=40
)
