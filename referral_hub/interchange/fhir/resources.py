"""A referral, a client view, a consent and an organisation as FHIR R4 resources.

Only translation: what a resource may hold was decided before it is built (the Patient is
built from `referral_view`'s client part, nothing else). The resources of one referral share
its id: Task/{id} (the work asked of the recipient), ServiceRequest/{id} (what is asked),
Patient/{id} (the client as this referral lets the caller see them) and Consent/{id} (the
consent it rests on).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referral_hub.clients.models import Consent as ConsentRow
from referral_hub.db import utcnow
from referral_hub.directory.models import Organization as OrganizationRow
from referral_hub.interchange.fhir.mapping import (
    CONSENT_POLICY_SYSTEM,
    CONSENT_SCOPE_SYSTEM,
    FHIR_VERSION,
    LOINC,
    NIK_SYSTEM,
    PARTICIPATION_SYSTEM,
    PRIORITIES,
    SDOHCC_CODES,
    STATUS_TABLE,
    TASK_CODE_SYSTEM,
    code_system,
    hub_url,
    structure,
)
from referral_hub.referrals.models import Referral

FULFILL = "Fulfill the focal request"
SECURITY_SERVICES = "http://terminology.hl7.org/CodeSystem/restful-security-service"
#: The Patient's parts, by the category that lets the caller see them.
PATIENT_CATEGORIES = ("identity", "contact", "guardian")


def instant(value: dt.datetime | None) -> str | None:
    """A FHIR instant: UTC, to the microsecond, with its zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def reference(kind: str, id_: str, display: str | None = None) -> dict[str, str]:
    ref = {"reference": f"{kind}/{id_}"}
    if display:
        ref["display"] = display
    return ref


def org_reference(org: OrganizationRow) -> dict[str, str]:
    return reference("Organization", org.id, org.name)


def _meta(referral: Referral) -> dict[str, str]:
    return {"versionId": str(referral.version), "lastUpdated": instant(referral.updated_at)}


def _number(referral: Referral) -> dict[str, str]:
    return {"system": code_system("referral-number"), "value": referral.number}


def task(referral: Referral) -> dict[str, Any]:
    """The Task: the work the recipient is asked to do, in the referral's status."""
    status = STATUS_TABLE[referral.status]
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": referral.id,
        "meta": _meta(referral),
        "identifier": [_number(referral)],
        "basedOn": [reference("ServiceRequest", referral.id)],
        "status": status.task,
        "intent": "order",
        "priority": PRIORITIES.get(referral.urgency, "routine"),
        "code": {
            "coding": [
                {
                    "system": TASK_CODE_SYSTEM,
                    "code": "fulfill",
                    "display": FULFILL,
                }
            ]
        },
        "focus": reference("ServiceRequest", referral.id),
        "for": reference("Patient", referral.id),
        "authoredOn": instant(referral.created_at),
        "lastModified": instant(referral.updated_at),
        "requester": org_reference(referral.sender),
        "owner": org_reference(referral.recipient),
        "restriction": {"period": {"end": instant(referral.respond_by)}},
    }
    if status.with_reason and referral.status_reason:
        resource["statusReason"] = {"text": referral.status_reason}
    if referral.outcome:
        resource["businessStatus"] = {
            "coding": [{"system": code_system("referral-outcome"), "code": referral.outcome}]
        }
    return resource


