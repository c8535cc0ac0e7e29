"""The code systems the FHIR resources name, and the one table of statuses.

The hub's referral statuses are FHIR Task's own codes (lifecycle.py names them after the
SDOH Clinical Care guide), so a Task's status is the referral's; the ServiceRequest behind
it has the coarser request statuses. Which action a new Task status means is read from
lifecycle.py's table of transitions, never restated here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from referral_hub.referrals.lifecycle import TRANSITIONS

FHIR_VERSION = "4.0.1"
FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"

#: HL7's code systems the resources use.
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
#: SATUSEHAT's system for the Indonesian national identity number (NIK).
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_POLICY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
LOINC = "http://loinc.org"

#: urgency -> ServiceRequest.priority (request-priority: routine | urgent | asap | stat).
PRIORITIES = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}


@dataclass(frozen=True)
class Status:
    """One referral status as FHIR says it."""

    task: str
    request: str
    #: Whether a Task in this status carries statusReason (the reason given for it).
    with_reason: bool = False


#: The referral's status -> the Task's and the ServiceRequest's (R4 value sets task-status
#: and request-status). A test holds it to lifecycle.STATUSES.
STATUS_TABLE: dict[str, Status] = {
    "draft": Status("draft", "draft"),
    "requested": Status("requested", "active"),
    "accepted": Status("accepted", "active"),
    "rejected": Status("rejected", "revoked", with_reason=True),
    "cancelled": Status("cancelled", "revoked", with_reason=True),
    "in-progress": Status("in-progress", "active"),
    "on-hold": Status("on-hold", "on-hold", with_reason=True),
    "completed": Status("completed", "completed"),
    "failed": Status("failed", "revoked", with_reason=True),
    "entered-in-error": Status("entered-in-error", "entered-in-error"),
}


def actions_reaching(task_status: str) -> list[str]:
    """The lifecycle actions that bring a referral to this Task status (an approver's
    excepted: an override's approval is no status a partner asks for), in the table's order."""
    hub_statuses = [hub for hub, fhir in STATUS_TABLE.items() if fhir.task == task_status]
    return [
        t.action for t in TRANSITIONS.values() if t.target in hub_statuses and not t.by_approver
    ]


def hub_url(path: str) -> str:
    """An absolute URL of the hub: base URL + path."""
    return current_app.config["HUB_BASE_URL"].rstrip("/") + path


def code_system(name: str) -> str:
    """The URL of one of the hub's own code systems (service, outcome, data-category ...)."""
    return hub_url(f"/fhir/CodeSystem/{name}")


def structure(name: str) -> str:
    """The URL of one of the hub's own extensions."""
    return hub_url(f"/fhir/StructureDefinition/{name}")
