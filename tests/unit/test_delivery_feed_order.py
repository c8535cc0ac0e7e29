"""The feed never skips an event whose transaction committed after a later one was read.

On PostgreSQL a transaction can insert first and commit last; positions handed out at
insert would let a reader pass it by. These tests make that happen with real concurrent
transactions (on SQLite the second writer waits for the first, which they also cover).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from referral_hub.actors import Actor
from referral_hub.delivery.operations import events_after
from referral_hub.delivery.outbox import emit
from referral_hub.directory.operations import find_organization
from referral_hub.extensions import db

#: Commits for real: writers and a reader on connections of their own.
pytestmark = pytest.mark.commits


@pytest.fixture
def ctx(app_ctx):
    db.engine.dispose()  # no pooled connection kept on an old snapshot by earlier tests
    bpp = find_organization("uptd-ppa-balikpapan").id
    return {
        "engine": db.engine,
        "bpp": bpp,
        "reader": Actor(organization_id=bpp, kind="client", client_id="reader"),
    }


def _emit_in(session: Session, org_id: str, label: str) -> str:
    item = emit(
        Actor.system("tests"),
        "referral.requested",
        subject_type="referral",
        subject_id=label,
        organizations=[org_id],
        data={"referral_id": label},
        session=session,
    )
    return item.id


class FeedReader:
    """A partner polling the feed with its cursor, remembering everything it was given."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self.cursor: str | None = None
        self.seen: list[str] = []

    def poll(self) -> None:
        db.session.rollback()  # a fresh snapshot each time, as a new request would have
        page = events_after(self.actor, self.cursor, 100)
        self.seen += [item.subject_id for item in page["items"]]
        self.cursor = page["next_cursor"]


def test_a_transaction_that_inserted_first_but_commits_last_is_not_skipped(ctx):
    reader = FeedReader(ctx["reader"])
    early = Session(ctx["engine"])
    _emit_in(early, ctx["bpp"], "early")
    early.flush()  # the row exists (uncommitted) before the other transaction starts

    def later_transaction():
        with Session(ctx["engine"]) as late:
            _emit_in(late, ctx["bpp"], "late")
            late.commit()

    thread = threading.Thread(target=later_transaction)
    thread.start()
    thread.join(2)  # PostgreSQL: it commits now; SQLite: it waits for the write lock
    reader.poll()
    early.commit()
    early.close()
    thread.join(30)
    reader.poll()
    reader.poll()
    assert sorted(reader.seen) == ["early", "late"]
    assert len(reader.seen) == 2


def test_positions_follow_commit_order_while_a_reader_polls(ctx):
    """A slow commit holds the position lock; later commits queue behind it, never before."""
    reader = FeedReader(ctx["reader"])
    slow = Session(ctx["engine"])
    numbered = threading.Event()

    @sa_event.listens_for(slow, "after_flush_postexec")
    def _linger(session, flush_context):
        if any(e.seq for e in session.identity_map.values() if hasattr(e, "seq")):
            numbered.set()
            time.sleep(0.6)  # positions given, transaction not yet committed

    def slow_commit():
        _emit_in(slow, ctx["bpp"], "slow")
        slow.commit()
        slow.close()

    def quick_commits():
        numbered.wait(5)
        for n in range(3):
            with Session(ctx["engine"]) as quick:
                _emit_in(quick, ctx["bpp"], f"quick{n}")
                quick.commit()

    threads = [threading.Thread(target=slow_commit), threading.Thread(target=quick_commits)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        reader.poll()
        time.sleep(0.01)
    reader.poll()
    assert sorted(reader.seen) == ["quick0", "quick1", "quick2", "slow"]
    assert reader.seen[0] == "slow"