def service_request(referral: Referral, contact_shared: bool) -> dict[str, Any]:
    """The ServiceRequest: the service asked of the recipient. Without the client's contact
    shared with the recipient, it says the recipient must not contact the client (the SDOH
    guide's `contacting-subject-prohibited` order detail): contact goes through the sender."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": referral.id,
        "meta": _meta(referral),
        "identifier": [_number(referral)],
        "status": STATUS_TABLE[referral.status].request,
        "intent": "order",
        "priority": PRIORITIES.get(referral.urgency, "routine"),
        "code": {"coding": [{"system": code_system("service"), "code": referral.service_code}]},
        "subject": reference("Patient", referral.id),
        "authoredOn": instant(referral.created_at),
        "requester": org_reference(referral.sender),
        "performer": [org_reference(referral.recipient)],
    }
    if referral.consent_id:
        resource["supportingInfo"] = [reference("Consent", referral.id)]
    if not contact_shared:
        resource["orderDetail"] = [
            {
                "coding": [
                    {
                        "system": SDOHCC_CODES,
                        "code": "contacting-subject-prohibited",
                        "display": "Contacting Subject Prohibited",
                    }
                ]
            }
        ]
    return resource


def patient(referral: Referral, client_part: dict[str, Any]) -> dict[str, Any]:
    """The Patient from a client view (`referral_view`'s `client`): code and demographics
    always, name, NIK and birth date with identity, telecom and address with contact, the
    guardian as a contact with guardian; nothing the view does not hold."""
    demographics = client_part["demographics"]
    extensions: list[dict[str, Any]] = [
        {"url": structure("age-band"), "valueString": demographics["age_band"]},
        {"url": structure("domicile-region"), "valueCode": demographics["domicile_region"]},
    ]
    extensions += [
        {"url": structure("disability"), "valueCode": code}
        for code in demographics.get("disability") or []
    ]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": referral.id,
        "meta": _meta(referral),
        "extension": extensions,
        "identifier": [{"system": code_system("client-code"), "value": client_part["code"]}],
        "gender": demographics["sex"] if demographics["sex"] in ("female", "male") else "unknown",
    }
    identity = client_part.get("identity")
    if identity:
        resource["name"] = [{"use": "official", "text": identity["full_name"]}]
        if identity.get("nik"):
            resource["identifier"].append({"system": NIK_SYSTEM, "value": identity["nik"]})
        resource["birthDate"] = identity["birth_date"]
    contact = client_part.get("contact") or {}
    if contact.get("phone"):
        resource["telecom"] = [{"system": "phone", "value": contact["phone"], "use": "home"}]
    if contact.get("address"):
        resource["address"] = [{"use": "home", "text": contact["address"]}]
    guardian = client_part.get("guardian")
    if guardian:
        person: dict[str, Any] = {
            "relationship": [{"text": guardian["relationship"]}],
            "name": {"text": guardian["name"]},
        }
        if guardian.get("phone"):
            person["telecom"] = [{"system": "phone", "value": guardian["phone"]}]
        resource["contact"] = [person]
    return resource


def consent(referral: Referral, row: ConsentRow) -> dict[str, Any]:
    """The consent the referral rests on: whether it stands, until when, for whom, which
    services and categories. Never who gave it (a name is personal data)."""
    withdrawn = row.withdrawn_at is not None
    provision: dict[str, Any] = {
        "type": "permit",
        "period": {"end": row.valid_until.isoformat()},
        "actor": [
            {
                "role": {"coding": [{"system": PARTICIPATION_SYSTEM, "code": "IRCP"}]},
                "reference": org_reference(org),
            }
            for org in row.recipients
        ],
        "purpose": [
            {"system": code_system("service"), "code": service} for service in row.services
        ],
        "code": [
            {"coding": [{"system": code_system("data-category"), "code": category}]}
            for category in row.data_categories
        ],
    }
    return {
        "resourceType": "Consent",
        "id": referral.id,
        "meta": {"lastUpdated": instant(row.withdrawn_at or row.created_at)},
        "identifier": [{"system": code_system("consent"), "value": row.id}],
        "status": "inactive" if withdrawn else "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
        "patient": reference("Patient", referral.id),
        "dateTime": instant(row.created_at),
        "organization": [org_reference(referral.sender)],
        "policyRule": {"coding": [{"system": CONSENT_POLICY_SYSTEM, "code": "OPTIN"}]},
        "provision": provision,
    }


def organization(org: OrganizationRow) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org.id,
        "identifier": [{"system": code_system("organization"), "value": org.code}],
        "active": True,
        "type": [{"coding": [{"system": code_system("organization-type"), "code": org.type}]}],
        "name": org.name,
    }
    if org.parent_id:
        resource["partOf"] = reference("Organization", org.parent_id)
    return resource


#: The searches of Task a client may use (SDOH guide's polling), with their documentation.
TASK_SEARCH_PARAMS = (
    ("owner", "reference", "The organisation asked to do the work (Organization/<id>)"),
    ("requester", "reference", "The organisation that sent the referral (Organization/<id>)"),
    ("_lastUpdated", "date", "Changed since: gt, ge, lt, le and an instant with its zone"),
    ("status", "token", "The Task status"),
    ("_count", "number", "Entries per page (1-200, 50 by default)"),
    ("_page", "number", "The page (from 1); follow the Bundle's links rather than building it"),
)


def capability_statement(software_version: str = "1") -> dict[str, Any]:
    """What this server does: reads of five types, the Task search, Task status changes."""
    read = [{"code": "read"}]
    resources: list[dict[str, Any]] = [
        {
            "type": "Task",
            "interaction": [
                {"code": "read"},
                {"code": "search-type"},
                {"code": "patch"},
                {"code": "update"},
            ],
            "updateCreate": False,
            "searchParam": [
                {"name": name, "type": kind, "documentation": doc}
                for name, kind, doc in TASK_SEARCH_PARAMS
            ],
            "documentation": "PATCH (JSON Patch of /status, /statusReason, /businessStatus) "
            "or PUT changes the status through the same rules as the API's actions.",
        },
        {"type": "ServiceRequest", "interaction": read},
        {
            "type": "Patient",
            "interaction": read,
            "documentation": "Only what the referral shares and the caller may read; logged.",
        },
        {"type": "Consent", "interaction": read},
        {"type": "Organization", "interaction": read},
    ]
    return {
        "resourceType": "CapabilityStatement",
        "id": "referral-hub",
        "url": hub_url("/fhir/metadata"),
        "name": "ReferralHub",
        "title": "Referral hub (Hub Rujukan PPA) FHIR interface",
        "status": "active",
        "date": utcnow().date().isoformat(),
        "kind": "instance",
        "software": {"name": "referral_hub", "version": software_version},
        "implementation": {"description": "Referral hub", "url": hub_url("/fhir")},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": SECURITY_SERVICES,
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "OAuth 2.0 bearer tokens of the hub "
                    + hub_url("/.well-known/oauth-authorization-server")
                    + "; Task, ServiceRequest, Patient and Consent need referrals:read (changing a "
                    "Task: referrals:respond or referrals:write), Organization directory:read.",
                },
                "resource": resources,
            }
        ],
    }
