"""Authorization codes are kept a day past their use or expiry (to recognise a replay),
then purged by the schedule."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from referral_hub.db import utcnow
from referral_hub.delivery.schedule import PERIODIC
from referral_hub.extensions import db
from referral_hub.oauth import tasks
from referral_hub.oauth.models import OAuthAuthorizationCode
from referral_hub.oauth.operations import CODE_RETENTION, purge_authorization_codes


def _code(user_id: str, expires_at: dt.datetime, name: str) -> str:
    row = OAuthAuthorizationCode(
        code_hash=name.ljust(64, "0"),
        client_id="hub_purge_test",
        user_id=user_id,
        redirect_uri="https://app.example/cb",
        scope="referrals:read",
        code_challenge="c" * 43,
        code_challenge_method="S256",
        expires_at=expires_at,
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def test_codes_past_their_retention_are_purged_and_recent_ones_kept(app, hub):
    user = hub.user("uptd-ppa-ppu", "caseworker")
    now = utcnow()
    with app.app_context():
        old = _code(user["id"], now - CODE_RETENTION - dt.timedelta(minutes=1), "old")
        used_today = _code(user["id"], now - dt.timedelta(hours=2), "used")
        live = _code(user["id"], now + dt.timedelta(minutes=5), "live")
        db.session.commit()
        assert purge_authorization_codes(now) == 1
        db.session.commit()
        left = set(db.session.scalars(select(OAuthAuthorizationCode.id)))
        assert left == {used_today, live}
        assert old not in left


def test_the_purge_runs_on_the_schedule(app, hub):
    periodic = {p.name: p for p in PERIODIC}["oauth-code-purge"]
    assert periodic.fn is tasks.purge_authorization_codes
    assert periodic.task == "referral_hub.oauth.tasks.purge_authorization_codes"
    user = hub.user("uptd-ppa-ppu", "caseworker")
    with app.app_context():
        _code(user["id"], utcnow() - CODE_RETENTION - dt.timedelta(hours=1), "stale")
        db.session.commit()
        assert tasks.purge_authorization_codes() == 1
        assert db.session.scalars(select(OAuthAuthorizationCode.id)).all() == []
