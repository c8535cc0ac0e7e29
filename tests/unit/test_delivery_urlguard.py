"""Webhooks may only point at https URLs on public addresses (unless loopback is allowed)."""

from __future__ import annotations

import ipaddress
import re
import socket

import pytest

from referral_hub.delivery.urlguard import (
    UnsafeWebhookURL,
    check_url,
    checked_target,
    is_public_address,
)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104  (an address under test, nothing binds it)
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("2002:a00:1::", False),  # 6to4 around 10.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 around 10.0.0.1
        ("ff02::1", False),
    ],
)
def test_only_public_unicast_addresses_are_allowed(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://8.8.8.8/hook", "https"),
        ("ftp://8.8.8.8/hook", "https"),
        ("https:///hook", "host"),
        ("https://user:pw@8.8.8.8/hook", "credentials"),
        ("https://8.8.8.8/hook#x", "fragment"),
        ("https://8.8.8.8:99999/hook", "valid"),
        ("https://" + "a" * 2000 + ".example/", "2000"),
    ],
)
def test_malformed_urls_are_refused(url, reason):
    with pytest.raises(UnsafeWebhookURL, match=reason):
        check_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]:8443/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
    ],
)
def test_urls_resolving_inside_are_refused(url):
    with pytest.raises(UnsafeWebhookURL, match="not allowed"):
        checked_target(url, allow_loopback=False)


def test_a_public_address_passes_and_loopback_passes_when_allowed():
    _, addresses = checked_target("https://8.8.8.8/hook", allow_loopback=False)
    assert addresses == ["8.8.8.8"]
    _, addresses = checked_target("http://127.0.0.1:9/hook", allow_loopback=True)
    assert addresses == ["127.0.0.1"]


def test_one_inside_address_among_several_is_enough_to_refuse(monkeypatch):
    """DNS may answer a public and a private address; the hub must not pick and hope."""

    def fake(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.0.10", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(UnsafeWebhookURL, match="not allowed"):
        checked_target("https://partner.example.id/hook", allow_loopback=False)


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(UnsafeWebhookURL, match="not allowed"):
        checked_target("https://nowhere.example.id/hook", allow_loopback=False)


IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,}", re.I)


def _refusal(monkeypatch, answer) -> str:
    """The refusal of one host name whose lookup gives `answer` (addresses, or an error)."""

    def lookup(host, port, *args, **kwargs):
        if isinstance(answer, Exception):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answer]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with pytest.raises(UnsafeWebhookURL) as refused:
        checked_target("https://hooks.partner.example.id/in", allow_loopback=False)
    return str(refused.value)


def test_a_refusal_never_tells_what_a_name_resolves_to(monkeypatch):
    # The answer would map the hub's own network for anyone who may register a webhook:
    # which internal names exist, and their addresses. A private address and a name that
    # does not resolve are refused in the same words, which name no address.
    private = _refusal(monkeypatch, ["10.0.0.5"])
    mixed = _refusal(monkeypatch, ["8.8.8.8", "192.168.0.10"])
    metadata = _refusal(monkeypatch, ["169.254.169.254"])
    missing = _refusal(monkeypatch, socket.gaierror(socket.EAI_NONAME, "Name not known"))
    empty = _refusal(monkeypatch, [])
    assert private == mixed == metadata == missing == empty
    assert "hooks.partner.example.id" in private
    assert not IP_ADDRESS.search(private), private
