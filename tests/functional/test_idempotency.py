"""Idempotency-Key on every POST under /api/v1: a partner that retries after a timeout gets the
first answer again, and nothing happens twice.

The contract (API.md, Conventions): the same key from the same caller within 24 h replays the
first response (same status and body, `Idempotent-Replayed: true`) and changes nothing; the
same key with another body is 422 `idempotency-key-reused`; a second request while the first
still runs is 409 `idempotency-key-in-use`. Two app processes racing on PostgreSQL are in
test_idempotency_live.py.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading

import flask_smorest.response
import pytest
import requests
from sqlalchemy import func, select, update

from referral_hub.audit.models import AuditEntry
from referral_hub.clients.models import Disclosure
from referral_hub.db import utcnow
from referral_hub.delivery.models import Event, Notification
from referral_hub.delivery.schedule import PERIODIC
from referral_hub.extensions import db
from referral_hub.idempotency import operations as idem
from referral_hub.idempotency import tasks
from referral_hub.idempotency.models import IdempotencyKey
from referral_hub.referrals import operations as referral_ops
from referral_hub.referrals.models import Referral, ReferralEvent
from referral_hub.referrals.operations import sending
from tests.agreements_support import as_json, content
from tests.clients_support import CANARY
from tests.conftest import problem
from tests.referrals_support import ALL_REFERRAL_SCOPES, PPU, Scenario

REFERRALS = "/api/v1/referrals"


@pytest.fixture
def s(app, client, hub) -> Scenario:
    return Scenario(app, client, hub)


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def counts(app) -> dict[str, int]:
    """Everything a referral's sending or an action writes, counted."""
    with app.app_context():
        found = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Referral, ReferralEvent, Disclosure, AuditEntry, Event, Notification)
        }
        db.session.remove()
    return found


def key_rows(app) -> list[dict]:
    with app.app_context():
        rows = [
            {c.key: getattr(row, c.key) for c in IdempotencyKey.__table__.columns}
            for row in db.session.scalars(select(IdempotencyKey))
        ]
        db.session.remove()
    return rows


def age_keys(app, **values) -> None:
    """Move every stored key's clocks (expiry, lease) as if time had passed."""
    with app.app_context():
        db.session.execute(update(IdempotencyKey).values(**values))
        db.session.commit()
        db.session.remove()


# --- replay -------------------------------------------------------------------------------


def test_a_retried_referral_is_sent_once_and_the_retry_gets_the_first_answer(app, client, s):
    before = counts(app)
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "retry-after-timeout-1"))
    assert first.status_code == 201, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    after_first = counts(app)
    assert after_first["referrals"] == before["referrals"] + 1

    again = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "retry-after-timeout-1"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    for name in ("Location", "Content-Type"):
        assert again.headers[name] == first.headers[name]
    # Nothing happened the second time: no referral, timeline entry, disclosure, audit
    # entry, event or e-mail.
    assert counts(app) == after_first
    with app.app_context():
        sent = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "referral.sent"))
        assert len(sent.all()) == 1
        shares = db.session.scalars(select(Disclosure).where(Disclosure.kind == "share")).all()
        assert len(shares) == 1
        db.session.remove()


def test_the_same_json_in_another_key_order_or_spacing_is_the_same_request(app, client, s):
    body = s.body()
    first = client.post(REFERRALS, json=body, headers=keyed(s.ppu, "order"))
    assert first.status_code == 201
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = client.post(
        REFERRALS,
        data=reordered,
        content_type="application/json",
        headers=keyed(s.ppu, "order"),
    )
    assert again.status_code == 201, again.get_data(as_text=True)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()


def test_a_key_sent_as_a_structured_field_string_is_the_same_key(app, client, s):
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "8e03978e-40d5"))
    again = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, '"8e03978e-40d5"'))
    assert first.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_data() == first.get_data()


