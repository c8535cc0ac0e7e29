"""The rules of cases, one module per concern; callers use this package's names.

    access     who reaches a case (its unit alone: 404 to anyone else), the rights, a closed
               case refusing changes
    versions   a case's ETag, If-Match, a concurrent change refused
    reading    what a reader sees: a case in full (the read logged), a list's line, a plan
               item's status (its referral's once referred) and a note
    lifecycle  opening a case for a client, changing, closing with a reason, reopening
    plan       the service plan: items by the unit or a partner, referred through every gate
    notes      notes with a follow-up date, the follow-up marked done
    queries    the lists: the unit's cases, a case's notes, follow-ups due and plan items
               overdue for the home pages
    sweep      the scheduled announcement of follow-ups that fell due (`case.follow_up_due`)
    timeline   everything around the case's client on one line

Every change is audited in the operation that makes it. Each module imports only from those
above it in this list (and never another module's `_private` helpers), so they read top to
bottom.
"""

from referral_hub.cases.operations.access import (
    CASE_CLOSED,
    field_error,
    get_case_for,
    require_open_case,
    require_right,
)
from referral_hub.cases.operations.lifecycle import (
    NUMBER_PREFIX,
    assignable_people,
    close_case,
    open_case,
    reopen_case,
    update_case,
)
from referral_hub.cases.operations.notes import add_note, complete_follow_up
from referral_hub.cases.operations.plan import (
    PLAN_ITEM_ALREADY_REFERRED,
    PLAN_ITEM_FOLLOWS_REFERRAL,
    add_plan_item,
    plan_item_of,
    refer_plan_item,
    referral_case_data,
    update_plan_item,
)
from referral_hub.cases.operations.queries import (
    cases_query,
    follow_ups_due,
    notes_query,
    overdue_plan_items,
    waiting_follow_ups,
)
from referral_hub.cases.operations.reading import (
    PENDING_ITEM_STATUSES,
    case_summary,
    case_view,
    item_pending_clause,
    note_view,
    plan_item_status,
    plan_item_view,
    user_ref,
)
from referral_hub.cases.operations.sweep import sweep_due_follow_ups
from referral_hub.cases.operations.timeline import case_timeline
from referral_hub.cases.operations.versions import check_if_match, etag_of, flush_case

__all__ = [
    "CASE_CLOSED",
    "NUMBER_PREFIX",
    "PENDING_ITEM_STATUSES",
    "PLAN_ITEM_ALREADY_REFERRED",
    "PLAN_ITEM_FOLLOWS_REFERRAL",
    "add_note",
    "add_plan_item",
    "assignable_people",
    "case_summary",
    "case_timeline",
    "case_view",
    "cases_query",
    "check_if_match",
    "close_case",
    "complete_follow_up",
    "etag_of",
    "field_error",
    "flush_case",
    "follow_ups_due",
    "get_case_for",
    "item_pending_clause",
    "note_view",
    "notes_query",
    "open_case",
    "overdue_plan_items",
    "plan_item_of",
    "plan_item_status",
    "plan_item_view",
    "refer_plan_item",
    "referral_case_data",
    "reopen_case",
    "require_open_case",
    "require_right",
    "sweep_due_follow_ups",
    "update_case",
    "update_plan_item",
    "user_ref",
    "waiting_follow_ups",
]
