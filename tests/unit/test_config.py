"""Configuration from HUB_* variables: production refuses to start without its secrets."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading

import pytest

from referral_hub.config import ConfigError, load_config, parse_key_ring

KEY = base64.b64encode(b"k" * 32).decode()
PRODUCTION = {
    "HUB_ENV": "production",
    "HUB_SECRET_KEY": "s" * 48,
    "HUB_DATA_KEYS": f"prod1:{KEY}",
    "HUB_DATABASE_URL": "postgresql://hub@db.internal/hub",
    "HUB_BASE_URL": "https://hub.example.org",
    # An Ed25519 private key is any 32 bytes.
    "HUB_AUDIT_SIGNING_KEYS": f"audit1:{base64.b64encode(b'a' * 32).decode()}",
}
REQUIRED = (
    "HUB_SECRET_KEY",
    "HUB_DATA_KEYS",
    "HUB_DATABASE_URL",
    "HUB_BASE_URL",
    "HUB_AUDIT_SIGNING_KEYS",
)


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch):
    """Only what a test passes counts, not what the shell running the suite exported."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)


def test_production_names_every_missing_variable(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path), {"HUB_ENV": "production"})
    message = str(raised.value)
    for name in REQUIRED:
        assert name in message


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_names_the_one_missing_variable(tmp_path, missing):
    settings = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path), settings)
    message = str(raised.value)
    assert missing in message
    assert all(name not in message for name in PRODUCTION if name not in (missing, "HUB_ENV"))


def test_production_reads_the_environment(tmp_path, monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    config = load_config(str(tmp_path))
    assert config["HUB_ENV"] == "production"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://hub@db.internal/hub"
    assert config["SECRET_KEY"] == PRODUCTION["HUB_SECRET_KEY"]
    assert config["SESSION_COOKIE_SECURE"] is True
    assert list(config["HUB_DATA_KEY_RING"]) == ["prod1"]
    assert list(config["HUB_AUDIT_KEY_RING"]) == ["audit1"]
    # Production never writes development secrets.
    assert not (tmp_path / "dev-secrets.json").exists()
    assert not (tmp_path / "dev-audit-keys.json").exists()


def test_production_refuses_a_blank_variable(tmp_path):
    with pytest.raises(ConfigError, match="HUB_SECRET_KEY"):
        load_config(str(tmp_path), {**PRODUCTION, "HUB_SECRET_KEY": ""})


def test_production_refuses_a_short_secret_and_plain_http(tmp_path):
    with pytest.raises(ConfigError, match="HUB_SECRET_KEY"):
        load_config(str(tmp_path), {**PRODUCTION, "HUB_SECRET_KEY": "short"})
    with pytest.raises(ConfigError, match="https"):
        load_config(str(tmp_path), {**PRODUCTION, "HUB_BASE_URL": "http://hub.example.org"})


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_production_refuses_webhooks_to_loopback(tmp_path, value):
    # The flag lets a webhook reach the hub's own network (loopback, private ranges, the
    # cloud metadata address): for development and tests only, never in production.
    with pytest.raises(ConfigError) as raised:
        load_config(str(tmp_path), {**PRODUCTION, "HUB_WEBHOOK_ALLOW_LOOPBACK": value})
    assert "HUB_WEBHOOK_ALLOW_LOOPBACK" in str(raised.value)
    assert "production" in str(raised.value)
    off = load_config(str(tmp_path), {**PRODUCTION, "HUB_WEBHOOK_ALLOW_LOOPBACK": "0"})
    assert off["HUB_WEBHOOK_ALLOW_LOOPBACK"] is False


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="HUB_ENV"):
        load_config(str(tmp_path), {"HUB_ENV": "staging"})


# --- the key ring ------------------------------------------------------------------------


