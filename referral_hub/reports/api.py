"""Reports API (`reports:read`): GET /api/v1/reports/{report} as JSON, CSV or XLSX."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from referral_hub.apidoc import protected
from referral_hub.reports.export import export_report
from referral_hub.reports.operations import run_report

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1",
    description="Reports: aggregate figures (no personal data); small counts hidden",
)


class ReportArgs(Schema):
    start = fields.Date(data_key="from", metadata={"description": "first day (WITA)"})
    end = fields.Date(data_key="to", metadata={"description": "last day (WITA), inclusive"})
    period = fields.String(
        validate=validate.Length(max=10),
        metadata={"description": "instead of from/to: 2026 (year), 2026-Q2, 2026-03"},
    )
    group_by = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "one or two of the report's dimensions, comma-separated"},
    )
    unit = fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "an organisation's code or id (the hub operator's choice)"},
    )
    side = fields.String(
        validate=validate.OneOf(("sent", "received")),
        metadata={"description": "referral reports: the referrals sent or received"},
    )
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class ReportUnitOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


def _dimension(description: str) -> fields.String:
    return fields.String(allow_none=True, metadata={"description": description})


def _count(description: str) -> fields.Integer:
    return fields.Integer(
        allow_none=True, metadata={"description": description + "; null when hidden"}
    )


class ReportRowOut(Schema):
    """A row (or the total) of a report: the dimensions it is grouped by, then the figures;
    a row holds only the report's own dimensions and measures."""

    recipient = _dimension("recipient organisation's code")
    sender = _dimension("sending organisation's code")
    provider = _dimension("providing organisation's code (the recipient)")
    service = _dimension("service code")
    simfoni_group = _dimension("SIMFONI-PPA service group")
    status = _dimension("referral, agreement, case or intake status")
    urgency = _dimension("routine, urgent, emergency")
    month = _dimension("YYYY-MM (WITA)")
    kind = _dimension("agreement kind")
    expiring_within_days = _dimension("30, 90, 180, later, ended")
    violence_type = _dimension("SIMFONI-PPA violence type")
    age_band = _dimension("the client's age band when the case opened")
    sex = _dimension("the client's sex")
    place_type = _dimension("where the incident happened")
    perpetrator_relationship = _dimension("the victim's relationship to the alleged perpetrator")
    region = _dimension("Kemendagri code of the incident's region")
    risk_level = _dimension("low, medium, high")
    channel = _dimension("how an intake came in (patbm, hotline, walk_in ...)")
    unit = _dimension("code of the UPTD PPA that owns the intake")
    count = _count("referrals (agreements, cases, intakes in their reports)")
    accepted = _count("referrals the recipient accepted")
    completed = _count("referrals completed")
    overdue = _count("referrals (intakes) left unanswered past their time")
    clients = _count("clients first referred in the period, each once, by the unit holding them")
    overdue_share = fields.Float(allow_none=True, metadata={"description": "overdue / count"})
    median_hours_to_answer = fields.Float(
        allow_none=True, metadata={"description": "median hours from sending to the answer"}
    )
    closed = _count("cases closed")
    triaged = _count("intakes whose risk was assessed")
    median_minutes_to_triage = fields.Float(
        allow_none=True, metadata={"description": "median minutes from receipt to triage"}
    )
    gaps = fields.Integer(metadata={"description": "units in scope without coverage"})
    suppressed = fields.Boolean(metadata={"description": "a figure of this row is hidden"})


def _plain(field: fields.Field):
    """The conversion marshmallow's field makes of a non-null value, as a plain function."""
    for kind, convert in (
        (fields.Boolean, bool),
        (fields.Integer, int),
        (fields.Float, float),
        (fields.String, str),
    ):
        if isinstance(field, kind):
            return convert
    raise TypeError(f"no plain conversion for {field!r}")


#: Field name -> conversion, in ReportRowOut's order.
ROW_FIELDS = {name: _plain(field) for name, field in ReportRowOut._declared_fields.items()}


class ReportRows(fields.List):
    """The rows as ReportRowOut dumps them, converted without marshmallow's per-value
    machinery: a province table of 2,000 rows of twenty-seven declared fields spent 60% of
    the request in it (bench/RESULTS.md). Documented as the list of ReportRowOut it is."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return [
            {
                name: None if row[name] is None else convert(row[name])
                for name, convert in ROW_FIELDS.items()
                if name in row
            }
            for row in value
        ]


class ReportOut(Schema):
    report = fields.String(required=True)
    start = fields.String(required=True, data_key="from")
    end = fields.String(required=True, data_key="to")
    dimensions = fields.List(fields.String(), required=True)
    measures = fields.List(fields.String(), required=True)
    unit = fields.Nested(ReportUnitOut, allow_none=True, required=True)
    side = fields.String(required=True)
    rows = ReportRows(
        fields.Nested(ReportRowOut),
        required=True,
        metadata={
            "description": "{<dimension>: code, ..., count, ...}; a hidden count is null and "
            'the row has "suppressed": true'
        },
    )
    total = fields.Nested(ReportRowOut, required=True)
    suppressed_below = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "counts from 1 to this less one are hidden (null: none)"},
    )
    rounded_to = fields.Integer(
        allow_none=True,
        required=True,
        metadata={
            "description": "counts shown are rounded to a multiple of this (null: exact); "
            "such a report covers whole calendar months only"
        },
    )
    as_of = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "from the monthly summary: every change up to this moment"},
    )


@blp.route("/reports/<report>", methods=["GET"])
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportOut, description="The report (or, with format=csv|xlsx, the file)")
@blp.alt_response(200, content_type="text/csv", success=True, description="format=csv")
@protected(blp, "reports:read", extra={404: "No such report"})
def get_report(actor, args, report):
    """A report over a period, grouped by one or two dimensions; figures about another
    organisation's clients hide counts from 1 to 4."""
    result = run_report(
        actor,
        report,
        start=args.get("start"),
        end=args.get("end"),
        period=args.get("period"),
        group_by=args.get("group_by"),
        unit=args.get("unit"),
        side=args.get("side"),
    )
    result = {**result, "start": result.pop("from"), "end": result.pop("to")}
    if args["format"] == "json":
        return result
    file_result = {**result, "from": result["start"], "to": result["end"]}
    name, mimetype, body = export_report(actor, file_result, args["format"])
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
