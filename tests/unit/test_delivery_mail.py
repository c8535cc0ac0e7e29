"""The mailer's contract, met by the SMTP mailer (against a real SMTP server on loopback)
and by the in-memory double."""

from __future__ import annotations

import email
import email.policy

import pytest

from referral_hub.delivery.mail import (
    MailError,
    MailMessage,
    MemoryMailer,
    SMTPMailer,
    parse_smtp_url,
)
from tests.delivery_support import free_port

SENDER = "noreply@hub.example.id"


class SMTPServer:
    """aiosmtpd on a loopback port, keeping every message it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                server.messages.append(
                    email.message_from_bytes(envelope.content, policy=email.policy.default)
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class SMTPCase:
    def __init__(self):
        self.server = SMTPServer().__enter__()
        self.mailer = SMTPMailer(f"smtp://127.0.0.1:{self.server.port}", SENDER, timeout=5)

    def inbox(self):
        return self.server.messages

    def make_unreachable(self):
        self.mailer = SMTPMailer(f"smtp://127.0.0.1:{free_port()}", SENDER, timeout=2)

    def close(self):
        self.server.__exit__()


class MemoryCase:
    def __init__(self):
        self.mailer = MemoryMailer(sender=SENDER)

    def inbox(self):
        return [
            email.message_from_bytes(bytes(m), policy=email.policy.default)
            for m in self.mailer.outbox
        ]

    def make_unreachable(self):
        self.mailer.unreachable = True

    def close(self):
        pass


@pytest.fixture(params=[SMTPCase, MemoryCase], ids=["smtp", "double"])
def case(request):
    made = request.param()
    yield made
    made.close()


MESSAGE = MailMessage(
    to="pekerja.sosial@balikpapan.go.id",
    subject="[Rujukan RUJ-2026-000123] Rujukan baru untuk UPTD PPA Balikpapan",
    body="Nomor rujukan : RUJ-2026-000123\nStatus        : diajukan — menunggu tanggapan\n",
)


def test_a_message_arrives_whole(case):
    case.mailer.send(MESSAGE)
    (received,) = case.inbox()
    assert received["To"] == MESSAGE.to
    assert received["From"] == f"Hub Rujukan PPA <{SENDER}>"  # the portal's name
    assert received["Subject"] == MESSAGE.subject
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"]
    assert received["Date"]
    # UTF-8 (the dash) survives; SMTP carries CRLF line ends.
    assert received.get_content().replace("\r\n", "\n") == MESSAGE.body


@pytest.mark.parametrize(
    "bad",
    [
        MailMessage(to="a@b.id\nBcc: x@y.id", subject="s", body="b"),
        MailMessage(to="a@b.id", subject="s\r\nBcc: x@y.id", body="b"),
        MailMessage(to="not-an-address", subject="s", body="b"),
    ],
)
def test_header_injection_and_bad_addresses_are_refused_before_sending(case, bad):
    with pytest.raises(ValueError, match=r"line break|not an e-mail address"):
        case.mailer.send(bad)
    assert case.inbox() == []


def test_an_unreachable_server_raises_mail_error(case):
    case.make_unreachable()
    with pytest.raises(MailError):
        case.mailer.send(MESSAGE)


def test_the_smtp_envelope_names_the_sender_and_the_one_recipient():
    with SMTPServer() as server:
        SMTPMailer(f"smtp://127.0.0.1:{server.port}", SENDER).send(MESSAGE)
        assert server.envelopes == [(SENDER, [MESSAGE.to])]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, "plain", None, None)),
        ("smtp://mail.example.id", ("mail.example.id", 25, "plain", None, None)),
        (
            "smtp://u:p%40ss@mail.example.id:587?starttls=1",
            ("mail.example.id", 587, "starttls", "u", "p@ss"),
        ),
        ("smtp+starttls://u:p@mail.example.id", ("mail.example.id", 587, "starttls", "u", "p")),
        ("smtps://u:p@mail.example.id", ("mail.example.id", 465, "tls", "u", "p")),
    ],
)
def test_smtp_urls(url, expected):
    conf = parse_smtp_url(url)
    assert (conf.host, conf.port, conf.security, conf.username, conf.password) == expected


@pytest.mark.parametrize("url", ["http://mail.example.id", "smtp://", "mail.example.id"])
def test_bad_smtp_urls_are_refused(url):
    with pytest.raises(ValueError, match="HUB_SMTP_URL"):
        parse_smtp_url(url)
