"""Settings from HUB_* environment variables, validated when the app starts."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import secrets
import tempfile
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENVIRONMENTS = ("development", "test", "production")

#: Every HUB_* name the hub reads, with its meaning (also printed by `flask hub config`).
SETTINGS = {
    "HUB_ENV": "development (default), test or production",
    "HUB_DATABASE_URL": "SQLAlchemy URL; default SQLite under instance/",
    "HUB_REDIS_URL": "Redis for rq jobs; unset: jobs run in-process",
    "HUB_SECRET_KEY": "session and CSRF signing key",
    "HUB_DATA_KEYS": "encryption key ring: 'kid:base64key,kid2:base64key', first is current",
    "HUB_AUDIT_SIGNING_KEYS": "Ed25519 keys signing audit checkpoints: 'kid:base64key,...', "
    "first signs; 'kid:public:base64key' keeps a retired key's public half published",
    "HUB_BASE_URL": "public base URL, also the OAuth issuer",
    "HUB_SMTP_URL": "smtp://user:pass@host:port for notifications",
    "HUB_WEBHOOK_ALLOW_LOOPBACK": (
        "1 lets webhooks target loopback/private addresses (dev, tests; refused in production)"
    ),
    "HUB_PARTNERS_FILE": "partners.yaml to check at start and load by default",
    "HUB_ACCESS_TOKEN_SECONDS": "access token lifetime, at most 3600",
    "HUB_TIMEZONE": "time zone the portal shows times in (default Asia/Makassar, WITA)",
    "HUB_SESSION_IDLE_MINUTES": "portal sign-in ends after this long without a request (480)",
    "HUB_DOCUMENT_MAX_BYTES": "largest agreement document upload (default 20 MiB, at most 100 MiB)",
    "HUB_RATE_LIMITS_ENABLED": "1/0: rate limits on (default) or off (off under HUB_ENV=test)",
    "HUB_RATE_LIMITS_TOKEN": "POST /oauth/token per client_id (default 30/minute)",
    "HUB_RATE_LIMITS_TOKEN_IP": "POST /oauth/token per client address (default 120/minute)",
    "HUB_RATE_LIMITS_LOGIN": (
        "POST /login per e-mail and client address (default 10/minute;50/hour)"
    ),
    "HUB_RATE_LIMITS_LOGIN_IP": "POST /login per client address (default 60/minute)",
    "HUB_RATE_LIMITS_LISTS": "API lists, audit, events, coverage per organisation (300/minute)",
}

#: Default limit of an agreement document; the whole request may carry a little more (the
#: multipart envelope), and JSON bodies get the much smaller HUB_JSON_BODY_LIMIT.
_DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
_MULTIPART_OVERHEAD = 64 * 1024
_MAX_CONTENT_LENGTH = _DOCUMENT_MAX_BYTES + _MULTIPART_OVERHEAD
PRODUCTION_REQUIRED = (
    "HUB_SECRET_KEY",
    "HUB_DATA_KEYS",
    "HUB_DATABASE_URL",
    "HUB_BASE_URL",
    "HUB_AUDIT_SIGNING_KEYS",
)


class ConfigError(RuntimeError):
    """The configuration cannot run the hub; the message says what to set."""


def parse_key_ring(value: str) -> dict[str, bytes]:
    """Parse 'kid:base64key,...' into an ordered {kid: 32-byte key} ring."""
    ring: dict[str, bytes] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid or not kid.isalnum():
            raise ConfigError("HUB_DATA_KEYS: each key is 'kid:base64key' with an alphanumeric kid")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise ConfigError(f"HUB_DATA_KEYS: key '{kid}' is not valid base64") from exc
        if len(key) != 32:
            raise ConfigError(f"HUB_DATA_KEYS: key '{kid}' must be 32 bytes (AES-256)")
        if kid in ring:
            raise ConfigError(f"HUB_DATA_KEYS: key id '{kid}' appears twice")
        ring[kid] = key
    if not ring:
        raise ConfigError("HUB_DATA_KEYS holds no key")
    return ring


@dataclass(frozen=True)
class AuditKey:
    """An Ed25519 key of the audit checkpoints: raw 32-byte halves, `private` None when retired."""

    private: bytes | None
    public: bytes


def parse_audit_key_ring(value: str) -> dict[str, AuditKey]:
    """Parse 'kid:base64key,kid:public:base64key,...' into {kid: AuditKey}; the first signs.

    A private key is the 32-byte Ed25519 seed (any 32 random bytes), base64; a retired key
    may be given by its public half only, so that the checkpoints it signed still verify.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    name = "HUB_AUDIT_SIGNING_KEYS"
    ring: dict[str, AuditKey] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, rest = part.partition(":")
        if not sep or not kid or not kid.isalnum():
            raise ConfigError(f"{name}: each key is 'kid:base64key' with an alphanumeric kid")
        public_only = rest.startswith("public:")
        try:
            raw = base64.b64decode(rest.removeprefix("public:"), validate=True)
        except ValueError:
            raise ConfigError(f"{name}: key '{kid}' is not valid base64") from None
        if len(raw) != 32:
            raise ConfigError(f"{name}: key '{kid}' must be 32 bytes (an Ed25519 key)")
        if kid in ring:
            raise ConfigError(f"{name}: key id '{kid}' appears twice")
        try:
            if public_only:
                Ed25519PublicKey.from_public_bytes(raw)
                ring[kid] = AuditKey(private=None, public=raw)
            else:
                public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
                ring[kid] = AuditKey(raw, public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        except ValueError:
            raise ConfigError(f"{name}: key '{kid}' is not an Ed25519 key") from None
    if not ring:
        raise ConfigError(f"{name} holds no key")
    if next(iter(ring.values())).private is None:
        raise ConfigError(f"{name}: the first key signs, so it must be a private key")
    return ring


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _int_setting(raw: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """A whole-number setting within [low, high]; unset or empty means the default."""
    value = raw.get(name)
    if value is None or str(value).strip() == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not '{value}'") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return number


def _kept_once(
    path: Path, make: Callable[[], dict[str, str]], names: tuple[str, ...], loss: str
) -> dict:
    """The values in `path`, made and written by whichever process gets there first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        values = make()
        # Written whole to a private temporary file, then linked into place only if no
        # other process (a server and a worker starting together) got there first:
        # everyone then reads the same secrets, never half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(values, fh)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    try:
        values = json.loads(path.read_text())
        if not all(isinstance(values.get(k), str) for k in names):
            raise ValueError(" or ".join(names) + " is missing")
    except (OSError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{path} cannot be used ({exc}); restore it, or remove it to generate new "
            f"development secrets ({loss})"
        ) from None
    return values


def _development_secrets(instance_path: Path) -> dict[str, str]:
    """Generate once, then reuse, the development secrets kept under instance/."""
    values = _kept_once(
        instance_path / "dev-secrets.json",
        lambda: {
            "HUB_SECRET_KEY": secrets.token_urlsafe(48),
            "HUB_DATA_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        },
        ("HUB_SECRET_KEY", "HUB_DATA_KEYS"),
        "data encrypted with the old keys is then unreadable",
    )
    # A file of its own, so that an instance made before checkpoints were signed keeps its
    # secrets and gets a signing key beside them.
    audit = _kept_once(
        instance_path / "dev-audit-keys.json",
        lambda: {
            "HUB_AUDIT_SIGNING_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        },
        ("HUB_AUDIT_SIGNING_KEYS",),
        "checkpoints signed with the old key then fail verification",
    )
    return {
        "HUB_SECRET_KEY": values["HUB_SECRET_KEY"],
        "HUB_DATA_KEYS": values["HUB_DATA_KEYS"],
        "HUB_AUDIT_SIGNING_KEYS": audit["HUB_AUDIT_SIGNING_KEYS"],
    }


def load_config(instance_path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment and overrides; raise ConfigError if unusable."""
    raw: dict[str, Any] = {k: v for k, v in os.environ.items() if k.startswith("HUB_")}
    raw.update(overrides or {})
    env = raw.get("HUB_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"HUB_ENV must be one of {', '.join(ENVIRONMENTS)}, not '{env}'")
    if env == "production":
        missing = [name for name in PRODUCTION_REQUIRED if not raw.get(name)]
        if missing:
            raise ConfigError(
                "production mode needs " + ", ".join(missing) + " to be set "
                "(see README, 'Configuration')"
            )
    else:
        for name, value in _development_secrets(Path(instance_path)).items():
            raw.setdefault(name, value)

    database_url = raw.get("HUB_DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "referral_hub.sqlite3")
    )
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if env == "production" and len(str(raw["HUB_SECRET_KEY"])) < 32:
        raise ConfigError("HUB_SECRET_KEY must be at least 32 characters in production")
    token_seconds = _int_setting(raw, "HUB_ACCESS_TOKEN_SECONDS", 3600, 60, 3600)
    base_url = str(raw.get("HUB_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    if env == "production" and not base_url.startswith("https://"):
        raise ConfigError("HUB_BASE_URL must be https in production")

    allow_loopback = _truthy(raw.get("HUB_WEBHOOK_ALLOW_LOOPBACK", "0"))
    if env == "production" and allow_loopback:
        raise ConfigError(
            "HUB_WEBHOOK_ALLOW_LOOPBACK=1 is for development and tests only: it lets a "
            "webhook reach the hub's own network (loopback, private ranges, cloud metadata). "
            "Unset it (or set 0) in production"
        )

    idle_minutes = _int_setting(raw, "HUB_SESSION_IDLE_MINUTES", 480, 5, 24 * 60)
    timezone = str(raw.get("HUB_TIMEZONE") or "Asia/Makassar")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"HUB_TIMEZONE: unknown time zone '{timezone}'") from None
    https = base_url.startswith("https://")

    document_max = _int_setting(
        raw, "HUB_DOCUMENT_MAX_BYTES", _DOCUMENT_MAX_BYTES, 1024, 100 * 1024 * 1024
    )
    config: dict[str, Any] = {
        **raw,
        "HUB_ENV": env,
        "HUB_DATABASE_URL": database_url,
        "HUB_BASE_URL": base_url,
        "HUB_DATA_KEY_RING": parse_key_ring(str(raw["HUB_DATA_KEYS"])),
        "HUB_AUDIT_KEY_RING": parse_audit_key_ring(str(raw["HUB_AUDIT_SIGNING_KEYS"])),
        "HUB_WEBHOOK_ALLOW_LOOPBACK": allow_loopback,
        "HUB_ACCESS_TOKEN_SECONDS": token_seconds,
        "SECRET_KEY": raw["HUB_SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "TESTING": env == "test" or bool(raw.get("TESTING")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        # __Host- cookies are refused by browsers unless Secure, host-only and Path=/.
        "SESSION_COOKIE_NAME": "__Host-hub_session" if https else "hub_session",
        # Idle expiry: a permanent session's cookie is re-signed on every request.
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(minutes=idle_minutes),
        # A form token lives as long as the session: a caseworker may take an hour
        # over a referral, and the session's own expiry bounds the token.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_TIMEZONE": timezone,
        # Upload limit for documents; JSON bodies get a smaller limit per request.
        "HUB_DOCUMENT_MAX_BYTES": document_max,
        "MAX_CONTENT_LENGTH": document_max + _MULTIPART_OVERHEAD,
        "HUB_JSON_BODY_LIMIT": _int_setting(
            raw, "HUB_JSON_BODY_LIMIT", 1024 * 1024, 1, _MAX_CONTENT_LENGTH
        ),
        "JSON_SORT_KEYS": False,
        # flask-smorest
        "API_TITLE": "Referral hub",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_REDOC_PATH": None,
        "OPENAPI_SWAGGER_UI_PATH": None,
    }
    for key in ("TESTING",):
        if key in (overrides or {}):
            config[key] = overrides[key]
    return config


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
