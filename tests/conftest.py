"""Fixtures from the factory: one migrated database per run, each test rolled back.

HUB_TEST_DATABASE_URL selects the database (default: SQLite in a temporary folder);
HUB_TEST_REDIS_URL the Redis for tests that need one (skipped without it, except under
CI where missing services are an error). `make test` sets both.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from referral_hub import create_app
from referral_hub.actors import Actor
from referral_hub.extensions import db

REPO = Path(__file__).resolve().parent.parent
#: Tables kept between tests: the directory loaded from partners.yaml once per run.
DIRECTORY_TABLES = ("services", "organizations", "organization_services")
TEST_PASSWORD = "correct horse battery staple"
#: The authenticator secret of the org_admin and auditor users that Hub.user makes.
TEST_TOTP_SECRET = "TESTTESTTESTTESTTESTTESTTESTTEST"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config) -> None:
    """Give this run a temporary folder of its own.

    pytest's numbered folders under /tmp/pytest-of-<user> are shared by every run on the
    machine, and a starting run prunes old ones; with several runs at once (developers,
    helpers, CI beside a developer) a run's SQLite file could vanish under it.
    """
    if not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="referral-hub-tests-")
        config._hub_own_basetemp = config.option.basetemp


def pytest_unconfigure(config) -> None:
    own = getattr(config, "_hub_own_basetemp", None)
    if own:
        shutil.rmtree(own, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite in a temporary folder, or a throwaway PostgreSQL database for this run.

    Each run creates its own database next to HUB_TEST_DATABASE_URL's and drops it at the
    end, so runs in parallel (several developers, xdist) never share a schema.
    """
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "hub.sqlite3")
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        from referral_hub.extensions import db as _db

        with contextlib.suppress(Exception):
            _db.session.remove()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("HUB_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("HUB_TEST_REDIS_URL is not set; run the suite with `make test`")
        pytest.skip("needs Redis: run with `make test` (HUB_TEST_REDIS_URL)")
    return url


@pytest.fixture(scope="session")
def live_port() -> int:
    return _free_port()


@pytest.fixture(scope="session")
def app_config(database_url, tmp_path_factory, live_port) -> dict[str, Any]:
    key = base64.b64encode(b"k" * 32).decode()
    return {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "HUB_DATA_KEYS": f"test1:{key}",
        "HUB_AUDIT_SIGNING_KEYS": f"test1:{base64.b64encode(b'a' * 32).decode()}",
        "HUB_BASE_URL": f"http://127.0.0.1:{live_port}",
        "HUB_WEBHOOK_ALLOW_LOOPBACK": "1",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture(scope="session")
def app(app_config) -> Iterator[Any]:
    """The app on a freshly migrated database with partners.yaml loaded."""
    from flask_migrate import upgrade

    from referral_hub.directory.operations import load_partners

    app = create_app(app_config)
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"), revision="heads")
        load_partners(Actor.system("tests"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _truncate(keep: tuple[str, ...]) -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in keep]
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


#: Fixtures whose tests need real commits: another thread, process or app reads the data.
COMMITTING_FIXTURES = frozenset({"live_server", "redis_url", "restore_directory"})


def _needs_commits(request) -> bool:
    """Marked `commits`, or using a fixture that serves, queues or loads for others."""
    return request.node.get_closest_marker("commits") is not None or bool(
        COMMITTING_FIXTURES & set(request.fixturenames)
    )


class _EngineOnConnection:
    """The engine as the code under test sees it during a rolled-back test.

    A few operations take a connection of their own (the idempotency claims, the
    PostgreSQL numbering): here they get the test's connection inside a savepoint, so that
    they see the test's rows, wait for no lock of the test's own, and are rolled back with it.
    """

    def __init__(self, engine, connection) -> None:
        self._engine = engine
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    @contextlib.contextmanager
    def begin(self) -> Iterator[Any]:
        with self._connection.begin_nested():
            yield self._connection

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        """The test's connection, in a savepoint; its commit keeps the work in the test's
        transaction (released, and a new savepoint begun)."""
        connection = self._connection

        def commit() -> None:
            nested = connection.get_nested_transaction()
            if nested is not None:
                nested.commit()
            connection.begin_nested()

        savepoint = connection.begin_nested()
        connection.commit = commit
        try:
            yield connection
        finally:
            del connection.commit
            nested = connection.get_nested_transaction()
            if nested is not None and nested is not savepoint and nested.is_active:
                nested.rollback()
            if savepoint.is_active:
                savepoint.rollback()


@contextlib.contextmanager
def _rolled_back(app) -> Iterator[None]:
    """Run the test in one transaction of one connection, rolled back at its end.

    Every session (the test's, each request's app context) joins that connection with
    `join_transaction_mode="create_savepoint"`: the code's commits and rollbacks become
    savepoints, its before_commit and after_commit hooks run as on a real commit. On SQLite
    pysqlite's own transaction handling is turned off for this connection and BEGIN
    emitted by hand, or the first savepoint's release would commit.
    """
    from flask_sqlalchemy.extension import SQLAlchemy
    from flask_sqlalchemy.session import Session as FlaskSession

    with app.app_context():
        engine = db.engine
        db.session.remove()
    pool = engine.pool
    connection = engine.connect()
    driver = connection.connection.driver_connection
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        isolation = driver.isolation_level
        driver.isolation_level = None
    outer = connection.begin()
    if sqlite:
        connection.exec_driver_sql("BEGIN")
    factory = db.session.session_factory
    saved_kw = dict(factory.kw)
    factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    original_get_bind = FlaskSession.get_bind
    original_engine = SQLAlchemy.engine

    # Only the test's own thread: a connection is not to be shared between threads, and a
    # thread the test did not mark `commits` for then simply sees committed data only.
    owner = threading.get_ident()

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and threading.get_ident() == owner:
            return connection
        return original_get_bind(self, mapper, clause, bind, **kwargs)

    shim = _EngineOnConnection(engine, connection)
    FlaskSession.get_bind = get_bind
    SQLAlchemy.engine = property(
        lambda self: shim if threading.get_ident() == owner else original_engine.fget(self)
    )
    try:
        yield
    finally:
        FlaskSession.get_bind = original_get_bind
        SQLAlchemy.engine = original_engine
        factory.kw.clear()
        factory.kw.update(saved_kw)
        with app.app_context():
            db.session.remove()
        if outer.is_active:
            outer.rollback()
        if sqlite:
            driver.isolation_level = isolation
        connection.close()
        if engine.pool is not pool:
            # The test disposed of the engine (a worker's warm-up does): our connection
            # went back to the old pool, which nobody closes any more.
            pool.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request) -> Iterator[None]:
    """Each test that uses the app leaves the database as it found it.

    By default the test runs in a transaction rolled back at its end (`_rolled_back`).
    A test whose data another thread, process or app must see (`COMMITTING_FIXTURES`, or
    marked `commits`) commits for real, and every table but the directory is emptied after.
    """
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    if _needs_commits(request):
        yield
        with app.app_context():
            _truncate(DIRECTORY_TABLES)
        return
    with _rolled_back(app):
        yield


@pytest.fixture
def restore_directory(app) -> Iterator[None]:
    """For a test that loads another partners file or changes the directory for real (a live
    server, the demo): afterwards the directory is partners.yaml's.

    The directory tables are kept between tests, so organisations and services the test
    added are removed and partners.yaml is loaded again over whatever it changed.
    """
    from sqlalchemy import delete, select, update

    from referral_hub.directory.models import Organization, OrganizationService, Service
    from referral_hub.directory.operations import load_partners

    with app.app_context():
        org_codes = set(db.session.scalars(select(Organization.code)))
        service_codes = set(db.session.scalars(select(Service.code)))
        db.session.remove()
    yield
    with app.app_context():
        _truncate(DIRECTORY_TABLES)  # users, clients ... may point at added organisations
        added = list(
            db.session.scalars(select(Organization.id).where(Organization.code.not_in(org_codes)))
        )
        db.session.execute(
            delete(OrganizationService).where(
                OrganizationService.organization_id.in_(added)
                | OrganizationService.service_code.not_in(service_codes)
            )
        )
        db.session.execute(
            update(Organization).where(Organization.parent_id.in_(added)).values(parent_id=None)
        )
        db.session.execute(delete(Organization).where(Organization.id.in_(added)))
        db.session.execute(delete(Service).where(Service.code.not_in(service_codes)))
        # What the hub kept of an entry gives way to the file again (load_partners leaves an
        # entry kept in the hub as it is).
        db.session.execute(
            update(Organization).values(maintained_in_hub_at=None, added_by_id=None, contacts=None)
        )
        load_partners(Actor.system("tests"), app.config["HUB_PARTNERS_FILE"])
        db.session.commit()
        db.session.remove()


@pytest.fixture
def app_ctx(app) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    """Flask test client."""
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(app, live_port) -> Iterator[str]:
    """The app served over real HTTP on loopback, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()


# --- factories -------------------------------------------------------------------------


class Hub:
    """Factories for tests: OAuth clients, tokens and users of partners.yaml organisations."""

    def __init__(self, app, client) -> None:
        self.app = app
        self.client = client

    def org(self, code: str):
        from referral_hub.directory.operations import find_organization

        with self.app.app_context():
            org = find_organization(code)
            assert org is not None, code
            return {"id": org.id, "code": org.code, "type": org.type}

    def oauth_client(
        self, org: str, scope: str, *, grants=None, redirect_uris=None, public=False
    ) -> dict[str, str]:
        from referral_hub.oauth.operations import create_client

        with self.app.app_context():
            client, secret = create_client(
                Actor.system("tests"),
                organization=org,
                name=f"test client of {org}",
                scope=scope,
                grant_types=grants,
                redirect_uris=redirect_uris,
                public=public,
            )
            db.session.commit()
            return {"client_id": client.client_id, "client_secret": secret}

    def token(self, org: str, scope: str) -> str:
        creds = self.oauth_client(org, scope)
        response = self.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["access_token"]

    def headers(self, org: str, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(org, scope)}"}

    def user(
        self, org: str, role: str, email: str | None = None, *, enrolled: bool = True
    ) -> dict[str, str]:
        """A user; an org_admin or auditor comes enrolled with TEST_TOTP_SECRET unless told."""
        from referral_hub.accounts.operations import create_user
        from referral_hub.accounts.totp import enrol_fixed

        email = email or f"{role}.{org}@test.example"
        with self.app.app_context():
            user = create_user(
                Actor.system("tests"),
                organization=org,
                email=email,
                role=role,
                password=TEST_PASSWORD,
            )
            db.session.flush()
            if enrolled and user.needs_second_factor:
                enrol_fixed(Actor.system("tests"), user, TEST_TOTP_SECRET)
            db.session.commit()
            return {"id": user.id, "email": email, "password": TEST_PASSWORD}

    def login(
        self, browser, email: str, password: str = TEST_PASSWORD, totp_secret: str | None = None
    ):
        """Sign a test client in through the real form (with its CSRF token).

        For an account with a second factor the code step follows, with a code of
        TEST_TOTP_SECRET; the record of the last code used is cleared first, so a test may
        sign the same person in several times within one 30-second step.
        """
        page = browser.get("/login")
        token = _csrf_from(page.get_data(as_text=True))
        response = browser.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        if response.status_code != 302 or "/login/code" not in response.headers["Location"]:
            return response
        from sqlalchemy import update

        from referral_hub.accounts.models import User

        with self.app.app_context():
            db.session.execute(
                update(User).where(User.email == email.lower()).values(totp_last_step=None)
            )
            db.session.commit()
        page = browser.get(response.headers["Location"])
        return browser.post(
            "/login/code",
            data={
                "code": totp_code(totp_secret),
                "csrf_token": _csrf_from(page.get_data(as_text=True)),
                "next": _next_of(response.headers["Location"]),
            },
        )


def totp_code(secret: str | None = None, offset_steps: int = 0) -> str:
    """The TOTP code of `secret` (default TEST_TOTP_SECRET) now, or some steps away."""
    import time

    import pyotp

    return pyotp.TOTP(secret or TEST_TOTP_SECRET).at(time.time() + 30 * offset_steps)


def _next_of(location: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(location).query).get("next", [""])[0]


def _csrf_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def hub(app, client) -> Hub:
    return Hub(app, client)


def problem(response) -> dict[str, Any]:
    """Assert a problem+json response and return its body."""
    assert response.headers["Content-Type"].startswith("application/problem+json"), (
        response.headers["Content-Type"],
        response.get_data(as_text=True)[:300],
    )
    body = json.loads(response.get_data(as_text=True))
    assert {"type", "title", "status"} <= set(body)
    assert body["status"] == response.status_code
    return body
