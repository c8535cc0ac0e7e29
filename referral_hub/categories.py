"""The data categories of DOMAIN.md, defined once: what an agreement and a consent may allow,
what a referral shares, and what of it is personal data.

Clients, agreements, referrals and the portal import them from here; none restates them.
"""

from __future__ import annotations

DATA_CATEGORIES = (
    "demographics",
    "identity",
    "contact",
    "guardian",
    "case_summary",
    "health",
    "legal",
    "perpetrator",
)
#: Age band, sex, disability, domicile region: always shared, always allowed.
ALWAYS_SHARED = "demographics"
#: What a referral may choose to share, besides demographics (`shareable_categories` says which).
SHAREABLE_CATEGORIES = tuple(c for c in DATA_CATEGORIES if c != ALWAYS_SHARED)
#: Categories whose data travels on the referral itself (the sender writes it for the recipient).
CASE_CATEGORIES = ("case_summary", "health", "legal", "perpetrator")
#: Categories that hold personal data; reading or sharing them is a disclosure.
PERSONAL_CATEGORIES = ("identity", "contact", "guardian", *CASE_CATEGORIES)
