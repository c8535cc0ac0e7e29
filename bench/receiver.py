"""A partner's webhook endpoint on loopback that notes when each delivery arrives.

    python bench/receiver.py PORT OUTFILE

Every POST is answered 204 at once; one line per delivery is appended to OUTFILE:
`<arrival unix time> <webhook-id> <event type> <referral id>`. The arrival time is taken
when the request line and headers have been read, before the body, so that it measures
the hub's delivery and not this receiver. It runs in its own process so that the load
driver's threads cannot delay it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    out = None
    lock = threading.Lock()

    def do_POST(self) -> None:
        arrived = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()
        try:
            payload = json.loads(body)
            event_type = payload.get("type", "?")
            referral_id = (payload.get("data") or {}).get("referral_id") or "-"
        except ValueError:
            event_type, referral_id = "unparsable", "-"
        line = f"{arrived:.6f} {self.headers.get('webhook-id', '-')} {event_type} {referral_id}\n"
        with self.lock:
            self.out.write(line)
            self.out.flush()

    def do_GET(self) -> None:  # readiness probe
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    with open(path, "a", encoding="utf-8") as out:
        Receiver.out = out
        server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
        server.daemon_threads = True
        server.serve_forever()


if __name__ == "__main__":
    main()
