"""The hub's own stack doing the least a referral POST could do: the floor of creation.

The same application as `wsgi:app` (create_app, production settings, every request hook:
API edge checks, the rate limiter, security headers, the session's commit hooks), with one
more route, `POST /api/v1/bench/floor`, which
  - checks the bearer token and its `referrals:write` scope as every API route does,
  - validates the body with the referral schema (`ReferralIn`) as `POST /api/v1/referrals`,
  - inserts one row and commits,
and nothing else: no gates, no encryption, no audit entry, no event, no e-mail.

Measured beside the bare baseline (bench/baseline_app.py) and the real route, it splits the
gap between them into what the stack costs (Flask-SQLAlchemy, Authlib, marshmallow, the
hub's hooks) and what the domain work costs (gates, audit chain, outbox, disclosures).

    gunicorn --chdir bench 'floor_app:create_floor_app()' ...
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request
from sqlalchemy import JSON, DateTime, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from referral_hub import create_app
from referral_hub.db import new_id
from referral_hub.extensions import csrf, db
from referral_hub.oauth.server import requires
from referral_hub.problems import Problem
from referral_hub.referrals.schemas import ReferralIn


class Base(DeclarativeBase):
    pass


class FloorRecord(Base):
    __tablename__ = "bench_floor_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    body: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


floor = Blueprint("bench_floor", __name__)
schema = ReferralIn()


@floor.post("/api/v1/bench/floor")
@requires("referrals:write")
def create_floor_record(actor):
    errors = schema.validate(request.get_json(silent=True) or {})
    if errors:
        raise Problem(422, "validation-error", "Invalid body.", errors=errors)
    record_id = new_id()
    record = FloorRecord(
        id=record_id,
        organization_id=actor.organization_id,
        body=request.get_json(),
        created_at=dt.datetime.now(dt.UTC),
    )
    db.session.add(record)
    db.session.commit()
    return jsonify({"id": record_id}), 201  # not record.id: that would reload the row


def create_floor_app():
    app = create_app()
    csrf.exempt(floor)  # bearer tokens, not cookies, as the API blueprints
    app.register_blueprint(floor)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(7284)"))
        Base.metadata.create_all(connection, checkfirst=True)
    return app
