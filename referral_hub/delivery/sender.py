"""Sending one webhook request: the boundary to partners' servers.

`WebhookSender` is the interface; `HttpSender` is the real one (requests, with timeouts, no
redirects, connected to the address the URL guard checked) and `ScriptedSender` the test
double. Both pass the same contract tests (tests/unit/test_delivery_sender.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from referral_hub.delivery.urlguard import UnsafeWebhookURL, checked_target

MAX_ERROR = 480


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to: 2xx is delivered; anything else failed, with a reason."""

    delivered: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookSender(Protocol):
    """Sends one signed webhook request and says how it went; never raises for the network."""

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult: ...


def _outcome(status: int | None, error: str | None, started: float) -> AttemptResult:
    duration = int((time.monotonic() - started) * 1000)
    if error is None and status is not None and 200 <= status < 300:
        return AttemptResult(True, status, None, duration)
    if error is None and status is not None:
        error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return AttemptResult(False, status, (error or "failed")[:MAX_ERROR], duration)


class _PinnedAdapter(HTTPAdapter):
    """Connects to one checked address while TLS still verifies the URL's host name."""

    def __init__(self, address: str, hostname: str) -> None:
        self._address = address
        self._hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self._address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self._hostname
            pool_kwargs["assert_hostname"] = self._hostname
        return host_params, pool_kwargs


class HttpSender:
    """The real sender: https (or loopback http when allowed), checked address, timeouts."""

    def __init__(
        self, *, connect_timeout: float, read_timeout: float, allow_loopback: bool
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.allow_loopback = allow_loopback

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started = time.monotonic()
        try:
            parts, addresses = checked_target(url, allow_loopback=self.allow_loopback)
        except UnsafeWebhookURL as error:
            return _outcome(None, f"refused: URL {error}", started)
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: it would bypass the check
        adapter = _PinnedAdapter(addresses[0], parts.hostname or "")
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        request_headers = {
            **headers,
            "Host": parts.netloc,
            "Content-Type": "application/json",
            "User-Agent": "referral-hub-webhooks/1",
        }
        try:
            # stream=True: the status line is all the hub needs; the body is never read, so a
            # receiver that trickles one cannot hold the worker.
            response = session.post(
                url,
                data=body,
                headers=request_headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            status = response.status_code
            response.close()
            return _outcome(status, None, started)
        except requests.Timeout as error:
            return _outcome(None, f"timeout: {type(error).__name__}", started)
        except requests.RequestException as error:
            # The library names the address it connected to; the subscriber reads this
            # error and learns only the host name it gave.
            reason = _short(error).replace(addresses[0], parts.hostname or "host")
            return _outcome(None, f"{type(error).__name__}: {reason}", started)
        finally:
            session.close()


def _short(error: Exception) -> str:
    return str(error).replace("\n", " ")[:300]


@dataclass
class ScriptedSender:
    """Test double: `receiver(url, body, headers)` returns a status code or raises TimeoutError.

    It applies the same URL guard as the real sender, so the same contract holds for both.
    """

    receiver: Callable[[str, bytes, dict[str, str]], int]
    allow_loopback: bool = True
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started = time.monotonic()
        try:
            checked_target(url, allow_loopback=self.allow_loopback)
        except UnsafeWebhookURL as error:
            return _outcome(None, f"refused: URL {error}", started)
        self.sent.append({"url": url, "body": body, "headers": dict(headers)})
        try:
            status = self.receiver(url, body, headers)
        except TimeoutError:
            return _outcome(None, "timeout: ReadTimeout", started)
        except ConnectionError as error:
            return _outcome(None, f"ConnectionError: {error}", started)
        return _outcome(status, None, started)
