"""Bulk data for the benchmark, written with COPY straight into the hub's tables.

Going through the API would take hours for 100,000 referrals; COPY takes seconds. The rows
are what the hub itself would have written:

- personal data is real AES-GCM ciphertext under the benchmark's key ring, bound to its
  table, column and row id exactly as `referral_hub.clients.crypto` binds it, because the
  inbox list decrypts every client's birth date (its age band is part of the demographics);
- readable numbers (KL-..., RJ-...) are reserved from the same counters the hub uses, so
  referrals sent through the API afterwards continue the series without a clash;
- audit entries continue the existing chain with the hub's own hashing
  (`referral_hub.audit.chain`), under the hub's chain lock, so `verify_chain` walks one
  unbroken chain;
- organisations and agreements look like the registry's: two parties, one to three covered
  services each provided by a party, signed by both, in force today.

Everything takes a psycopg connection (autocommit off) and commits itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from referral_hub.audit.chain import entry_hash
from referral_hub.audit.models import GENESIS_HASH
from referral_hub.audit.operations import _CHAIN_LOCK_KEY, hashed_fields
from referral_hub.clients.crypto import encrypt

UTC = dt.UTC
WITA = dt.timezone(dt.timedelta(hours=8))
#: Closed referrals dominate a store that has run for years; a tenth are still open.
STATUS_MIX = (
    ("completed", 55),
    ("rejected", 8),
    ("cancelled", 5),
    ("failed", 2),
    ("in-progress", 10),
    ("accepted", 8),
    ("on-hold", 2),
    ("requested", 10),
)
OUTCOMES = ("service_delivered", "partially_delivered", "client_declined", "unable_to_contact")
REASONS = (
    "Klien membutuhkan asesmen dan konseling psikolog klinis setelah kekerasan dalam rumah tangga.",
    "Anak menunjukkan gejala trauma; mohon asesmen psikologis dan rencana konseling.",
    "Korban kekerasan seksual membutuhkan pendampingan psikologis lanjutan.",
    "Remaja korban perundungan daring; mohon konseling dan pendampingan keluarga.",
)
PARTNER_TYPES = (
    "police",
    "prosecutor",
    "district_court",
    "religious_court",
    "social_service",
    "health",
    "legal_aid",
    "religious_affairs",
    "uptd_ppa",
    "community",
    "government_office",
    "university",
)


#: The clients' columns every seeding writes (by COPY, in this order).
CLIENT_COLUMNS = (
    "id",
    "organization_id",
    "code",
    "full_name_enc",
    "birth_date_enc",
    "sex",
    "disability",
    "domicile_region",
    "created_at",
)


def new_id() -> str:
    return uuid.uuid4().hex


def _weighted(rng: random.Random, mix: Sequence[tuple[str, int]]) -> str:
    return rng.choices([m[0] for m in mix], weights=[m[1] for m in mix])[0]


def reserve_numbers(
    cur: psycopg.Cursor, prefix: str, organization_id: str, year: int, count: int
) -> int:
    """Take `count` consecutive numbers of a hub series; return the first."""
    cur.execute(
        "INSERT INTO code_counters (prefix, organization_id, year, last_value) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (prefix, organization_id, year) "
        "DO UPDATE SET last_value = code_counters.last_value + EXCLUDED.last_value "
        "RETURNING last_value",
        (prefix, organization_id, year, count),
    )
    return cur.fetchone()[0] - count + 1


def _copy(cur: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    count = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _short_code(org_code: str) -> str:
    # As referral_hub.clients.operations.organization_short_code.
    return org_code.removeprefix("uptd-ppa-").replace("-", "").upper()[:16]


# --- referrals ------------------------------------------------------------------------------


def count_referrals(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM referrals").fetchone()[0]


def seed_referrals(
    conn: psycopg.Connection,
    ring: Mapping[str, bytes],
    *,
    sender: Mapping[str, str],
    recipient: Mapping[str, str],
    others: Sequence[Mapping[str, str]],
    to_recipient: int,
    agreement_id: str,
    service: str,
    count: int,
    referrals_per_client: int = 5,
    seed: int = 1,
) -> dict[str, int]:
    """Add `count` referrals sent by `sender` over the last three years, about `to_recipient`
    of them to `recipient` (the inbox measured) and the rest to `others`; each client (one
    per `referrals_per_client` referrals, all to the same recipient) has one consent.

    Every referral names the benchmark's agreement: only its existence matters to the
    lists measured here (the gates ran when a referral was sent, not when it is listed)."""
    if count <= 0:
        return {"referrals": 0, "clients": 0, "to_recipient": 0}
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    start = now - dt.timedelta(days=3 * 365)
    short = _short_code(sender["code"])
    span = (now - dt.timedelta(days=2) - start).total_seconds()
    created = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(count))
    n_clients = max(1, -(-count // referrals_per_client))
    categories = ["demographics", "identity", "case_summary"]
    with conn.cursor() as cur:
        # Clients first (registered at their first referral's time), each with one consent.
        client_times = created[::referrals_per_client][:n_clients]
        by_year: dict[int, int] = {}
        for at in client_times:
            year = at.astimezone(WITA).year
            by_year[year] = by_year.get(year, 0) + 1
        next_number = {
            year: reserve_numbers(cur, "KL", sender["id"], year, n) for year, n in by_year.items()
        }
        measured = set(
            rng.sample(range(n_clients), min(n_clients, -(-to_recipient // referrals_per_client)))
        )
        client_recipient = [
            recipient["id"] if k in measured else rng.choice(others)["id"] for k in range(n_clients)
        ]
        clients, consents, recipients = [], [], []
        for index, at in enumerate(client_times):
            year = at.astimezone(WITA).year
            number = next_number[year]
            next_number[year] += 1
            cid = new_id()
            age = rng.randint(4, 60)
            birth = (at - dt.timedelta(days=age * 365 + rng.randint(0, 364))).date()
            place = {"table": "clients", "row_id": cid, "ring": ring}
            clients.append(
                (
                    cid,
                    sender["id"],
                    f"KL-{short}-{year}-{number:06d}",
                    encrypt(f"Klien Benchmark {index}", column="full_name_enc", **place),
                    encrypt(birth.isoformat(), column="birth_date_enc", **place),
                    rng.choice(("female", "female", "female", "male")),
                    "[]",
                    rng.choice(("64.09", "64.09.01", "64.71", "64.71.02")),
                    at,
                )
            )
            consent_id = new_id()
            consents.append(
                (
                    consent_id,
                    cid,
                    sender["id"],
                    "parent" if age < 18 else "client",
                    encrypt(
                        "Orang Tua Benchmark",
                        column="giver_name_enc",
                        **{**place, "table": "consents", "row_id": consent_id},
                    )
                    if age < 18
                    else None,
                    "ibu kandung" if age < 18 else None,
                    False,
                    age < 18,
                    True if age < 18 else None,
                    json.dumps([service]),
                    json.dumps(categories),
                    "written",
                    hashlib.sha256(consent_id.encode()).hexdigest(),
                    (at + dt.timedelta(days=365 * 4)).date(),
                    at,
                )
            )
            recipients.append((consent_id, client_recipient[index]))
        _copy(
            cur,
            "clients",
            CLIENT_COLUMNS,
            clients,
        )
        _copy(
            cur,
            "consents",
            (
                "id",
                "client_id",
                "organization_id",
                "given_by",
                "giver_name_enc",
                "giver_relationship",
                "giver_is_alleged_perpetrator",
                "client_was_child",
                "child_assent",
                "services",
                "data_categories",
                "method",
                "evidence_sha256",
                "valid_until",
                "created_at",
            ),
            consents,
        )
        _copy(cur, "consent_recipients", ("consent_id", "organization_id"), recipients)

        by_year = {}
        for at in created:
            year = at.astimezone(WITA).year
            by_year[year] = by_year.get(year, 0) + 1
        next_number = {
            year: reserve_numbers(cur, "RJ", sender["id"], year, n) for year, n in by_year.items()
        }

        def referral_rows():
            for index, at in enumerate(created):
                year = at.astimezone(WITA).year
                number = next_number[year]
                next_number[year] += 1
                rid = new_id()
                client = clients[index // referrals_per_client]
                consent = consents[index // referrals_per_client]
                status = _weighted(rng, STATUS_MIX)
                respond_by = at + dt.timedelta(hours=72)
                place = {"table": "referrals", "row_id": rid, "ring": ring}
                case = {"case_summary": {"violence_types": [rng.choice(("physical", "sexual"))]}}
                yield (
                    rid,
                    f"RJ-{short}-{year}-{number:06d}",
                    sender["id"],
                    client_recipient[index // referrals_per_client],
                    client[0],
                    service,
                    agreement_id,
                    consent[0],
                    "consent",
                    rng.choice(("routine", "routine", "routine", "urgent")),
                    encrypt(rng.choice(REASONS), column="reason_enc", **place),
                    json.dumps(categories),
                    encrypt(json.dumps(case, sort_keys=True), column="case_data_enc", **place),
                    status,
                    rng.choice(OUTCOMES) if status == "completed" else None,
                    respond_by,
                    # Announced as overdue long ago, as the sweep would have done.
                    respond_by if status == "requested" and respond_by < now else None,
                    at,
                    at + dt.timedelta(hours=rng.randint(1, 24 * 60))
                    if status != "requested"
                    else at,
                    1,
                )

        written = _copy(
            cur,
            "referrals",
            (
                "id",
                "number",
                "sender_organization_id",
                "recipient_organization_id",
                "client_id",
                "service_code",
                "agreement_id",
                "consent_id",
                "legal_basis",
                "urgency",
                "reason_enc",
                "data_categories",
                "case_data_enc",
                "status",
                "outcome",
                "respond_by",
                "overdue_notified_at",
                "created_at",
                "updated_at",
                "version",
            ),
            referral_rows(),
        )
    conn.commit()
    inbox = sum(
        1
        for index in range(written)
        if client_recipient[index // referrals_per_client] == recipient["id"]
    )
    return {"referrals": written, "clients": len(clients), "to_recipient": inbox}


# --- the registry ---------------------------------------------------------------------------


def seed_registry(
    conn: psycopg.Connection,
    *,
    organizations: int,
    agreements: int,
    focus: Mapping[str, str],
    focus_agreements: int,
    focus_service: str,
    seed: int = 2,
) -> dict[str, int]:
    """Top the directory up to `organizations` organisations and the registry up to
    `agreements` agreements; `focus` (the organisation whose coverage is measured) is a
    party to `focus_agreements` of the new ones, a third of which cover `focus_service`
    provided by the other party."""
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    today = now.astimezone(WITA).date()
    services = [r[0] for r in conn.execute("SELECT code FROM services ORDER BY code")]
    have_orgs = conn.execute("SELECT count(*) FROM organizations").fetchone()[0]
    have_agreements = conn.execute("SELECT count(*) FROM agreements").fetchone()[0]
    new_orgs = max(0, organizations - have_orgs)
    new_agreements = max(0, agreements - have_agreements)
    with conn.cursor() as cur:
        orgs = []
        offers = []
        for index in range(new_orgs):
            oid = new_id()
            kind = rng.choice(PARTNER_TYPES)
            orgs.append(
                (
                    oid,
                    f"bench-org-{index:05d}",
                    f"Lembaga Benchmark {index:05d}",
                    kind,
                    f"64.{rng.randint(1, 74):02d}",
                )
            )
            for code in rng.sample(services, rng.randint(1, 3)):
                offers.append((oid, code, rng.choice(("available", "available", "limited"))))
        _copy(cur, "organizations", ("id", "code", "name", "type", "region_code"), orgs)
        _copy(
            cur,
            "organization_services",
            ("organization_id", "service_code", "capacity_status"),
            offers,
        )
        pool = [
            r[0]
            for r in conn.execute("SELECT id FROM organizations WHERE id <> %s", (focus["id"],))
        ]
        rows, parties, covered, signatures = [], [], [], []
        for index in range(new_agreements):
            aid = new_id()
            if index < focus_agreements:
                pair = [focus["id"], rng.choice(pool)]
            else:
                pair = rng.sample(pool, 2)
            chosen = rng.sample(services, rng.randint(1, 3))
            if index < focus_agreements and index % 3 == 0:
                chosen = [focus_service, *[s for s in chosen if s != focus_service]][:3]
            effective = today - dt.timedelta(days=rng.randint(1, 700))
            expires = today + dt.timedelta(days=rng.randint(60, 1000))
            number = f"BENCH/PKS/{index:05d}"
            signed = now - dt.timedelta(days=rng.randint(1, 30))
            rows.append(
                (
                    aid,
                    rng.choice(("mou", "pks", "contract")),
                    number,
                    number.casefold(),
                    f"Perjanjian kerja sama benchmark {index:05d}",
                    "Benchmark data: an agreement of the registry.",
                    json.dumps(sorted(["demographics", "identity", "case_summary"])),
                    effective,
                    expires,
                    rng.choice((24, 48, 72, 120)),
                    "[]",
                    "active",
                    1,
                    ",".join(sorted(pair)),
                    1,
                    signed,
                    signed,
                    pair[0],
                    signed,
                    signed,
                )
            )
            for position, org_id in enumerate(pair):
                parties.append((aid, org_id, position))
                signatures.append((new_id(), aid, org_id, "system", "bench:seed", signed, "0" * 64))
            for position, code in enumerate(chosen):
                if index < focus_agreements and code == focus_service:
                    provider = pair[1]  # the focus organisation refers it to the other party
                else:
                    provider = rng.choice(pair)
                covered.append((aid, code, provider, position))
        _copy(
            cur,
            "agreements",
            (
                "id",
                "kind",
                "number",
                "number_key",
                "title",
                "purpose",
                "data_categories",
                "effective_from",
                "expires_on",
                "response_hours",
                "signatories",
                "status",
                "version",
                "parties_key",
                "revision",
                "fully_signed_at",
                "activated_at",
                "created_by_organization_id",
                "created_at",
                "updated_at",
            ),
            rows,
        )
        _copy(cur, "agreement_parties", ("agreement_id", "organization_id", "position"), parties)
        _copy(
            cur,
            "agreement_services",
            ("agreement_id", "service_code", "provider_id", "position"),
            covered,
        )
        _copy(
            cur,
            "agreement_signatures",
            (
                "id",
                "agreement_id",
                "organization_id",
                "actor_kind",
                "actor_label",
                "signed_at",
                "content_sha256",
            ),
            signatures,
        )
    conn.commit()
    return {"organizations": new_orgs, "agreements": new_agreements}


# --- the audit chain ------------------------------------------------------------------------


_AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor_kind",
    "actor_client_id",
    "organization_id",
    "subject_organization_id",
    "action",
    "object_type",
    "object_id",
    "detail",
    "prev_hash",
    "hash",
)


def _append_entries(cur: psycopg.Cursor, entries: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Chain and COPY entries (fields without seq, prev_hash, hash) after the current head,
    under the hub's chain lock; (first seq, last seq)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK_KEY,))
    cur.execute("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
    head = cur.fetchone()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
    first = seq + 1

    def rows():
        nonlocal seq, prev
        for entry in entries:
            seq += 1
            fields = {
                "seq": seq,
                "actor_kind": "client",
                "actor_user_id": None,
                "actor_client_id": "hub_bench",
                "actor_label": None,
                **entry,
            }
            digest = entry_hash(prev, hashed_fields(fields))
            yield (
                *(fields[name] for name in _AUDIT_COLUMNS[:9]),
                json.dumps(fields["detail"]),
                prev,
                digest,
            )
            prev = digest

    _copy(cur, "audit_entries", _AUDIT_COLUMNS, rows())
    return first, seq


def seed_audit_chain(
    conn: psycopg.Connection, *, entries: int, organizations: Sequence[str], seed: int = 3
) -> dict[str, Any]:
    """Append `entries` entries to the audit chain, hashed as the hub hashes them."""
    rng = random.Random(seed)
    at = dt.datetime.now(UTC) - dt.timedelta(seconds=entries)

    def entries_():
        nonlocal at
        for index in range(entries):
            at = at + dt.timedelta(microseconds=rng.randint(1, 2_000_000))
            actor, subject = rng.sample(organizations, 2)
            yield {
                "at": at,
                "organization_id": actor,
                "subject_organization_id": subject,
                "action": "referral.sent",
                "object_type": "referral",
                "object_id": new_id(),
                "detail": {
                    "number": f"RJ-BENCH-{index:09d}",
                    "service": "psychological_counseling",
                    "legal_basis": "consent",
                    "consent": new_id(),
                    "approved_by": None,
                    "data_categories": ["demographics", "identity", "case_summary"],
                },
            }

    with conn.cursor() as cur:
        first, last = _append_entries(cur, entries_())
    conn.commit()
    return {"first_seq": first, "last_seq": last}


#: The entry that records a row's deciding values, by kind (referral_hub.audit.decisions).
RECORDING_ACTIONS = {
    "referral": "referral.sent",
    "consent": "consent.recorded",
    "agreement": "agreement.created",
}


def seed_recording_entries(
    conn: psycopg.Connection, rows: Iterable[tuple[str, str, dict[str, Any], Sequence[str]]]
) -> int:
    """Append the entries that record rows seeded by COPY, as the operations that create
    such rows record them: (object type, id, deciding values, organisations concerned)."""
    now = dt.datetime.now(UTC)
    count = 0

    def entries():
        nonlocal count
        for object_type, object_id, values, organizations in rows:
            orgs = sorted(organizations)
            detail = {k: v for k, v in values.items() if k != "withdrawn"}
            base = {
                "at": now,
                "organization_id": orgs[0] if orgs else None,
                "subject_organization_id": orgs[1] if len(orgs) > 1 else None,
                "object_type": object_type,
                "object_id": object_id,
            }
            count += 1
            yield {**base, "action": RECORDING_ACTIONS[object_type], "detail": detail}
            if values.get("withdrawn"):
                yield {**base, "action": "consent.withdrawn", "detail": {}}

    with conn.cursor() as cur:
        _append_entries(cur, entries())
    conn.commit()
    return count


def analyze(conn: psycopg.Connection, tables: Iterable[str]) -> list[tuple[Any, ...]]:
    """VACUUM ANALYZE, as autovacuum would soon after a bulk load (plans, visibility map).

    Returns the other sessions that held a snapshot meanwhile (application name, state,
    transaction age, query): VACUUM cannot mark pages all-visible past the oldest one, and
    then counting a box is a sequential scan instead of an index-only scan."""
    previous = conn.autocommit
    conn.commit()
    conn.autocommit = True
    holders = (
        "SELECT application_name, state, (now() - xact_start)::text, left(query, 80) "
        "FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
    )
    seen: list[tuple[Any, ...]] = []
    try:
        for table in tables:
            seen += conn.execute(holders).fetchall()
            conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.autocommit = previous
    return seen


# --- the province's referrals, for the report phase ----------------------------------------

#: Hours from sending to the first answer: most within a day, a tail of a week.
ANSWER_HOURS = ((1, 30), (6, 25), (24, 25), (72, 15), (168, 5))


def seed_network_referrals(
    conn: psycopg.Connection,
    ring: Mapping[str, bytes],
    *,
    count: int,
    agreement_id: str,
    referrals_per_client: int = 3,
    partners_per_sender: int = 20,
    years: int = 3,
    seed: int = 16,
) -> dict[str, int]:
    """Add `count` referrals between the directory's organisations over the last `years`
    years: every UPTD PPA sends (the busiest a hundred times the quietest) to its own
    `partners_per_sender` partners, each for one or two services, as referrals follow a
    unit's agreements; each answered referral has its answer in the timeline
    (referral_events), as the recipient's accept or reject writes it. Clients are
    registered by their sender; each carries up to `referrals_per_client` referrals, to one
    or several partners."""
    if count <= 0:
        return {"referrals": 0, "clients": 0, "events": 0}
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    start = now - dt.timedelta(days=years * 365)
    orgs = list(conn.execute("SELECT id, code, type FROM organizations ORDER BY code"))
    senders = [o for o in orgs if o[2] == "uptd_ppa"] or [o for o in orgs if o[2] != "hub_operator"]
    recipients = [o for o in orgs if o[2] != "hub_operator"]
    services = [r[0] for r in conn.execute("SELECT code FROM services ORDER BY code")]
    weights = [1 + 99 * (i / max(1, len(senders) - 1)) ** 3 for i in range(len(senders))]
    # Who refers what to whom: fixed per sender, as its agreements fix it.
    routes = {
        sender[0]: [
            (partner[0], service)
            for partner in rng.sample(recipients, min(partners_per_sender, len(recipients)))
            for service in rng.sample(services, rng.choice((1, 1, 2)))
        ]
        for sender in senders
    }
    span = (now - dt.timedelta(hours=1) - start).total_seconds()
    n_clients = max(1, -(-count // referrals_per_client))
    client_sender = rng.choices(senders, weights=weights, k=n_clients)
    client_times = sorted(
        start + dt.timedelta(seconds=rng.random() * span) for _ in range(n_clients)
    )
    categories = json.dumps(["demographics"])
    with conn.cursor() as cur:
        clients = []
        numbers: dict[tuple[str, int], int] = {}
        for index, at in enumerate(client_times):
            sender = client_sender[index]
            year = at.astimezone(WITA).year
            key = (sender[0], year)
            numbers[key] = numbers.get(key, 0) + 1
            cid = new_id()
            place = {"table": "clients", "row_id": cid, "ring": ring}
            birth = (at - dt.timedelta(days=rng.randint(4, 60) * 365)).date()
            clients.append(
                (
                    cid,
                    sender[0],
                    f"KL-R{seed}-{_short_code(sender[1])}-{year}-{numbers[key]:07d}",
                    encrypt(f"Klien Laporan {index}", column="full_name_enc", **place),
                    encrypt(birth.isoformat(), column="birth_date_enc", **place),
                    rng.choice(("female", "female", "female", "male")),
                    "[]",
                    "64.09",
                    at,
                )
            )
        _copy(
            cur,
            "clients",
            CLIENT_COLUMNS,
            clients,
        )
        events: list[tuple] = []

        def referral_rows():
            for index in range(count):
                k = index // referrals_per_client
                client, sender = clients[k], client_sender[k]
                at = client_times[k] + dt.timedelta(hours=rng.randint(0, 24 * 30))
                at = min(at, now - dt.timedelta(minutes=5))
                rid = new_id()
                route = rng.choice(routes[sender[0]])
                status = _weighted(rng, STATUS_MIX)
                urgency = rng.choice(("routine", "routine", "routine", "urgent", "emergency"))
                respond_by = at + dt.timedelta(hours=72 if urgency == "routine" else 24)
                answered = None
                if status not in ("requested", "cancelled"):
                    low = _weighted(rng, [(str(h), w) for h, w in ANSWER_HOURS])
                    answered = at + dt.timedelta(hours=rng.uniform(0.1, float(low)))
                    events.append(
                        (
                            new_id(),
                            rid,
                            answered,
                            "reject" if status == "rejected" else "accept",
                            "requested",
                            "rejected" if status == "rejected" else "accepted",
                        )
                    )
                late = (answered or now) > respond_by
                reason = encrypt(
                    rng.choice(REASONS),
                    column="reason_enc",
                    table="referrals",
                    row_id=rid,
                    ring=ring,
                )
                yield (
                    rid,
                    f"RJ-R{seed}-{index:08d}",
                    sender[0],
                    route[0],
                    client[0],
                    route[1],
                    agreement_id,
                    "consent",
                    urgency,
                    reason,
                    categories,
                    status,
                    respond_by,
                    respond_by if late else None,
                    at,
                    answered or at,
                    1,
                )

        written = _copy(
            cur,
            "referrals",
            (
                "id",
                "number",
                "sender_organization_id",
                "recipient_organization_id",
                "client_id",
                "service_code",
                "agreement_id",
                "legal_basis",
                "urgency",
                "reason_enc",
                "data_categories",
                "status",
                "respond_by",
                "overdue_notified_at",
                "created_at",
                "updated_at",
                "version",
            ),
            referral_rows(),
        )
        _copy(
            cur,
            "referral_events",
            ("id", "referral_id", "at", "action", "from_status", "to_status"),
            events,
        )
    conn.commit()
    return {"referrals": written, "clients": len(clients), "events": len(events)}


# --- the units' cases, for the case report ----------------------------------------------------

#: SIMFONI-PPA's mixes, roughly as the units report them: mostly physical, psychological and
#: sexual violence, at home, by a spouse, partner or family member; four in five victims
#: women and girls, half of them children.
VIOLENCE_MIX = (
    ("physical", 35),
    ("psychological", 30),
    ("sexual", 30),
    ("neglect", 8),
    ("exploitation", 4),
    ("trafficking", 2),
    ("other", 3),
)
PLACE_MIX = (
    ("household", 58),
    ("public_place", 12),
    ("school", 9),
    ("online", 8),
    ("workplace", 5),
    ("other", 8),
)
RELATIONSHIP_MIX = (
    ("spouse", 24),
    ("partner_friend", 16),
    ("parent", 12),
    ("family", 12),
    ("neighbour", 9),
    ("stranger", 8),
    ("teacher", 4),
    ("employer", 3),
    ("coworker", 3),
    ("other", 9),
)
#: Ages in years at the case's opening (a range each), across SIMFONI's bands.
AGE_MIX = (
    ((1, 5), 6),
    ((6, 12), 16),
    ((13, 17), 26),
    ((18, 24), 14),
    ((25, 44), 28),
    ((45, 59), 8),
    ((60, 80), 2),
)
RISK_MIX = (("low", 30), ("medium", 50), ("high", 20))


def seed_cases(
    conn: psycopg.Connection,
    ring: Mapping[str, bytes],
    *,
    count: int,
    years: int = 3,
    second_case_share: float = 0.15,
    focus: str | None = None,
    seed: int = 16,
) -> dict[str, Any]:
    """Add `count` cases held by the directory's UPTD PPA over the last `years` years (the
    busiest unit a hundred times the quietest, as for referrals), each around a client the
    unit registered (some clients have a second case), spread over SIMFONI's violence types
    (one to three a case), ages, sexes, places, perpetrator relationships, the unit's
    districts, risk levels and statuses (most cases older than half a year closed).
    `focus` (an organisation id) is made the busiest unit. Returns the counts and the
    busiest unit's code."""
    if count <= 0:
        return {"cases": 0, "clients": 0, "busiest": None}
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    start = now - dt.timedelta(days=years * 365)
    units = list(
        conn.execute(
            "SELECT id, code, coalesce(region_code, '64.71') FROM organizations "
            "WHERE type = 'uptd_ppa' ORDER BY code"
        )
    )
    if focus is not None:
        focused = [u for u in units if u[0] == focus]
        units = [u for u in units if u[0] != focus] + focused
    weights = [1 + 99 * (i / max(1, len(units) - 1)) ** 3 for i in range(len(units))]
    span = (now - dt.timedelta(hours=1) - start).total_seconds()
    holders = rng.choices(units, weights=weights, k=count)
    opened = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(count))
    clients: list[tuple] = []
    cases: list[tuple] = []
    numbers: dict[tuple[str, int], int] = {}
    last_client: dict[str, tuple[str, dt.date, str]] = {}
    violence = [v for v, _ in VIOLENCE_MIX]
    violence_weights = [w for _, w in VIOLENCE_MIX]
    for index, at in enumerate(opened):
        unit = holders[index]
        local = at.astimezone(WITA)
        previous = last_client.get(unit[0])
        if previous is not None and rng.random() < second_case_share:
            cid, birth, sex = previous  # a client of this unit comes back with a new case
        else:
            low, high = _weighted_range(rng, AGE_MIX)
            birth = (at - dt.timedelta(days=rng.randint(low * 365, high * 365 + 364))).date()
            sex = "female" if rng.random() < 0.8 else "male"
            cid = new_id()
            place = {"table": "clients", "row_id": cid, "ring": ring}
            key = (unit[0], local.year)
            numbers[key] = numbers.get(key, 0) + 1
            clients.append(
                (
                    cid,
                    unit[0],
                    f"KL-C{seed}-{_short_code(unit[1])}-{local.year}-{numbers[key]:07d}",
                    encrypt(f"Klien Kasus {index}", column="full_name_enc", **place),
                    encrypt(birth.isoformat(), column="birth_date_enc", **place),
                    sex,
                    "[]",
                    unit[2],
                    at,
                )
            )
        last_client[unit[0]] = (cid, birth, sex)
        kinds = sorted(
            set(rng.choices(violence, weights=violence_weights, k=rng.choice((1, 1, 1, 2, 3))))
        )
        age_days = (at.date() - birth).days
        relationship = _weighted(rng, RELATIONSHIP_MIX)
        if age_days < 18 * 365 and relationship in ("spouse", "employer", "coworker"):
            # A child's: at home, at school, around it.
            relationship = rng.choice(("parent", "family", "teacher", "neighbour", "stranger"))
        closed = rng.random() < (0.85 if now - at > dt.timedelta(days=180) else 0.35)
        closed_at = min(now, at + dt.timedelta(days=rng.randint(7, 150))) if closed else None
        cases.append(
            (
                new_id(),
                f"KS-C{seed}-{_short_code(unit[1])}-{local.year}-{index:07d}",
                unit[0],
                cid,
                "closed" if closed else "open",
                _weighted(rng, RISK_MIX),
                json.dumps(kinds),
                (at - dt.timedelta(days=rng.randint(0, 30))).date(),
                _weighted(rng, PLACE_MIX),
                f"{unit[2]}.{rng.randint(1, 12):02d}" if unit[2].count(".") == 1 else unit[2],
                relationship,
                rng.choice(("goals_met", "goals_met", "transferred", "client_withdrew"))
                if closed
                else None,
                closed_at,
                at,
                closed_at or at,
                1,
            )
        )
    with conn.cursor() as cur:
        _copy(
            cur,
            "clients",
            CLIENT_COLUMNS,
            clients,
        )
        written = _copy(
            cur,
            "cases",
            (
                "id",
                "number",
                "organization_id",
                "client_id",
                "status",
                "risk_level",
                "violence_types",
                "incident_occurred_on",
                "incident_place_type",
                "incident_region_code",
                "perpetrator_relationship",
                "close_reason",
                "closed_at",
                "opened_at",
                "updated_at",
                "version",
            ),
            cases,
        )
    conn.commit()
    busiest = Counter(h[1] for h in holders).most_common(1)[0][0]
    return {"cases": written, "clients": len(clients), "busiest": busiest}


def _weighted_range(
    rng: random.Random, mix: Sequence[tuple[tuple[int, int], int]]
) -> tuple[int, int]:
    return rng.choices([r for r, _ in mix], weights=[w for _, w in mix])[0]
