"""Imports every feature's models so the metadata (and Alembic) see all tables."""

from referral_hub.accounts.models import User
from referral_hub.agreements.models import (
    Agreement,
    AgreementDocument,
    AgreementParty,
    AgreementService,
    AgreementSignature,
)
from referral_hub.attempts import AttemptCounter
from referral_hub.audit.models import AuditEntry
from referral_hub.cases.models import Case, CaseNote, PlanItem
from referral_hub.clients.models import (
    Client,
    CodeCounter,
    Consent,
    ConsentRecipient,
    Disclosure,
)
from referral_hub.delivery.models import (
    DeliveryAttempt,
    Event,
    EventAudience,
    Notification,
    Webhook,
    WebhookDelivery,
)
from referral_hub.directory.models import Organization, OrganizationService, Service
from referral_hub.idempotency.models import IdempotencyKey
from referral_hub.oauth.models import OAuthAuthorizationCode, OAuthClient, OAuthToken
from referral_hub.referrals.models import Appointment, Referral, ReferralEvent

__all__ = [
    "Agreement",
    "AgreementDocument",
    "AgreementParty",
    "AgreementService",
    "AgreementSignature",
    "Appointment",
    "AttemptCounter",
    "AuditEntry",
    "Case",
    "CaseNote",
    "Client",
    "CodeCounter",
    "Consent",
    "ConsentRecipient",
    "DeliveryAttempt",
    "Disclosure",
    "Event",
    "EventAudience",
    "IdempotencyKey",
    "Notification",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthToken",
    "Organization",
    "OrganizationService",
    "PlanItem",
    "Referral",
    "ReferralEvent",
    "Service",
    "User",
    "Webhook",
    "WebhookDelivery",
]
