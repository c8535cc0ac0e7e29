"""The rules of referrals, one module per concern; callers use this package's names.

    access         who acts on referrals, on which side, the referral they may reach (and
                   who answers for a recipient not on the hub)
    contacts       the staff contacts the two parties see of each other
    record         what a change leaves: the timeline, events' data, links; a status change
    gates          an agreement in force, and what a referral may share (shareable_categories)
    sending        sending a referral, on consent or as an override, and sharing it
    queries        the lists: sent and received referrals, overrides waiting for approval
    appointments   the sessions the recipient schedules and records
    visibility     what each party sees (visible_categories) and the answers built by it
    approval       a supervisor approves or declines a waiting override
    actions        the closed loop: accept, reject, start, complete and the other actions
    cancellations  the hub's own cancellations: consent withdrawn, agreement ended
    client_rights  a client's data rights: open referrals hold an erasure, the export's part
    sweep          the scheduled sweep of overdue referrals

Each module imports only from those above it in this list (and never another module's
`_private` helpers), so they read top to bottom.
"""

from referral_hub.referrals.operations.access import (
    ACTING_ROLES,
    APPROVAL_APPROVED,
    APPROVAL_DECLINED,
    APPROVAL_PENDING,
    RECIPIENT_ON_HUB,
    acting_supervisor,
    answering_side,
    client_of_referral,
    get_referral_for,
    may_approve,
    reached_recipient,
    side_of,
)
from referral_hub.referrals.operations.actions import AGREEMENT_ENDED, act_on_referral
from referral_hub.referrals.operations.appointments import (
    AGENDA_DAYS,
    appointment_view,
    schedule_appointment,
    upcoming_sessions,
    update_appointment,
)
from referral_hub.referrals.operations.approval import (
    OVERRIDE_NOT_AUTHORISED,
    approve_override,
    decline_override,
)
from referral_hub.referrals.operations.cancellations import (
    cancel_referrals_on_withdrawn_consent,
    cancel_referrals_under_ended_agreement,
)
from referral_hub.referrals.operations.client_rights import (
    open_referrals_of_client,
    referrals_for_export,
)
from referral_hub.referrals.operations.contacts import focal_points, referral_contacts
from referral_hub.referrals.operations.gates import (
    DATA_CATEGORY_NOT_ALLOWED,
    GUARDIAN_IS_ALLEGED_PERPETRATOR,
    NO_ACTIVE_AGREEMENT,
    NOT_ON_RECORD,
    OUTSIDE_AGREEMENT,
    OUTSIDE_CONSENT,
    URGENCY_CAP_HOURS,
    respond_by_for,
    shareable_categories,
)
from referral_hub.referrals.operations.queries import (
    is_overdue,
    pending_approvals_query,
    referrals_query,
)
from referral_hub.referrals.operations.record import INVALID_TRANSITION, approval_link
from referral_hub.referrals.operations.sending import NUMBER_PREFIX, send_referral
from referral_hub.referrals.operations.sweep import sweep_overdue_referrals
from referral_hub.referrals.operations.visibility import (
    READ_RIGHT,
    RECIPIENT_KEEPS_DATA,
    approval_view,
    personal_categories_in,
    referral_summary,
    referral_view,
    status_recorded_on_behalf,
    timeline,
    visible_categories,
)

__all__ = [
    "ACTING_ROLES",
    "AGENDA_DAYS",
    "AGREEMENT_ENDED",
    "APPROVAL_APPROVED",
    "APPROVAL_DECLINED",
    "APPROVAL_PENDING",
    "DATA_CATEGORY_NOT_ALLOWED",
    "GUARDIAN_IS_ALLEGED_PERPETRATOR",
    "INVALID_TRANSITION",
    "NOT_ON_RECORD",
    "NO_ACTIVE_AGREEMENT",
    "NUMBER_PREFIX",
    "OUTSIDE_AGREEMENT",
    "OUTSIDE_CONSENT",
    "OVERRIDE_NOT_AUTHORISED",
    "READ_RIGHT",
    "RECIPIENT_KEEPS_DATA",
    "RECIPIENT_ON_HUB",
    "URGENCY_CAP_HOURS",
    "act_on_referral",
    "acting_supervisor",
    "answering_side",
    "appointment_view",
    "approval_link",
    "approval_view",
    "approve_override",
    "cancel_referrals_on_withdrawn_consent",
    "cancel_referrals_under_ended_agreement",
    "client_of_referral",
    "decline_override",
    "focal_points",
    "get_referral_for",
    "is_overdue",
    "may_approve",
    "open_referrals_of_client",
    "pending_approvals_query",
    "personal_categories_in",
    "reached_recipient",
    "referral_contacts",
    "referral_summary",
    "referral_view",
    "referrals_for_export",
    "referrals_query",
    "respond_by_for",
    "schedule_appointment",
    "send_referral",
    "shareable_categories",
    "side_of",
    "status_recorded_on_behalf",
    "sweep_overdue_referrals",
    "timeline",
    "upcoming_sessions",
    "update_appointment",
    "visible_categories",
]
