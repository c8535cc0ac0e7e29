"""Canary leak hunt against a freshly started hub: nothing personal reaches anyone not entitled.

    .venv/bin/python scripts/leak_hunt.py [--port 5097] [--keep]

Starts a hub of its own (SQLite in a temporary folder, demo data, jobs in-process, webhooks
allowed to loopback), registers a child client of UPTD PPA PPU whose every personal field
holds a canary, records consent for Balikpapan's psychologist covering identity only, and
sends three referrals: a consented one sharing identity, a machine-sent legal-basis override
to Balikpapan (which waits for a supervisor) and a consented one that the sender withdraws
consent from. Then every other party looks everywhere it can:

- every GET operation of `/openapi.json`, with every id the hunt knows filled in, and the
  list filters, as the recipient (Balikpapan), outsiders (Bontang, Polres PPU) and the hub
  operator, each with a client-credentials token holding every scope;
- every portal page reachable by links from the home page (exports included) as the demo
  users who are not the client's caseworkers: Balikpapan's psychologist, Polres' investigator,
  PPU's and Balikpapan's administrators and the province's auditor;
- every webhook payload delivered to a receiver on loopback, for every organisation;
- every e-mail file the hub wrote under its instance folder.

The recipient may see the identity canaries (name, NIK) and the referral's reason of the
consented referral only; everyone else, every webhook and every e-mail may see none. The hunt
prints how many responses it searched and every hit, and exits 1 on any leak.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pyotp
import requests

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO_PASSWORD = "demo-rujukan-2026"
DEMO_TOTP = "DEMODEMODEMODEMODEMODEMODEMODEMO"
TOKEN = secrets.token_hex(3).upper()
CANARY = {
    "full_name": f"KANARI-NAMA-{TOKEN}",
    "nik": "3171" + str(secrets.randbelow(10**12)).zfill(12),
    "phone": f"0899-{secrets.randbelow(10**4):04d}-7731",
    "address": f"KANARI-ALAMAT-{TOKEN}",
    "guardian_name": f"KANARI-WALI-{TOKEN}",
    "guardian_phone": f"0898-{secrets.randbelow(10**4):04d}-7731",
    "giver_name": f"KANARI-PEMBERI-{TOKEN}",
    "reason": f"KANARI-ALASAN-{TOKEN}",
    "chronology": f"KANARI-KRONOLOGI-{TOKEN}",
    "health": f"KANARI-KESEHATAN-{TOKEN}",
    "police_report": f"LP-KANARI-{TOKEN}",
    "perpetrator": f"KANARI-PELAKU-{TOKEN}",
    "justification": f"KANARI-JUSTIFIKASI-{TOKEN}",
    "override_reason": f"KANARI-ALASAN-DARURAT-{TOKEN}",
    "sender_reference": f"KANARI-REF-{TOKEN}",
}
#: What Balikpapan may read of the consented referral: the identity shared, and its reason.
RECIPIENT_MAY_SEE = {CANARY["full_name"], CANARY["nik"], CANARY["reason"]}
PPU, BALIKPAPAN, BONTANG, POLRES, OPERATOR = (
    "uptd-ppa-ppu",
    "uptd-ppa-balikpapan",
    "uptd-ppa-bontang",
    "polres-ppu",
    "dp3a-kaltim",
)
ALL_SCOPES = (
    "directory:read agreements:read agreements:write clients:read clients:write "
    "referrals:read referrals:write referrals:respond events:read webhooks:write audit:read"
)
PORTAL_USERS = {
    "psikolog@balikpapan.demo": RECIPIENT_MAY_SEE,
    "penyidik@polres-ppu.demo": set(),
    "admin@ppu.demo": set(),
    "admin@balikpapan.demo": set(),
    "auditor@kaltim.demo": set(),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(http.server.BaseHTTPRequestHandler):
    """Keeps every webhook body it is sent."""

    bodies: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        Receiver.bodies.append(self.rfile.read(length).decode("utf-8", "replace"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class Links(HTMLParser):
    """The same-site links of a page and the hidden CSRF token of its first form."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.csrf: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag == "input" and values.get("name") == "csrf_token" and self.csrf is None:
            self.csrf = values.get("value")


