"""Real things the delivery tests run against: an HTTP receiver, redis-server, rq workers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    predicate: Callable[[], Any],
    timeout: float,
    interval: float = 0.05,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll until `predicate()` is truthy; return its value or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            raise AssertionError(f"condition not met within {timeout}s{detail}")
        time.sleep(interval)


class Receiver:
    """A webhook receiver on loopback that records every request.

    `respond(request_number, body, headers)` returns the status to answer (default 204);
    it may block (a slow or hung partner server).
    """

    def __init__(self, respond: Callable[[int, bytes, dict[str, str]], int] | None = None):
        self.respond = respond or (lambda n, body, headers: 204)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    number = len(receiver.requests) + 1
                    receiver.requests.append(
                        {
                            "at": time.time(),
                            "path": self.path,
                            "headers": headers,
                            "body": body,
                            "number": number,
                        }
                    )
                status = receiver.respond(number, body, headers)
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # bursts of parallel deliveries must not be refused

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests]


def redis_db_url(url: str, db: int) -> str:
    """The same Redis server, another database number."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


class RedisServer:
    """A private redis-server on a free loopback port, which a test may stop and restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [
                binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        from redis import Redis

        client = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        wait_for(lambda: _pings(client), timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


class WorkerProcess:
    """`flask --app wsgi hub worker` in a process of its own, with the test's settings."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        flask = str(Path(sys.executable).with_name("flask"))
        self._log = open(self.log_path, "ab")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [flask, "--app", "wsgi", "hub", "worker"],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def descendants(self) -> list[int]:
        """The worker's child processes (work horse, scheduler), grandchildren included."""
        found: list[int] = []
        todo = [self.process.pid] if self.process else []
        while todo:
            pid = todo.pop()
            try:
                tasks = Path(f"/proc/{pid}/task").iterdir()
                children = []
                for task in tasks:
                    text = (task / "children").read_text().split()
                    children.extend(int(c) for c in text)
            except OSError:
                continue
            found.extend(children)
            todo.extend(children)
        return found

    def kill_hard(self) -> None:
        """SIGKILL the worker and every process it started, as a machine crash would."""
        if self.process is None:
            return
        for pid in [self.process.pid, *self.descendants()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> None:
        """Stop the worker: SIGTERM (rq's warm shutdown), then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        children = self.descendants()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill_hard()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def worker_env(app_config: dict[str, Any], redis_url: str, **extra: str) -> dict[str, str]:
    """The environment a worker process needs to share the test's database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "test",
            "HUB_DATABASE_URL": app_config["HUB_DATABASE_URL"],
            "HUB_REDIS_URL": redis_url,
            "HUB_DATA_KEYS": app_config["HUB_DATA_KEYS"],
            "HUB_AUDIT_SIGNING_KEYS": app_config["HUB_AUDIT_SIGNING_KEYS"],
            "HUB_SECRET_KEY": app_config["HUB_SECRET_KEY"],
            "HUB_BASE_URL": app_config["HUB_BASE_URL"],
            "HUB_INSTANCE_PATH": app_config["INSTANCE_PATH"],
            "HUB_WEBHOOK_ALLOW_LOOPBACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env