def test_a_replayed_action_logs_no_second_disclosure_and_emits_no_second_event(app, client, s):
    referral = s.send()
    before = counts(app)
    url = f"{REFERRALS}/{referral['id']}/accept"
    first = client.post(url, json={}, headers=keyed(s.balikpapan, "accept-once"))
    assert first.status_code == 200, first.get_data(as_text=True)
    # The recipient sees the name the consent lets it see: a read of personal data, logged.
    assert CANARY["full_name"] in first.get_data(as_text=True)
    after_first = counts(app)
    assert after_first["disclosures"] == before["disclosures"] + 1
    assert after_first["events"] == before["events"] + 1

    again = client.post(url, json={}, headers=keyed(s.balikpapan, "accept-once"))
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert counts(app) == after_first
    # Without the key the same request is a new one, refused by the state machine.
    assert client.post(url, json={}, headers=s.balikpapan).status_code == 409


def test_the_replay_holds_the_first_answer_even_after_the_resource_changed(app, client, s):
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "then-cancelled"))
    referral = first.get_json()
    cancelled = s.act(referral["id"], "cancel", s.ppu, reason="client moved away")
    assert cancelled.status_code == 200
    again = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "then-cancelled"))
    assert again.get_json()["status"] == "requested"
    assert again.get_data() == first.get_data()


def test_a_multipart_upload_retried_with_another_boundary_is_the_same_request(app, client, hub):
    headers = hub.headers(PPU, "agreements:read agreements:write")
    agreement = client.post("/api/v1/agreements", json=as_json(content()), headers=headers)
    assert agreement.status_code == 201
    url = f"/api/v1/agreements/{agreement.get_json()['id']}/documents"
    pdf = b"%PDF-1.4\n%%EOF\n" + bytes(range(256))

    def upload(data: bytes, boundary: str):
        return client.post(
            url,
            data={"file": (io.BytesIO(data), "pks.pdf", "application/pdf")},
            content_type=f"multipart/form-data; boundary={boundary}",
            headers=keyed(headers, "upload-1"),
        )

    first = upload(pdf, "boundary-one")
    assert first.status_code == 201, first.get_data(as_text=True)
    again = upload(pdf, "another-boundary-two")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    documents = client.get(url.rsplit("/", 1)[0], headers=headers).get_json()["documents"]
    assert len(documents) == 1

    other_file = upload(pdf + b"changed", "boundary-three")
    assert other_file.status_code == 422
    assert problem(other_file)["type"].endswith("/idempotency-key-reused")


# --- refusals -----------------------------------------------------------------------------


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(app, client, s):
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "one-key"))
    assert first.status_code == 201
    before = counts(app)
    other = client.post(REFERRALS, json=s.body(urgency="urgent"), headers=keyed(s.ppu, "one-key"))
    assert other.status_code == 422
    assert problem(other)["type"].endswith("/idempotency-key-reused")
    assert "Idempotent-Replayed" not in other.headers
    assert counts(app) == before


def test_the_same_key_on_another_endpoint_is_refused(app, client, s):
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "shared-key"))
    assert first.status_code == 201
    cancel = client.post(
        f"{REFERRALS}/{first.get_json()['id']}/cancel",
        json={"reason": "client moved away"},
        headers=keyed(s.ppu, "shared-key"),
    )
    assert cancel.status_code == 422
    assert problem(cancel)["type"].endswith("/idempotency-key-reused")
    assert (
        client.get(f"{REFERRALS}/{first.get_json()['id']}", headers=s.ppu).get_json()["status"]
        == "requested"
    )


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "tab\tinside", "bell\x07", "del\x7f", '"unterminated'],
    ids=["empty", "256 characters", "tab", "control", "delete", "bad structured string"],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_refused(app, client, s, key):
    before = counts(app)
    response = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, key))
    assert response.status_code == 400, response.get_data(as_text=True)
    body = problem(response)
    assert "Idempotency-Key" in body["errors"]
    assert counts(app) == before
    assert key_rows(app) == []