class Hunt:
    def __init__(self, port: int, keep: bool) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.folder = Path(tempfile.mkdtemp(prefix="leak-hunt-"))
        self.keep = keep
        self.env = {
            **os.environ,
            "HUB_ENV": "development",
            "HUB_INSTANCE_PATH": str(self.folder / "instance"),
            "HUB_DATABASE_URL": f"sqlite:///{self.folder / 'hub.sqlite3'}",
            "HUB_BASE_URL": self.base,
            "HUB_WEBHOOK_ALLOW_LOOPBACK": "1",
            "HUB_RATE_LIMITS_ENABLED": "0",
        }
        for name in ("HUB_REDIS_URL", "HUB_SMTP_URL", "HUB_SECRET_KEY", "HUB_DATA_KEYS"):
            self.env.pop(name, None)
        self.server: subprocess.Popen | None = None
        self.searched = 0
        self.hits: list[str] = []

    # --- the hub ---------------------------------------------------------------------------
    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "-m", "flask", "--app", "wsgi", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        self.flask("db", "upgrade")
        self.flask("hub", "load-partners")
        self.flask("hub", "demo")
        log = open(self.folder / "hub.log", "w")  # noqa: SIM115 (kept open for the server)
        self.server = subprocess.Popen(
            [PYTHON, "-m", "flask", "--app", "wsgi", "run", "--port", str(self.port)],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(150):
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise SystemExit("the hub did not start: see " + str(self.folder / "hub.log"))

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=20)
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            print(f"kept: {self.folder}")

    def token(self, org: str) -> dict[str, str]:
        credentials = json.loads(
            self.flask(
                "hub", "create-client", "--org", org, "--name", f"Hunt {org}", "--scope", ALL_SCOPES
            )
        )
        answer = requests.post(
            self.base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
            timeout=10,
        )
        answer.raise_for_status()
        return {"Authorization": "Bearer " + answer.json()["access_token"]}

    # --- the data ----------------------------------------------------------------------------
    def subscribe(self) -> None:
        """A token for every party, and a webhook of each to the receiver on loopback."""
        self.tokens = {org: self.token(org) for org in (PPU, BALIKPAPAN, BONTANG, POLRES, OPERATOR)}
        for org, headers in self.tokens.items():
            answer = requests.post(
                self.base + "/api/v1/webhooks",
                json={"url": self.receiver_url, "events": []},
                headers=headers,
                timeout=10,
            )
            if answer.status_code != 201:
                raise SystemExit(f"webhook of {org}: {answer.status_code} {answer.text}")

    def seed(self) -> dict[str, str]:
        ppu = self.tokens[PPU]
        post = self._poster(ppu)
        client = post(
            "/api/v1/clients",
            {
                "full_name": CANARY["full_name"],
                "nik": CANARY["nik"],
                "birth_date": "2016-03-14",
                "sex": "female",
                "phone": CANARY["phone"],
                "address": CANARY["address"],
                "domicile_region": "64.09",
                "guardian": {
                    "name": CANARY["guardian_name"],
                    "relationship": "ibu kandung",
                    "phone": CANARY["guardian_phone"],
                    "is_alleged_perpetrator": False,
                },
            },
        )
        consent_body = {
            "given_by": "parent",
            "giver_name": CANARY["giver_name"],
            "giver_relationship": "ibu kandung",
            "child_assent": True,
            "recipients": [BALIKPAPAN],
            "services": ["psychological_counseling"],
            "data_categories": ["identity"],
            "method": "written",
            "evidence_sha256": "a" * 64,
            "valid_until": "2030-12-31",
        }
        consent = post(f"/api/v1/clients/{client['id']}/consents", consent_body)
        case_data = {
            "case_summary": {"violence_types": ["physical"], "chronology": CANARY["chronology"]},
            "health": {"notes": CANARY["health"]},
        }
        referral = post(
            "/api/v1/referrals",
            {
                "client": client["id"],
                "consent": consent["id"],
                "to": BALIKPAPAN,
                "service": "psychological_counseling",
                "urgency": "routine",
                "reason": CANARY["reason"],
                "data_categories": ["identity"],
                "sender_reference": CANARY["sender_reference"],
            },
        )
        override = post(
            "/api/v1/referrals",
            {
                "client": client["id"],
                "legal_basis": "vital_interest",
                "justification": CANARY["justification"],
                "to": BALIKPAPAN,
                "service": "psychological_counseling",
                "urgency": "urgent",
                "reason": CANARY["override_reason"],
                "data_categories": ["identity", "contact", "case_summary", "health"],
                "case_data": case_data,
            },
            accept=(201, 422),
        )
        second = post(f"/api/v1/clients/{client['id']}/consents", consent_body)
        withdrawn = post(
            "/api/v1/referrals",
            {
                "client": client["id"],
                "consent": second["id"],
                "to": BALIKPAPAN,
                "service": "psychological_counseling",
                "reason": CANARY["override_reason"],
                "data_categories": ["identity"],
            },
        )
        post(f"/api/v1/consents/{second['id']}/withdraw", {"reason": "Klien menarik"})
        ids = {
            "client_id": client["id"],
            "consent_id": consent["id"],
            "referral_id": referral["id"],
            "override_id": override.get("id", referral["id"]),
            "withdrawn_id": withdrawn["id"],
        }
        print(
            f"seeded: client {client['id']}, referrals {referral['number']}, "
            f"{override.get('number', 'override refused')}, {withdrawn['number']}"
        )
        return ids

    def _poster(self, headers: dict[str, str]):
        def post(path: str, body: dict, accept: tuple[int, ...] = (200, 201)) -> dict:
            answer = requests.post(self.base + path, json=body, headers=headers, timeout=20)
            if answer.status_code not in accept:
                raise SystemExit(f"POST {path}: {answer.status_code} {answer.text}")
            return answer.json()

        return post

    # --- searching ---------------------------------------------------------------------------
    def search(self, where: str, text: str, allowed: set[str]) -> None:
        self.searched += 1
        for name, value in CANARY.items():
            if value in text and value not in allowed:
                self.hits.append(f"{where}: {name} ({value})")

    def hunt_api(self, ids: dict[str, str]) -> None:
        spec = requests.get(self.base + "/openapi.json", timeout=10).json()
        parties = {
            BALIKPAPAN: RECIPIENT_MAY_SEE,
            BONTANG: set(),
            POLRES: set(),
            OPERATOR: set(),
        }
        for org, allowed in parties.items():
            headers = self.tokens[org]
            known = self._known_ids(headers, ids)
            for path, item in spec["paths"].items():
                if "get" not in item:
                    continue
                for concrete in self._fill(path, known):
                    for query in self._queries(path):
                        answer = requests.get(
                            self.base + concrete, params=query, headers=headers, timeout=20
                        )
                        self.search(f"{org} GET {concrete} {query or ''}", answer.text, allowed)

    def _known_ids(self, headers: dict[str, str], ids: dict[str, str]) -> dict[str, list[str]]:
        """The sender's ids, plus what this party can list of its own."""
        referrals = [ids["referral_id"], ids["override_id"], ids["withdrawn_id"]]
        known = {
            "client_id": [ids["client_id"]],
            "consent_id": [ids["consent_id"]],
            "referral_id": referrals,
            "id": [*referrals, ids["client_id"]],
            "id_or_code": [PPU, BALIKPAPAN],
        }
        agreements = requests.get(
            self.base + "/api/v1/agreements", headers=headers, timeout=10
        ).json()
        known["agreement_id"] = [a["id"] for a in agreements.get("items", [])][:3] or ["x"]
        webhooks = requests.get(self.base + "/api/v1/webhooks", headers=headers, timeout=10)
        hooks = webhooks.json() if webhooks.ok else []
        hooks = hooks.get("items", hooks) if isinstance(hooks, dict) else hooks
        known["webhook_id"] = [h["id"] for h in hooks][:2] or ["x"]
        return known

    @staticmethod
    def _fill(path: str, known: dict[str, list[str]]) -> list[str]:
        paths = [path]
        for name in re.findall(r"{([^}]+)}", path):
            values = known.get(name) or ["x"]
            paths = [p.replace("{" + name + "}", v) for p in paths for v in values]
        return paths

    @staticmethod
    def _queries(path: str) -> list[dict[str, str] | None]:
        if path.endswith("/referrals"):
            return [
                {"box": "received"},
                {"box": "sent"},
                {"sender_reference": CANARY["sender_reference"]},
            ]
        if path.endswith("/clients"):
            return [None, {"nik": CANARY["nik"]}]
        if path.endswith("/events"):
            return [{"limit": "100"}]
        return [None]

    def controls(self, ids: dict[str, str]) -> None:
        """The hunt must see the canaries where they belong, or it proves nothing."""
        owner = requests.get(
            f"{self.base}/api/v1/clients/{ids['client_id']}", headers=self.tokens[PPU], timeout=10
        ).text
        recipient = requests.get(
            f"{self.base}/api/v1/referrals/{ids['referral_id']}",
            headers=self.tokens[BALIKPAPAN],
            timeout=10,
        ).text
        for where, text, needed in (
            ("the owner's client record", owner, ("full_name", "phone", "address")),
            ("the recipient's referral", recipient, ("full_name", "nik")),
        ):
            missing = [name for name in needed if CANARY[name] not in text]
            if missing:
                self.hits.append(f"control: {where} lacks {missing}: the hunt cannot see")

    def hunt_portal(self) -> None:
        for email, allowed in PORTAL_USERS.items():
            session = requests.Session()
            if not self._sign_in(session, email):
                self.hits.append(f"portal: could not sign in as {email}")
                continue
            seen: set[str] = set()
            queue = deque(["/"])
            while queue and len(seen) < 400:
                path = queue.popleft()
                if path in seen:
                    continue
                seen.add(path)
                answer = session.get(self.base + path, timeout=20)
                self.search(f"portal {email} {path}", answer.text, allowed)
                if "text/html" not in answer.headers.get("Content-Type", ""):
                    continue
                parser = Links()
                parser.feed(answer.text)
                for href in parser.links:
                    target = urlsplit(urljoin(self.base + path, href))
                    if target.netloc != urlsplit(self.base).netloc:
                        continue
                    local = target.path + (f"?{target.query}" if target.query else "")
                    if target.path.startswith(("/static", "/logout")) or local in seen:
                        continue
                    queue.append(local)
            print(f"portal {email}: {len(seen)} pages")

    def _sign_in(self, session: requests.Session, email: str) -> bool:
        page = session.get(self.base + "/login", timeout=10)
        parser = Links()
        parser.feed(page.text)
        answer = session.post(
            self.base + "/login",
            data={"csrf_token": parser.csrf, "email": email, "password": DEMO_PASSWORD},
            timeout=20,
        )
        if "/login/code" in answer.url:
            parser = Links()
            parser.feed(answer.text)
            answer = session.post(
                self.base + "/login/code",
                data={"csrf_token": parser.csrf, "code": pyotp.TOTP(DEMO_TOTP).now()},
                timeout=20,
            )
        return "/login" not in urlsplit(answer.url).path

    def hunt_deliveries(self) -> None:
        deadline = time.time() + 30
        count = -1
        while time.time() < deadline:
            time.sleep(2)
            if len(Receiver.bodies) == count:
                break
            count = len(Receiver.bodies)
        for body in Receiver.bodies:
            self.search("webhook payload", body, set())
        mails = list((self.folder / "instance" / "mail").glob("**/*.eml"))
        for mail in mails:
            self.search(f"e-mail {mail.name}", mail.read_text("utf-8", "replace"), set())
        print(f"webhook payloads: {len(Receiver.bodies)}, e-mails: {len(mails)}")

    def run(self) -> int:
        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        self.receiver_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        self.start()
        try:
            self.subscribe()
            ids = self.seed()
            self.controls(ids)
            self.hunt_api(ids)
            self.hunt_portal()
            self.hunt_deliveries()
        finally:
            receiver.shutdown()
            self.stop()
        print(f"searched {self.searched} responses, pages, payloads and e-mails")
        for hit in self.hits:
            print("LEAK", hit)
        print(f"{len(self.hits)} leaks")
        return 1 if self.hits else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="port of the hub (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the hub's folder afterwards")
    args = parser.parse_args()
    return Hunt(args.port or free_port(), args.keep).run()


if __name__ == "__main__":
    sys.exit(main())
