"""A request's session is ended quietly when its connection died with the database.

During a PostgreSQL restart the hub answers 503 (come back later); the session's closing
rollback then ran on the dead connection and raised out of Flask's teardown, so gunicorn
replaced the 503 with a bare 500 page. The answer given must stand.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from referral_hub.extensions import db

pytestmark = pytest.mark.commits


def test_a_connection_killed_under_the_session_does_not_break_the_teardown(app, is_postgres):
    if not is_postgres:
        pytest.skip("terminating a backend is PostgreSQL's")
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    try:
        with app.app_context():
            pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # Leaving the context ran the teardown without raising; the next one works.
        with app.app_context():
            assert db.session.execute(text("SELECT 1")).scalar() == 1
    finally:
        admin.dispose()
