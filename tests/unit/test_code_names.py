"""The portal names every code of the domain's one lists, and restates none of its own."""

from __future__ import annotations

from referral_hub.categories import DATA_CATEGORIES
from referral_hub.permissions import ROLES
from referral_hub.portal.code_names import LABELS, ROLE_LABELS
from referral_hub.referrals.lifecycle import STATUSES


def test_every_data_category_has_a_name_and_a_help_text_and_nothing_else_does():
    assert set(LABELS["category"]) == set(DATA_CATEGORIES)
    assert set(LABELS["category_help"]) == set(DATA_CATEGORIES)


def test_every_referral_status_and_role_has_a_name():
    assert set(LABELS["status"]) == set(STATUSES)
    assert set(ROLE_LABELS) == set(ROLES)