def test_a_key_of_255_printable_characters_is_accepted(app, client, s):
    key = ("~ !#" * 64)[:255]
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, key))
    assert first.status_code == 201, first.get_data(as_text=True)
    again = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, key))
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_refusal_is_not_kept_so_the_corrected_request_goes_through_under_the_same_key(
    app, client, s
):
    refused = client.post(
        REFERRALS, json=s.body(to="uptd-ppa-bontang"), headers=keyed(s.ppu, "fix-me")
    )
    assert refused.status_code == 422
    assert problem(refused)["type"].endswith("/no-active-agreement")
    assert key_rows(app) == []
    # The same refused request is judged again (today's rules), not replayed.
    again = client.post(
        REFERRALS, json=s.body(to="uptd-ppa-bontang"), headers=keyed(s.ppu, "fix-me")
    )
    assert again.status_code == 422
    assert "Idempotent-Replayed" not in again.headers
    fixed = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "fix-me"))
    assert fixed.status_code == 201, fixed.get_data(as_text=True)
    assert "Idempotent-Replayed" not in fixed.headers


def test_a_request_without_a_valid_token_claims_nothing(app, client, s):
    response = client.post(
        REFERRALS, json=s.body(), headers={"Authorization": "Bearer nope", "Idempotency-Key": "k"}
    )
    assert response.status_code == 401
    assert key_rows(app) == []


# --- whose key ----------------------------------------------------------------------------


def test_another_caller_with_the_same_key_is_independent(app, client, hub, s):
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "common-key"))
    assert first.status_code == 201
    # Another OAuth client of the same unit: its own key space.
    other_client = hub.headers(PPU, ALL_REFERRAL_SCOPES)
    second = client.post(REFERRALS, json=s.body(), headers=keyed(other_client, "common-key"))
    assert second.status_code == 201, second.get_data(as_text=True)
    assert "Idempotent-Replayed" not in second.headers
    assert second.get_json()["id"] != first.get_json()["id"]
    # Another organisation, another endpoint, the same key: no 422 either.
    accepted = client.post(
        f"{REFERRALS}/{first.get_json()['id']}/accept",
        json={},
        headers=keyed(s.balikpapan, "common-key"),
    )
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert counts(app)["referrals"] == 2


def test_the_caller_is_the_client_not_the_token(app, client, hub, s):
    creds = hub.oauth_client(PPU, ALL_REFERRAL_SCOPES)

    def token() -> dict[str, str]:
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    first = client.post(REFERRALS, json=s.body(), headers=keyed(token(), "per-client"))
    assert first.status_code == 201
    # The retry comes with a fresh token (the first expired during the timeout).
    again = client.post(REFERRALS, json=s.body(), headers=keyed(token(), "per-client"))
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_data() == first.get_data()


# --- lifetime -----------------------------------------------------------------------------


def test_a_key_older_than_a_day_is_forgotten(app, client, s):
    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "yesterday"))
    assert first.status_code == 201
    (row,) = key_rows(app)
    lifetime = row["expires_at"] - row["created_at"]
    assert lifetime == dt.timedelta(hours=24)
    age_keys(app, expires_at=utcnow() - dt.timedelta(seconds=1))
    later = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "yesterday"))
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later.headers
    assert later.get_json()["id"] != first.get_json()["id"]
    # The key is the new request's now.
    again = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "yesterday"))
    assert again.get_data() == later.get_data()


def test_expired_keys_are_purged_on_the_schedule(app, client, s):
    periodic = {p.name: p for p in PERIODIC}["idempotency-key-purge"]
    assert periodic.fn is tasks.purge_idempotency_keys
    assert periodic.task == "referral_hub.idempotency.tasks.purge_idempotency_keys"
    for key in ("old-1", "old-2"):
        assert client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, key)).status_code == 201
    age_keys(app, expires_at=utcnow() - dt.timedelta(minutes=1))
    assert client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "new")).status_code == 201
    with app.app_context():
        assert tasks.purge_idempotency_keys() == 2
        db.session.remove()
    assert [row["idempotency_key"] for row in key_rows(app)] == ["new"]


