"""The scopes partner systems can be granted, with what each allows."""

SCOPES = {
    "directory:read": "Read organisations and services",
    "directory:write": "Add partner organisations, keep directory entries and invite people",
    "agreements:read": "Read the agreements your organisation is party to",
    "agreements:write": "Draft, sign, suspend, renew and terminate agreements",
    "clients:read": "Read your organisation's clients and consents",
    "clients:write": "Register clients and record or withdraw consent",
    "clients:erase": "Erase a client's personal data (UU PDP; a supervisor or administrator)",
    "referrals:read": "Read sent and received referrals",
    "referrals:write": "Send and cancel referrals",
    "referrals:respond": "Accept, reject, progress and complete received referrals",
    "events:read": "Read the events feed",
    "webhooks:write": "Manage webhook subscriptions",
    "audit:read": "Read the audit log",
    "cases:read": "Read your unit's cases, their plans and notes",
    "cases:write": "Open, change, close and reopen cases; plan, refer and note",
    "intakes:read": "Read the intakes your organisation reported or your unit received",
    "intakes:write": "Report intakes to a UPTD PPA; triage, forward, accept and decline them",
    "reports:read": "Read aggregate reports (no personal data; small counts hidden)",
}
