"""Where webhooks may point: https URLs on public addresses only (SSRF guard).

A partner's URL could name the hub's own network (loopback, private ranges, the cloud
metadata address on link-local, ...). The URL is checked when the subscription is made and
again at every attempt, against what the name resolves to then: a name that resolved to a
public address yesterday may resolve to 127.0.0.1 today (DNS rebinding), so the attempt
connects to the very address that was checked. HUB_WEBHOOK_ALLOW_LOOPBACK=1 (development
and tests) allows plain http and any address.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeWebhookURL(ValueError):
    """The URL may not receive webhooks; the message says why, for the caller."""


def check_url(url: str, *, allow_loopback: bool) -> SplitResult:
    """Check the form of a webhook URL (scheme, host, no credentials); return its parts."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookURL(f"must be a URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeWebhookURL(f"is not a valid URL ({error})") from None
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeWebhookURL("must use https")
    if not parts.hostname:
        raise UnsafeWebhookURL("must name a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookURL("must not carry credentials; authenticate with the signature")
    if parts.fragment:
        raise UnsafeWebhookURL("must not have a fragment")
    if port == 0:
        raise UnsafeWebhookURL("must not use port 0")
    return parts


def is_public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (and any IPv4 address embedded in it)."""
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour]
        if ip.teredo:
            embedded.extend(ip.teredo)
        return all(inner is None or is_public_address(inner) for inner in embedded)
    return True


def _not_allowed(parts: SplitResult) -> UnsafeWebhookURL:
    """The one refusal of a host: it names neither what the name resolves to, nor whether
    it resolves at all. Either answer would let anyone who may register a webhook map the
    hub's own network (which internal names exist, and their addresses)."""
    return UnsafeWebhookURL(
        f"host '{parts.hostname}' is not allowed: webhooks go only to hosts that resolve "
        "to public addresses"
    )


def resolve_checked(parts: SplitResult, *, allow_loopback: bool) -> list[str]:
    """Resolve the URL's host; every address must be public (unless loopback is allowed)."""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _not_allowed(parts) from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise _not_allowed(parts)
    if not allow_loopback and not all(
        is_public_address(ipaddress.ip_address(address)) for address in addresses
    ):
        # Loopback, private, link-local, multicast and reserved ranges are refused.
        raise _not_allowed(parts)
    return addresses


def checked_target(url: str, *, allow_loopback: bool) -> tuple[SplitResult, list[str]]:
    """Check a URL and resolve it: its parts and the addresses it may be reached at."""
    parts = check_url(url, allow_loopback=allow_loopback)
    return parts, resolve_checked(parts, allow_loopback=allow_loopback)
