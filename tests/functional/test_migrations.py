"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from referral_hub.extensions import db

#: Commits for real: migrates other databases and compares schemas over their own connections.
pytestmark = pytest.mark.commits


def test_schema_at_heads_matches_the_models(app):
    # The session's database was built by `upgrade(revision="heads")`, never create_all.
    # Nothing is ignored: types, nullability, indexes, unique and foreign keys all count.
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "\n".join(map(str, differences))


def test_the_database_is_at_every_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
            tables = set(inspect(connection).get_table_names())
    assert current == heads
    assert {t.name for t in db.metadata.sorted_tables} <= tables
