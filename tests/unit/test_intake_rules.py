"""Intake rules that need no HTTP: the risk the clock runs on, and events carrying nothing
personal and nothing the unit added."""

from __future__ import annotations

import jsonschema

from referral_hub.contracts import event_schema
from referral_hub.intake.models import DEFAULT_HOURS, Intake
from referral_hub.intake.operations import effective_risk


def test_the_clock_runs_on_the_triaged_risk_else_danger_else_medium():
    assert effective_risk(Intake(immediate_danger=True)) == "high"
    assert effective_risk(Intake(immediate_danger=False)) == "medium"
    assert effective_risk(Intake(immediate_danger=True, risk_level="low")) == "low"
    assert DEFAULT_HOURS == {"high": 1, "medium": 6, "low": 72}


def test_intake_events_carry_ids_number_status_and_links_only():
    schema = event_schema("intake.overdue")
    data = schema["properties"]["data"]
    assert set(data["properties"]) == {"intake_id", "number", "status", "channel", "links"}
    payload = {
        "type": "intake.overdue",
        "timestamp": "2026-12-02T05:00:00Z",
        "data": {
            "intake_id": "abc",
            "number": "ADU-PPU-2026-000012",
            "status": "received",
            "channel": "patbm",
            "links": {"self": "https://hub.example/api/v1/intakes/abc"},
        },
    }
    jsonschema.validate(payload, schema)
    payload["data"]["risk_level"] = "high"
    try:
        jsonschema.validate(payload, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("an intake event may not carry the unit's risk level")


def test_a_units_own_hours_are_whole_bounded_and_in_order_of_risk():
    from referral_hub.intake.operations import hours_errors

    assert hours_errors(dict(DEFAULT_HOURS)) == {}
    assert hours_errors({"high": 24, "medium": 24, "low": 720}) == {}
    assert set(hours_errors({"high": 0, "medium": 6, "low": 72})) == {"high"}
    assert set(hours_errors({"high": True, "medium": 6, "low": 72})) == {"high"}
    assert set(hours_errors({"high": 1, "medium": 6.0, "low": 72})) == {"medium"}
    assert set(hours_errors({"high": 1, "medium": 6, "low": 721})) == {"low"}
    assert set(hours_errors({"high": 1, "medium": 6})) == {"low"}
    # High risk is served at once: a day at most.
    assert set(hours_errors({"high": 25, "medium": 30, "low": 72})) == {"high"}
    # A higher risk never waits longer than a lower one.
    assert set(hours_errors({"high": 7, "medium": 6, "low": 72})) == {"medium"}
    assert set(hours_errors({"high": 1, "medium": 73, "low": 72})) == {"low"}