def test_key_ring_keeps_order_first_is_current():
    other = base64.b64encode(b"o" * 32).decode()
    ring = parse_key_ring(f"new2:{other}, old1:{KEY}")
    assert list(ring) == ["new2", "old1"]
    assert ring["old1"] == b"k" * 32


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "no key"),
        (" , ", "no key"),
        ("justakey", "kid:base64key"),
        (f":{KEY}", "kid:base64key"),
        (f"bad-kid:{KEY}", "kid:base64key"),
        ("k1:not base64!", "base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        ("k1:" + base64.b64encode(b"x" * 33).decode(), "32 bytes"),
        (f"k1:{KEY},k1:{KEY}", "twice"),
    ],
    ids=["empty", "blank", "no-colon", "no-kid", "bad-kid", "not-b64", "short", "long", "dup"],
)
def test_malformed_key_ring_is_refused(tmp_path, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_key_ring(value)
    with pytest.raises(ConfigError, match="HUB_DATA_KEYS"):
        load_config(str(tmp_path), {**PRODUCTION, "HUB_DATA_KEYS": value})


def test_key_ring_error_does_not_echo_the_key(tmp_path):
    secret = base64.b64encode(b"secret-key-material-of-31-bytes").decode()
    with pytest.raises(ConfigError) as raised:
        parse_key_ring(f"k1:{secret}")
    assert secret not in str(raised.value)


# --- development secrets -----------------------------------------------------------------


def test_development_secrets_are_generated_once_private_and_reused(tmp_path):
    first = load_config(str(tmp_path), {})
    path = tmp_path / "dev-secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["HUB_SECRET_KEY"] == first["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 32
    assert len(next(iter(first["HUB_DATA_KEY_RING"].values()))) == 32

    second = load_config(str(tmp_path), {})
    assert second["SECRET_KEY"] == first["SECRET_KEY"]
    assert second["HUB_DATA_KEY_RING"] == first["HUB_DATA_KEY_RING"]
    # Another instance folder gets its own.
    other = load_config(str(tmp_path / "other"), {})
    assert other["SECRET_KEY"] != first["SECRET_KEY"]


def test_development_defaults(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["HUB_ENV"] == "development"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert str(tmp_path) in config["SQLALCHEMY_DATABASE_URI"]
    assert config["HUB_BASE_URL"] == "http://127.0.0.1:5000"
    assert config["HUB_ACCESS_TOKEN_SECONDS"] == 3600
    assert config["HUB_WEBHOOK_ALLOW_LOOPBACK"] is False


def test_explicit_settings_win_over_development_secrets(tmp_path):
    config = load_config(str(tmp_path), {"HUB_SECRET_KEY": "mine-" + "x" * 40})
    assert config["SECRET_KEY"] == "mine-" + "x" * 40


def test_a_corrupt_development_secrets_file_is_a_config_error(tmp_path):
    (tmp_path / "dev-secrets.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"dev-secrets\.json"):
        load_config(str(tmp_path), {})


def test_development_secrets_written_concurrently_are_shared(tmp_path):
    # Processes starting at once (a server and a worker): each must end up with the
    # same secrets, not fail on the file another one is writing, nor overwrite it.
    from concurrent.futures import ThreadPoolExecutor

    for attempt in range(5):
        folder = tmp_path / str(attempt)
        start = threading.Barrier(8)

        def start_together(_: int, folder=folder, start=start) -> str:
            start.wait(timeout=10)
            return load_config(str(folder), {})["SECRET_KEY"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            keys = list(pool.map(start_together, range(8)))
        assert len(set(keys)) == 1


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["3601", "86400", "59", "0", "-1"])
def test_access_token_lifetime_out_of_range_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="HUB_ACCESS_TOKEN_SECONDS"):
        load_config(str(tmp_path), {"HUB_ACCESS_TOKEN_SECONDS": value})


def test_access_token_lifetime_within_range(tmp_path):
    assert (
        load_config(str(tmp_path), {"HUB_ACCESS_TOKEN_SECONDS": "900"})["HUB_ACCESS_TOKEN_SECONDS"]
        == 900
    )


@pytest.mark.parametrize(
    "name", ["HUB_ACCESS_TOKEN_SECONDS", "HUB_JSON_BODY_LIMIT", "HUB_SESSION_IDLE_MINUTES"]
)
@pytest.mark.parametrize("value", ["one hour", "3.5", "0x10"])
def test_a_number_that_is_not_one_is_a_config_error(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(str(tmp_path), {name: value})


def test_an_empty_number_means_its_default(tmp_path):
    config = load_config(
        str(tmp_path), {"HUB_ACCESS_TOKEN_SECONDS": "", "HUB_JSON_BODY_LIMIT": " "}
    )
    assert config["HUB_ACCESS_TOKEN_SECONDS"] == 3600
    assert config["HUB_JSON_BODY_LIMIT"] == 1024 * 1024


@pytest.mark.parametrize("value", ["0", "-5"])
def test_json_body_limit_must_be_positive(tmp_path, value):
    with pytest.raises(ConfigError, match="HUB_JSON_BODY_LIMIT"):
        load_config(str(tmp_path), {"HUB_JSON_BODY_LIMIT": value})


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("yes", True), ("0", False), ("", False)]
)
def test_loopback_flag(tmp_path, value, expected):
    config = load_config(str(tmp_path), {"HUB_WEBHOOK_ALLOW_LOOPBACK": value})
    assert config["HUB_WEBHOOK_ALLOW_LOOPBACK"] is expected


def test_document_limit_is_checked_at_start_and_bounds_the_request_size(tmp_path):
    from referral_hub.config import ConfigError, load_config

    key = base64.b64encode(b"k" * 32).decode()
    base = {"HUB_DATA_KEYS": f"a:{key}", "HUB_SECRET_KEY": "x" * 40}
    config = load_config(str(tmp_path), {**base, "HUB_DOCUMENT_MAX_BYTES": "5000000"})
    assert config["HUB_DOCUMENT_MAX_BYTES"] == 5_000_000
    assert config["MAX_CONTENT_LENGTH"] > 5_000_000
    with pytest.raises(ConfigError, match="HUB_DOCUMENT_MAX_BYTES"):
        load_config(str(tmp_path), {**base, "HUB_DOCUMENT_MAX_BYTES": "lots"})


# --- the audit signing keys --------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_the_app_does_not_start_in_production_without_an_audit_signing_key(tmp_path):
    from referral_hub import create_app

    settings = {k: v for k, v in PRODUCTION.items() if k != "HUB_AUDIT_SIGNING_KEYS"}
    with pytest.raises(ConfigError, match="HUB_AUDIT_SIGNING_KEYS"):
        create_app({**settings, "INSTANCE_PATH": str(tmp_path)})


def test_audit_key_ring_first_signs_and_retired_public_keys_stay_published():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from referral_hub.config import parse_audit_key_ring

    retired = Ed25519PrivateKey.from_private_bytes(b"r" * 32).public_key()
    raw = retired.public_bytes(Encoding.Raw, PublicFormat.Raw)
    ring = parse_audit_key_ring(f"a2:{_b64(b'n' * 32)}, a1:public:{_b64(raw)}")
    assert list(ring) == ["a2", "a1"]
    assert ring["a2"].private == b"n" * 32
    assert ring["a1"].private is None
    assert ring["a1"].public == raw
    # The public half of a private key is derived from it.
    assert len(ring["a2"].public) == 32


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (" , ", "no key"),
        ("justakey", "kid:base64key"),
        (f"bad-kid:{_b64(b'k' * 32)}", "kid:base64key"),
        ("a1:not base64!", "base64"),
        (f"a1:{_b64(b'short')}", "32 bytes"),
        (f"a1:{_b64(b'k' * 32)},a1:{_b64(b'o' * 32)}", "twice"),
        (f"a1:public:{_b64(b'k' * 32)}", "first key signs"),
        (f"a1:{_b64(b'k' * 32)},a0:public:{_b64(b'x' * 31)}", "32 bytes"),
    ],
    ids=["empty", "no-colon", "bad-kid", "not-b64", "short", "dup", "public-first", "bad-pub"],
)
def test_a_malformed_audit_key_ring_is_refused_without_echoing_it(tmp_path, value, fragment):
    with pytest.raises(ConfigError, match=fragment) as raised:
        load_config(str(tmp_path), {**PRODUCTION, "HUB_AUDIT_SIGNING_KEYS": value})
    assert "HUB_AUDIT_SIGNING_KEYS" in str(raised.value)
    assert _b64(b"k" * 32) not in str(raised.value)