# --- failures release the key -------------------------------------------------------------


def test_a_server_error_releases_the_key_and_the_retry_runs(app, client, s, monkeypatch):
    def broken_view(*args, **kwargs):
        raise RuntimeError("the view broke before the commit")

    before = counts(app)
    with monkeypatch.context() as patch:
        patch.setattr(referral_ops, "referral_view", broken_view)
        failed = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "after-500"))
    assert failed.status_code == 500
    assert counts(app) == before
    assert key_rows(app) == []
    retried = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "after-500"))
    assert retried.status_code == 201, retried.get_data(as_text=True)
    assert "Idempotent-Replayed" not in retried.headers
    assert counts(app)["referrals"] == before["referrals"] + 1


def test_a_rolled_back_commit_releases_the_key(app, client, s, monkeypatch):
    real_notify = sending.notify_referral_received

    def notify_and_break_the_commit(*args, **kwargs):
        real_notify(*args, **kwargs)
        db.session.add(Disclosure(kind="read"))  # no client, no categories: the flush fails

    before = counts(app)
    with monkeypatch.context() as patch:
        patch.setattr(sending, "notify_referral_received", notify_and_break_the_commit)
        failed = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "rolled-back"))
    assert failed.status_code == 500
    assert counts(app) == before
    assert key_rows(app) == []
    retried = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "rolled-back"))
    assert retried.status_code == 201, retried.get_data(as_text=True)
    assert "Idempotent-Replayed" not in retried.headers


def test_a_request_that_committed_and_then_failed_is_not_run_again(app, client, s, monkeypatch):
    """The action was carried out but its answer was lost: a retry must not act twice."""
    referral = s.send()
    url = f"{REFERRALS}/{referral['id']}/accept"

    def broken_answer(*args, **kwargs):
        raise RuntimeError("the answer could not be built after the commit")

    with monkeypatch.context() as patch:
        # The handler's work is committed before its result is serialised (transaction.py).
        patch.setattr(flask_smorest.response, "jsonify", broken_answer)
        failed = client.post(url, json={}, headers=keyed(s.balikpapan, "accept-lost"))
    assert failed.status_code == 500
    after = counts(app)
    retried = client.post(url, json={}, headers=keyed(s.balikpapan, "accept-lost"))
    assert retried.status_code == 409
    body = problem(retried)
    assert body["type"].endswith("/idempotency-key-in-use")
    assert "carried out" in body["detail"]
    assert counts(app) == after
    status = client.get(f"{REFERRALS}/{referral['id']}", headers=s.ppu).get_json()["status"]
    assert status == "accepted"


# --- in flight ----------------------------------------------------------------------------


def test_a_second_request_while_the_first_runs_is_409_then_the_replay(
    app, s, hub, live_server, monkeypatch
):
    """Two requests at once in one process (threads of the live server)."""
    entered, go_on = threading.Event(), threading.Event()
    real_send = referral_ops.send_referral

    def slow_send(*args, **kwargs):
        entered.set()
        assert go_on.wait(30)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(referral_ops, "send_referral", slow_send)
    url = live_server + REFERRALS
    headers = keyed(s.ppu, "in-flight")
    first: dict = {}
    thread = threading.Thread(
        target=lambda: first.update(
            response=requests.post(url, json=s.body(), headers=headers, timeout=30)
        )
    )
    thread.start()
    try:
        assert entered.wait(30)
        twin = requests.post(url, json=s.body(), headers=headers, timeout=30)
        assert twin.status_code == 409, twin.text
        assert twin.json()["type"].endswith("/idempotency-key-in-use")
        assert twin.headers["Retry-After"]
        # Even a twin with another body is told about the reuse, not queued.
        other = requests.post(url, json=s.body(urgency="urgent"), headers=headers, timeout=30)
        assert other.status_code == 422
    finally:
        go_on.set()
        thread.join(30)
    assert first["response"].status_code == 201, first["response"].text
    replay = requests.post(url, json=s.body(), headers=headers, timeout=30)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first["response"].content
    assert counts(app)["referrals"] == 1


