"""The hub's day follows HUB_TIMEZONE: a Yogyakarta hub (Asia/Jakarta, WIB) starts its days
at WIB midnight, for agreements, consents and ages alike, and shows WIB in its pages."""

from __future__ import annotations

import datetime as dt

import pytest
from flask_babel import format_time

from referral_hub import create_app
from referral_hub.agreements.models import Agreement
from referral_hub.agreements.operations import effective_status
from referral_hub.clients.models import local_today
from referral_hub.clock import hub_zone, local_date, start_of_day, zone_label

# 23:30 WIB on 31 March is 00:30 WITA on 1 April.
LATE_EVENING = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def wib_app(app, app_config):
    return create_app({**app_config, "HUB_TIMEZONE": "Asia/Jakarta"})


def _agreement_ending(day: dt.date) -> Agreement:
    return Agreement(status="active", effective_from=day - dt.timedelta(days=90), expires_on=day)


def test_a_wib_hub_still_has_the_last_day_when_wita_has_moved_on(app, wib_app):
    with wib_app.app_context():
        assert hub_zone().key == "Asia/Jakarta"
        assert local_date(LATE_EVENING) == dt.date(2026, 3, 31)
        assert local_today(LATE_EVENING) == dt.date(2026, 3, 31)
        assert effective_status(_agreement_ending(dt.date(2026, 3, 31)), LATE_EVENING) == "active"
        assert start_of_day(dt.date(2026, 4, 1)) == dt.datetime(2026, 3, 31, 17, tzinfo=dt.UTC)
        assert zone_label(LATE_EVENING) == "WIB"
    with app.app_context():  # the default hub, on WITA
        assert local_date(LATE_EVENING) == dt.date(2026, 4, 1)
        assert local_today(LATE_EVENING) == dt.date(2026, 4, 1)
        assert effective_status(_agreement_ending(dt.date(2026, 3, 31)), LATE_EVENING) == "expired"
        assert start_of_day(dt.date(2026, 4, 1)) == dt.datetime(2026, 3, 31, 16, tzinfo=dt.UTC)
        assert zone_label(LATE_EVENING) == "WITA"


def test_a_wib_hub_shows_its_times_in_wib(wib_app):
    with wib_app.test_request_context("/"):
        assert format_time(LATE_EVENING, "HH:mm zzz") == "23:30 WIB"
