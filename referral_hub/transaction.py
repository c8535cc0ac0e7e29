"""A request's unit of work: its handler's writes are committed, or rolled back, once.

Handlers never commit. The app's `dispatch_request` runs the view and then decides:

* the view answered below 400 (a page, a redirect, a 2xx): commit;
* the view raised, or answered 400 or above: roll back.

The commit runs inside Flask's dispatch, so a commit that fails (an integrity error, an
Idempotency-Key taken over, a lost connection) is answered by the error handlers like any
other exception instead of with the success that was about to be sent. The API's handlers
that wrote are closed a step earlier, in `requires` (oauth/server.py), where the view
returns and before flask-smorest serialises its result: the answer is read from what was
stored (versions, defaults, bulk updates), as it was when each handler committed itself;
a read-only one is not, so that its rows are not expired and loaded again to be answered.

A few writes must stand whatever the answer: a failed sign-in counted before the password
is checked, the audit of a refused attempt, a read of personal data logged on a page that
answers a refusal (4xx). They call `commit_now()`, each with its reason beside it. Work
outside requests (the CLI, rq jobs) commits for itself. The after-commit hooks (the
outbox's enqueue, the Idempotency-Key's claim) run on whichever commit this is.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask.typing import ResponseReturnValue
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

log = logging.getLogger(__name__)

#: Set on a session's `info` once its transaction has written (a flush, or any statement
#: that is not a SELECT); cleared when the transaction ends.
_WROTE = "hub.wrote"


class HubFlask(Flask):
    """Flask with the request's unit of work around each view."""

    def dispatch_request(self) -> ResponseReturnValue:
        try:
            response = self.make_response(super().dispatch_request())
        except BaseException:
            rollback()
            raise
        if response.status_code < 400:
            commit_request()
        else:
            rollback()
        return response


def commit_request() -> None:
    """Commit the request's work now that its handler succeeded; a failure is rolled back and
    raised, for the error handlers to answer."""
    from referral_hub.extensions import db

    session = db.session()
    if not session.in_transaction():
        return  # nothing read or written since the last commit
    try:
        session.commit()
    except BaseException:
        rollback()
        raise


def has_writes() -> bool:
    """Whether the request's transaction has written, or holds changes not yet flushed."""
    from referral_hub.extensions import db

    session = db.session()
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _flush_context: object) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def commit_now() -> None:
    """Commit before the request ends, for a write that must stand whatever follows (a
    refusal, a failure, a 4xx answer). Every caller says why beside the call."""
    from referral_hub.extensions import db

    db.session.commit()


def rollback() -> None:
    """Undo what the request wrote since its last commit; a dead connection has nothing left."""
    from sqlalchemy.exc import DBAPIError

    from referral_hub.extensions import db

    try:
        db.session.rollback()
    except DBAPIError as error:
        log.warning("rollback on a dead connection: %s", error.orig)


def end_session(_error: BaseException | None) -> None:
    """End the request's session; a connection that died (a database restart) is dropped.

    Its closing rollback on a dead connection raised out of Flask's teardown, and gunicorn
    replaced the answer already given (a 503 asking to come back) with a bare 500 page.
    """
    from sqlalchemy.exc import DBAPIError

    from referral_hub.extensions import db

    try:
        db.session.remove()
    except DBAPIError as error:
        # The connection is invalidated by now and leaves the pool; nothing is left to undo.
        log.warning("session ended on a dead connection: %s", error.orig)
        db.session.registry.clear()


def init_transactions(app: Flask) -> None:
    """Register the request's end: after Flask-SQLAlchemy's own teardown, so that it runs
    first (teardowns run in reverse) and ends the session quietly on a dead connection."""
    app.teardown_appcontext(end_session)


__all__ = [
    "HubFlask",
    "commit_now",
    "commit_request",
    "has_writes",
    "init_transactions",
    "rollback",
]