def test_a_development_audit_key_is_generated_once_under_instance_and_reused(tmp_path):
    first = load_config(str(tmp_path), {})
    path = tmp_path / "dev-audit-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = first["HUB_AUDIT_KEY_RING"]
    assert len(ring) == 1
    assert len(next(iter(ring.values())).private) == 32
    assert load_config(str(tmp_path), {})["HUB_AUDIT_KEY_RING"] == ring
    assert load_config(str(tmp_path / "other"), {})["HUB_AUDIT_KEY_RING"] != ring


def test_an_older_development_instance_gets_its_audit_key_added(tmp_path):
    # Its dev-secrets.json predates the audit key: its secrets stay, a key is added beside.
    load_config(str(tmp_path), {})
    (tmp_path / "dev-audit-keys.json").unlink()
    before = json.loads((tmp_path / "dev-secrets.json").read_text())
    config = load_config(str(tmp_path), {})
    assert config["SECRET_KEY"] == before["HUB_SECRET_KEY"]
    assert (tmp_path / "dev-audit-keys.json").exists()
    assert config["HUB_AUDIT_KEY_RING"]


# --- the one settings table --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_ACCESS_TOKEN_SECONDS", "an hour"),  # a whole number
        ("HUB_WEBHOOKS_PER_ORGANIZATION", "0"),  # a whole number, out of range
        ("HUB_WEBHOOK_RETRY_WINDOW", "soon"),  # a duration
        ("HUB_OUTBOX_SWEEP_AFTER", "-1"),  # a duration, negative
        ("HUB_WEBHOOK_TIMEOUT", "5"),  # a list of durations
        ("HUB_SCHEDULE_INTERVALS", "outbox-sweep=fast"),
        ("HUB_BASE_URL", "hub.example.org"),  # a URL
        ("HUB_REDIS_URL", "http://127.0.0.1:6379/0"),
        ("HUB_SMTP_URL", "mail.example.id:25"),
        ("HUB_DATABASE_URL", "not a url"),
        ("HUB_EMBEDDED_WORKER", "sometimes"),  # a flag
        ("HUB_RATE_LIMITS_ENABLED", "maybe"),
        ("HUB_WEBHOOK_ALLOW_LOOPBACK", "2"),
        ("HUB_ENV", "staging"),  # a choice
        ("HUB_TIMEZONE", "Asia/Nowhere"),
        ("HUB_RATE_LIMITS_LISTS", "lots"),
    ],
)
def test_a_bad_value_of_each_kind_stops_the_start_naming_the_variable(tmp_path, name, value):
    from referral_hub import create_app

    with pytest.raises(ConfigError, match=name) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "HUB_ENV": "test", name: value})
    assert str(raised.value).startswith(name)


