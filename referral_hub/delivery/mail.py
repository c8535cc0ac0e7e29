"""Sending e-mail: the boundary to the mail server.

`Mailer` is the interface; `SMTPMailer` the real one (HUB_SMTP_URL), `MemoryMailer` the test
double and `FileMailer` what development uses without a mail server (it writes .eml files
under instance/mail/). The SMTP mailer and the double pass the same contract tests
(tests/unit/test_delivery_mail.py).

HUB_SMTP_URL forms: ``smtp://user:pass@host:587?starttls=1`` (or ``smtp+starttls://``) for
STARTTLS, ``smtps://user:pass@host:465`` for TLS from the start, ``smtp://host:25`` plain
(only sensible on loopback or a trusted relay).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailMessage:
    """One plain-text e-mail to one recipient."""

    to: str
    subject: str
    body: str


class MailError(RuntimeError):
    """The message could not be handed to the mail server; it may be tried again."""


class Mailer(Protocol):
    """Sends one message or raises MailError (ValueError for a message that can never go)."""

    def send(self, message: MailMessage) -> None: ...


#: How the hub signs its e-mails: the portal's own name.
PORTAL_NAME = "Hub Rujukan PPA"


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    """The MIME message; refuses header injection and addresses that cannot be right."""
    for name, value in (("to", message.to), ("subject", message.subject), ("from", sender)):
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in the '{name}' header")
    if message.to.count("@") != 1 or " " in message.to.strip():
        raise ValueError(f"not an e-mail address: {message.to!r}")
    email = EmailMessage()
    # The portal's name beside a bare address, as the signature says it.
    email["From"] = sender if "<" in sender else formataddr((PORTAL_NAME, sender))
    email["To"] = message.to.strip()
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # Vacation responders and the like must not answer machine mail.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8")
    return email


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    security: str  # "plain" | "starttls" | "tls"
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SMTPSettings:
    """Read HUB_SMTP_URL; ValueError says what is wrong with it."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    starttls_flag = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes", "on")
    if parts.scheme == "smtps":
        security, default_port = "tls", 465
    elif parts.scheme == "smtp+starttls" or (parts.scheme == "smtp" and starttls_flag):
        security, default_port = "starttls", 587
    elif parts.scheme == "smtp":
        security, default_port = "plain", 25
    else:
        raise ValueError("HUB_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise ValueError("HUB_SMTP_URL names no host")
    return SMTPSettings(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SMTPMailer:
    """The real mailer: one SMTP session per message, TLS as the URL says, with a timeout."""

    def __init__(self, url: str, sender: str, timeout: float = 20) -> None:
        self.settings = parse_smtp_url(url)
        self.sender = sender
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        conf = self.settings
        if conf.security == "tls":
            return smtplib.SMTP_SSL(
                conf.host, conf.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(conf.host, conf.port, timeout=self.timeout)
        if conf.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, message: MailMessage) -> None:
        email = build_email(message, self.sender)
        try:
            with self._connect() as client:
                if self.settings.username:
                    client.login(self.settings.username, self.settings.password or "")
                client.send_message(email)
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(f"{type(error).__name__}: {error}"[:400]) from error


@dataclass
class MemoryMailer:
    """Test double: keeps what it sends; `unreachable=True` makes it fail like a down server."""

    sender: str = "noreply@localhost"
    unreachable: bool = False
    outbox: list[EmailMessage] = field(default_factory=list)

    def send(self, message: MailMessage) -> None:
        email = build_email(message, self.sender)
        if self.unreachable:
            raise MailError("ConnectionRefusedError: [Errno 111] Connection refused")
        self.outbox.append(email)


@dataclass
class FileMailer:
    """Development without a mail server: every message becomes an .eml file to read."""

    directory: Path
    sender: str = "noreply@localhost"

    def send(self, message: MailMessage) -> None:
        email = build_email(message, self.sender)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = email["Message-ID"].strip("<>").replace("@", "_").replace("/", "_")
        (self.directory / f"{name}.eml").write_bytes(bytes(email))


def mailer_for(app: Flask, sender: str) -> Mailer:
    """The app's mailer: an installed test double, SMTP when configured, else .eml files."""
    override = app.extensions.get("hub_delivery", {}).get("mailer")
    if override is not None:
        return override
    url = app.config.get("HUB_SMTP_URL")
    if url:
        return SMTPMailer(url, sender)
    return FileMailer(Path(app.instance_path) / "mail", sender)