@pytest.mark.commits  # the claim outlives the failed request's rollback: its own commit
def test_a_claim_left_by_a_dead_process_is_taken_over_after_its_lease(app, client, s, monkeypatch):
    """The process died after claiming and before its handler committed: nothing was done."""

    def dies(*args, **kwargs):
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(referral_ops, "send_referral", dies)
        # A dead process releases nothing.
        patch.setattr(idem, "release_claim", lambda claim: None)
        assert (
            client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "orphan")).status_code == 500
        )
    (row,) = key_rows(app)
    assert row["state"] == "in_flight"
    assert dt.timedelta(seconds=30) <= row["lease_expires_at"] - utcnow() <= idem.LEASE

    within_lease = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "orphan"))
    assert within_lease.status_code == 409
    age_keys(app, lease_expires_at=utcnow() - dt.timedelta(seconds=1))
    taken_over = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "orphan"))
    assert taken_over.status_code == 201, taken_over.get_data(as_text=True)
    assert "Idempotent-Replayed" not in taken_over.headers
    assert counts(app)["referrals"] == 1


# --- what is stored -----------------------------------------------------------------------


def test_the_stored_answer_is_encrypted_and_follows_key_rotation(app, client, s, monkeypatch):
    import base64

    first = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "rotate-me"))
    assert CANARY["reason"] in first.get_data(as_text=True)
    (row,) = key_rows(app)
    stored = json.dumps(row, default=str)
    assert CANARY["reason"] not in stored
    assert row["response_body_ciphertext"].startswith("v1.test1.")
    assert row["response_headers"]["Location"] == first.headers["Location"]

    new_key = base64.b64encode(b"n" * 32)
    old_ring = dict(app.config["HUB_DATA_KEY_RING"])
    monkeypatch.setitem(
        app.config, "HUB_DATA_KEY_RING", {"new": base64.b64decode(new_key), **old_ring}
    )
    result = app.test_cli_runner().invoke(args=["hub", "rotate-keys"])
    assert result.exit_code == 0, result.output
    monkeypatch.setitem(app.config, "HUB_DATA_KEY_RING", {"new": base64.b64decode(new_key)})
    (row,) = key_rows(app)
    assert row["response_body_ciphertext"].startswith("v1.new.")
    again = client.post(REFERRALS, json=s.body(), headers=keyed(s.ppu, "rotate-me"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()


def test_every_post_under_api_v1_documents_the_key_and_the_replay_header(client):
    spec = client.get("/openapi.json").get_json()
    components = spec["components"]
    parameter = components["parameters"]["IdempotencyKey"]
    assert parameter["name"] == "Idempotency-Key"
    assert parameter["in"] == "header"
    assert parameter["schema"]["maxLength"] == 255
    assert components["headers"]["IdempotentReplayed"]["schema"]["enum"] == ["true"]
    posts = [
        (path, item["post"])
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/") and "post" in item
    ]
    assert len(posts) >= 20
    for path, operation in posts:
        refs = [p.get("$ref") for p in operation.get("parameters", [])]
        assert "#/components/parameters/IdempotencyKey" in refs, path
        successes = {code: r for code, r in operation["responses"].items() if code[0] == "2"}
        assert successes, path
        for code, response in successes.items():
            header = response.get("headers", {}).get("Idempotent-Replayed")
            assert header == {"$ref": "#/components/headers/IdempotentReplayed"}, (path, code)
        assert "409" in operation["responses"], path
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "post" and isinstance(operation, dict):
                refs = [p.get("$ref") for p in operation.get("parameters", [])]
                assert "#/components/parameters/IdempotencyKey" not in refs, (method, path)


def test_both_problems_are_documented(client):
    for slug in ("idempotency-key-reused", "idempotency-key-in-use"):
        assert client.get(f"/problems/{slug}").status_code == 200, slug
