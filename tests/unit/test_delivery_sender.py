"""The webhook sender's contract, met by the real HTTP sender and by the test double."""

from __future__ import annotations

import socket
import time

import pytest

from referral_hub.delivery.sender import HttpSender, ScriptedSender
from tests.delivery_support import Receiver

BODY = b'{"type":"referral.requested","timestamp":"2026-01-01T00:00:00Z","data":{}}'
HEADERS = {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,x"}


class HttpCase:
    """A real receiver on loopback, answering as told."""

    def __init__(self, behaviour, allow_loopback=True):
        def respond(number, body, headers):
            if behaviour == "slow":
                time.sleep(1.5)
                return 204
            return behaviour

        self.receiver = Receiver(respond).__enter__()
        self.sender = HttpSender(connect_timeout=1, read_timeout=0.5, allow_loopback=allow_loopback)
        self.url = self.receiver.url

    def received(self):
        return len(self.receiver.requests)

    def close(self):
        self.receiver.__exit__()


class ScriptedCase:
    """The double, with a scripted receiver."""

    def __init__(self, behaviour, allow_loopback=True):
        self.count = 0

        def receiver(url, body, headers):
            self.count += 1
            if behaviour == "slow":
                raise TimeoutError
            return behaviour

        self.sender = ScriptedSender(receiver, allow_loopback=allow_loopback)
        self.url = "http://127.0.0.1:9/hooks"

    def received(self):
        return self.count

    def close(self):
        pass


@pytest.fixture(params=[HttpCase, ScriptedCase], ids=["http", "double"])
def case(request):
    made = []

    def make(behaviour, allow_loopback=True):
        made.append(request.param(behaviour, allow_loopback))
        return made[-1]

    yield make
    for item in made:
        item.close()


@pytest.mark.parametrize("status", [200, 202, 204])
def test_2xx_is_delivered(case, status):
    c = case(status)
    result = c.sender.send(c.url, BODY, HEADERS)
    assert result.delivered
    assert result.status_code == status
    assert result.error is None
    assert result.duration_ms >= 0
    assert c.received() == 1


@pytest.mark.parametrize("status", [400, 410, 500, 503])
def test_other_statuses_fail_with_the_status(case, status):
    c = case(status)
    result = c.sender.send(c.url, BODY, HEADERS)
    assert not result.delivered
    assert result.status_code == status
    assert result.error == f"HTTP {status}"


def test_redirects_are_not_followed(case):
    c = case(302)
    result = c.sender.send(c.url, BODY, HEADERS)
    assert not result.delivered
    assert result.status_code == 302
    assert "redirects are not followed" in result.error
    assert c.received() == 1


def test_a_receiver_that_does_not_answer_in_time_fails_with_a_timeout(case):
    c = case("slow")
    result = c.sender.send(c.url, BODY, HEADERS)
    assert not result.delivered
    assert result.status_code is None
    assert result.error.startswith("timeout")


def test_loopback_targets_are_refused_unless_allowed(case):
    c = case(204, allow_loopback=False)
    result = c.sender.send(c.url, BODY, HEADERS)
    assert not result.delivered
    assert result.error.startswith("refused: URL")
    assert c.received() == 0


def test_http_sender_connects_to_the_checked_address_with_the_urls_host(monkeypatch):
    """The name is resolved once, checked, and that address is the one connected to."""
    real = socket.getaddrinfo
    resolved = []

    def fake(host, port, *args, **kwargs):
        resolved.append(host)
        if host == "partner.example.test":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        sender = HttpSender(connect_timeout=1, read_timeout=2, allow_loopback=True)
        result = sender.send(f"http://partner.example.test:{port}/hooks", BODY, HEADERS)
        assert result.delivered, result
        assert resolved.count("partner.example.test") == 1
        (request,) = receiver.requests
        assert request["headers"]["host"] == f"partner.example.test:{port}"
        assert request["headers"]["webhook-id"] == "msg_1"
        assert request["body"] == BODY


def test_a_name_rebound_to_loopback_is_refused_at_send_time(monkeypatch):
    """DNS rebinding: what was public at subscription time now points inside."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "partner.example.test":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    sender = HttpSender(connect_timeout=1, read_timeout=1, allow_loopback=False)
    result = sender.send("https://partner.example.test/hooks", BODY, HEADERS)
    assert not result.delivered
    # The delivery's error is shown to the subscriber: it names no address.
    assert "127.0.0.1" not in result.error
    assert "partner.example.test" in result.error
    assert "not allowed" in result.error


def test_a_connection_error_names_the_host_not_the_address_it_was_pinned_to(monkeypatch):
    # The sender connects to the checked address; the network library's message names the
    # address it connected to, which the subscriber reading the delivery must not learn.
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "partner.example.test":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: the connection is refused
    sender = HttpSender(connect_timeout=1, read_timeout=1, allow_loopback=True)
    result = sender.send(f"http://partner.example.test:{port}/hooks", BODY, HEADERS)
    assert not result.delivered
    assert result.error.startswith("ConnectionError"), result.error
    assert "127.0.0.1" not in result.error, result.error
