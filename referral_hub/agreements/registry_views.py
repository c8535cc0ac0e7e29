"""The registry's pages: the list of agreements with its filters, its CSV export, and the
coverage matrix (Cakupan). URL rules and access: blueprint.py."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from referral_hub.agreements import operations as ops
from referral_hub.agreements.export import export_registry
from referral_hub.agreements.models import STATUSES
from referral_hub.directory.models import PARTNER_TYPES, Organization, Service
from referral_hub.directory.operations import on_hub_ids
from referral_hub.extensions import db
from referral_hub.portal.access import portal_actor
from referral_hub.portal.code_names import label, service_name
from referral_hub.portal.messages import translate_errors
from referral_hub.portal.navigation import org_admins, register_panel
from referral_hub.portal.paging import page_number, paginate_select
from referral_hub.portal.regions import read_region
from referral_hub.problems import Problem

PAGE_SIZE = 25
FILTERS = ("status", "party", "service", "provider", "region", "expiring_within_days")
EXPIRING_SOON_DAYS = 30


def party_choices() -> list[Organization]:
    """Organisations that can be parties (the hub operator audits, it does not sign)."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.type != "hub_operator")
            .order_by(Organization.name)
        )
    )


def service_choices() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.position, Service.code)))


def _filters() -> tuple[dict[str, str], dict[str, Any], dict[str, list[str]]]:
    """The filter form's values, the filters for registry_query, and errors."""
    values = {name: (request.args.get(name) or "").strip()[:100] for name in FILTERS}
    filters: dict[str, Any] = dict.fromkeys(FILTERS)
    errors: dict[str, list[str]] = {}
    if values["status"]:
        if values["status"] in STATUSES:
            filters["status"] = values["status"]
        else:
            errors["status"] = [_("Pilih status dari daftar.")]
    for name in ("party", "service", "provider"):
        filters[name] = values[name] or None
    if values["region"]:
        filters["region"] = read_region(values, errors, "region")
    if values["expiring_within_days"]:
        days = values["expiring_within_days"]
        if days.isdigit() and int(days) <= ops.MAX_TERM_DAYS:
            filters["expiring_within_days"] = int(days)
        else:
            errors["expiring_within_days"] = [_("Isi jumlah hari (angka 0 atau lebih).")]
    return values, filters, errors


def _registry(actor, filters: dict[str, Any], errors: dict[str, list[str]]):
    """registry_query with the filters; an unknown organisation becomes an error beside it."""
    try:
        return ops.registry_query(actor, **filters)
    except Problem as problem:
        if problem.status != 422:
            raise
        errors.update(translate_errors(problem.errors))
        return ops.registry_query(actor, **{**filters, **dict.fromkeys(problem.errors or {})})


def index():
    """The registry: agreements of the user's organisation (all, for the hub operator)."""
    actor = portal_actor()
    values, filters, errors = _filters()
    query = _registry(actor, filters, errors)
    page = paginate_select(query, page_number(), PAGE_SIZE)
    today = ops.local_date()
    lines = [
        {
            "agreement": agreement,
            "status": ops.effective_status(agreement),
            "days_left": (agreement.expires_on - today).days,
        }
        for agreement in page.items
    ]
    export_args = {k: v for k, v in values.items() if v and k not in errors}
    return render_template(
        "agreements/index.html",
        page=page,
        lines=lines,
        values=values,
        errors=errors,
        statuses=[(s, label("agreement_status", s)) for s in STATUSES],
        organizations=[(o.code, o.name) for o in party_choices()],
        services=[(s.code, service_name(s)) for s in service_choices()],
        export_url=url_for(".export", fmt="csv", **export_args),
        export_xlsx_url=url_for(".export", fmt="xlsx", **export_args),
        soon_days=EXPIRING_SOON_DAYS,
        soon=values["expiring_within_days"] == str(EXPIRING_SOON_DAYS) and len(export_args) == 1,
        filtered=bool(export_args),
        may_write=ops.may_change(actor),
        sees_all=ops.sees_every_agreement(actor),
    ), (422 if errors else 200)


def export(fmt: str = "csv"):
    """The filtered registry as a CSV or XLSX file, the same file as the API's (audited)."""
    actor = portal_actor()
    _values, filters, errors = _filters()
    if errors:
        # As the API's export: a filter that cannot be applied refuses the file rather than
        # exporting more agreements than were asked for.
        raise Problem(
            422, "validation-error", "One or more filters are invalid; see 'errors'.", errors=errors
        )
    filename, mimetype, body = export_registry(actor, filters, fmt)
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def own_region(actor) -> str | None:
    org = db.session.get(Organization, actor.organization_id)
    return org.region_code if org is not None else None


def coverage():
    """Services x organisations: where each can be referred today, and the gaps."""
    actor = portal_actor()
    values = {
        "region": (request.args.get("region") or "").strip()[:100],
        "type": (request.args.get("type") or "").strip()[:32],
    }
    errors: dict[str, list[str]] = {}
    sees_region = ops.sees_every_agreement(actor)
    if sees_region:
        # The operator's own region (its province) unless another is asked for.
        home = own_region(actor) or ""
        region = read_region(values, errors, "region") if values["region"] else home
        region = region or home
        org_type = values["type"] or "uptd_ppa"
        types = [t for t in PARTNER_TYPES if t != "hub_operator"]
        if org_type not in types:
            errors["type"] = [_("Pilih jenis organisasi dari daftar.")]
            org_type = "uptd_ppa"
        values.update(region=region, type=org_type)
        matrix = ops.coverage_matrix(actor, region=region, org_type=org_type)
    else:
        types = []
        matrix = ops.coverage_matrix(actor)
    gaps = [
        (row["organization"], [cell["service"] for cell in row["cells"] if cell["state"] == "gap"])
        for row in matrix["rows"]
    ]
    providers = {
        c.provider.id for row in matrix["rows"] for cell in row["cells"] for c in cell["covered_by"]
    }
    return render_template(
        "agreements/coverage.html",
        matrix=matrix,
        off_hub=providers - on_hub_ids(providers),
        gaps=gaps,
        values=values,
        errors=errors,
        sees_region=sees_region,
        types=[(t, label("org_type", t)) for t in types],
    ), (422 if errors else 200)


# --- the admins' start-page panels ---------------------------------------------------------

#: The start page's window: the agreements the daily figure counts (ending within 90 days).
EXPIRING_HOME_DAYS = 90
EXPIRING_HOME_LINES = 10


def _expiring_panel(actor) -> dict[str, Any]:
    """Agreements in force that end within the window, soonest first (the registry's own
    filter), with the days left."""
    query = ops.registry_query(actor, expiring_within_days=EXPIRING_HOME_DAYS)
    today = ops.local_date()
    return {
        "days": EXPIRING_HOME_DAYS,
        "lines": [
            {"agreement": a, "days_left": (a.expires_on - today).days}
            for a in db.session.scalars(query.limit(EXPIRING_HOME_LINES))
        ],
    }


register_panel(
    "agreements-expiring",
    "agreements/_expiring_panel.html",
    audience=org_admins,
    data=_expiring_panel,
    order=25,
)

register_panel(
    "partners-off-hub",
    "agreements/_off_hub_panel.html",
    audience=org_admins,
    data=ops.partners_not_on_hub,
    order=30,
)