#: What each setting is when unset (development mode, no environment): changing a default
#: is a decision for the README and the operators, not a side effect.
DEFAULTS = {
    "HUB_ENV": "development",
    "HUB_REDIS_URL": None,
    "HUB_BASE_URL": "http://127.0.0.1:5000",
    "HUB_SMTP_URL": None,
    "HUB_WEBHOOK_ALLOW_LOOPBACK": False,
    "HUB_PARTNERS_FILE": None,
    "HUB_ACCESS_TOKEN_SECONDS": 3600,
    "HUB_CLIENT_RETENTION_YEARS": 5,
    "HUB_JSON_BODY_LIMIT": 1024 * 1024,
    "HUB_RATE_LIMITS_ENABLED": True,
    "HUB_RATE_LIMITS_TOKEN": "30/minute",
    "HUB_RATE_LIMITS_TOKEN_IP": "120/minute",
    "HUB_RATE_LIMITS_LOGIN": "10/minute;50/hour",
    "HUB_RATE_LIMITS_LOGIN_IP": "60/minute",
    "HUB_RATE_LIMITS_LISTS": "300/minute",
    "HUB_TIMEZONE": "Asia/Makassar",
    "HUB_SESSION_IDLE_MINUTES": 480,
    "HUB_DOCUMENT_MAX_BYTES": 20 * 1024 * 1024,
    "HUB_EMBEDDED_WORKER": True,
    "HUB_WEBHOOK_TIMEOUT": (5.0, 10.0),
    "HUB_WEBHOOK_RETRY_SCHEDULE": (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 36000),
    "HUB_WEBHOOK_RETRY_WINDOW": 86400,
    "HUB_WEBHOOK_LEASE_MARGIN": 30,
    "HUB_WEBHOOKS_PER_ORGANIZATION": 20,
    "HUB_OUTBOX_SWEEP_AFTER": 30,
    "HUB_SCHEDULE_INTERVALS": None,
    "HUB_MAIL_FROM": "noreply@localhost",
}
#: Settings without a fixed default: generated (development keys) or under instance/.
GENERATED = {"HUB_DATABASE_URL", "HUB_SECRET_KEY", "HUB_DATA_KEYS", "HUB_AUDIT_SIGNING_KEYS"}


def test_the_defaults_are_unchanged(tmp_path):
    from referral_hub.config import SETTINGS

    assert {s.name for s in SETTINGS} == set(DEFAULTS) | GENERATED
    config = load_config(str(tmp_path), {})
    assert {name: config.get(name) for name in DEFAULTS} == DEFAULTS
    under_test = load_config(str(tmp_path), {"HUB_ENV": "test"})
    assert under_test["HUB_RATE_LIMITS_ENABLED"] is False
    assert under_test["HUB_EMBEDDED_WORKER"] is False
    named = load_config(str(tmp_path), {"HUB_BASE_URL": "https://hub.example.org/"})
    assert named["HUB_BASE_URL"] == "https://hub.example.org"
    assert named["HUB_MAIL_FROM"] == "noreply@hub.example.org"


def test_the_readme_lists_every_setting_as_the_table_says():
    from pathlib import Path

    from referral_hub.config import settings_markdown

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings_markdown() in readme, "regenerate README's table: make settings-table"


def test_the_code_reads_no_setting_the_table_lacks():
    import re
    from pathlib import Path

    from referral_hub.config import SETTING

    package = Path(__file__).resolve().parents[2] / "referral_hub"
    read = set()
    for path in package.rglob("*.py"):
        source = path.read_text()
        read |= set(re.findall(r"config(?:\.get\(|\[)\"(HUB_[A-Z_]+)\"", source))
        read |= set(re.findall(r"setting\([^,]+, \"(HUB_[A-Z_]+)\"\)", source))
    # The key rings are the parsed HUB_DATA_KEYS and HUB_AUDIT_SIGNING_KEYS.
    assert read - set(SETTING) == {"HUB_DATA_KEY_RING", "HUB_AUDIT_KEY_RING"}
