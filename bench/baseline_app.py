"""The bare stack the hub's referral creation is compared with: Flask, SQLAlchemy, one INSERT.

`POST /records` parses a JSON body, inserts one row into a small table and commits, then
answers 201 with the row's id; that is all. It runs under the same gunicorn settings, on the
same PostgreSQL database (BENCH_BASELINE_DATABASE_URL) and with the same connection pool
settings as the hub, so the ratio of the two throughputs is the cost of the hub's own work
(token check, gates, encryption, audit chain, outbox), not of the stack.

    gunicorn --chdir bench baseline_app:app ...
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

from flask import Flask, abort, jsonify, request
from sqlalchemy import JSON, DateTime, String, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Record(Base):
    __tablename__ = "bench_baseline_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


def create_baseline_app() -> Flask:
    url = os.environ["BENCH_BASELINE_DATABASE_URL"]
    # The hub's engine options for PostgreSQL (referral_hub/config.py), for a fair comparison.
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    with engine.begin() as connection:
        # gunicorn's workers start together: one creates the table, the others wait and see it.
        connection.execute(text("SELECT pg_advisory_xact_lock(7283)"))
        Base.metadata.create_all(connection, checkfirst=True)
    app = Flask(__name__)

    @app.post("/records")
    def create_record():
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400)
        record_id, kind = uuid.uuid4().hex, str(data.get("service", "unknown"))[:64]
        with Session(engine) as session, session.begin():
            session.add(
                Record(id=record_id, kind=kind, body=data, created_at=dt.datetime.now(dt.UTC))
            )
        return jsonify({"id": record_id, "kind": kind}), 201

    @app.get("/healthz")
    def healthz():
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return jsonify({"status": "ok"})

    return app


app = create_baseline_app()
