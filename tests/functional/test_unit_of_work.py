"""A request's writes are committed once, by the request, or not at all (transaction.py).

Handlers never commit: one that answers below 400 is committed; one that raises, or answers
400 or above, leaves nothing. A refusal handed to a portal form rolls back what the
attempt wrote, and a 403 or 404 still goes to the error page. A write that must stand
whatever follows (`commit_now`, e.g. the audit of a refused attempt) lands.
"""

from __future__ import annotations

import pytest
from flask import render_template_string
from sqlalchemy import select

from referral_hub import create_app
from referral_hub.directory.models import Service
from referral_hub.extensions import db
from referral_hub.portal.forms import FormState
from referral_hub.problems import Problem
from referral_hub.transaction import commit_now


def _write(code: str) -> None:
    db.session.add(Service(code=code, name_id=code, name_en=code))
    db.session.flush()


def _refuse(status: int) -> None:
    raise Problem(status, "validation-error" if status == 422 else "forbidden", "refused")


@pytest.fixture(scope="module")
def uow_app(app, app_config):
    """An app of its own, with routes that write and then succeed, refuse or fail."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": False})

    @app.post("/t/ok")
    def ok():
        _write("uow-ok")
        return "done"

    @app.post("/t/redirect")
    def redirected():
        _write("uow-redirect")
        return "", 303, {"Location": "/"}

    @app.post("/t/problem")
    def problem():
        _write("uow-problem")
        _refuse(409)

    @app.post("/t/crash")
    def crash():
        _write("uow-crash")
        raise RuntimeError("mid-request")

    @app.post("/t/answered-422")
    def answered_422():
        _write("uow-422")
        return "no", 422

    @app.post("/t/form/<int:status>")
    def form(status: int):
        state = FormState()
        _write("uow-before")
        try:
            _write("uow-partial")
            _refuse(status)
        except Problem as problem:
            state.refused(problem)
        _write("uow-after")  # what the page writes after the refusal is the page's own
        commit_now()
        return render_template_string("{{ form.message }}", form=state), 422

    @app.post("/t/kept-before-refusal")
    def kept():
        _write("uow-kept")
        commit_now()
        _refuse(403)

    @app.post("/t/duplicate")
    def duplicate():
        db.session.add(Service(code="uow-dup", name_id="x", name_en="x"))
        db.session.add(Service(code="uow-dup-2", name_id="x", name_en="x"))
        db.session.flush()
        db.session.get(Service, "uow-dup-2").code = "uow-dup"  # fails at the commit's flush
        return "said done"

    return app


def _codes(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Service.code).where(Service.code.like("uow-%"))))


def test_a_handler_that_succeeds_is_committed_without_calling_commit(uow_app):
    client = uow_app.test_client()
    assert client.post("/t/ok").status_code == 200
    assert client.post("/t/redirect").status_code == 303
    assert _codes(uow_app) == {"uow-ok", "uow-redirect"}


@pytest.mark.parametrize("path", ["/t/problem", "/t/crash", "/t/answered-422"])
def test_a_refusal_a_failure_or_a_4xx_answer_leaves_nothing(uow_app, path):
    response = uow_app.test_client().post(path, headers={"Accept": "application/json"})
    assert response.status_code in (409, 500, 422)
    assert _codes(uow_app) == set()


def test_a_refused_form_rolls_back_what_its_attempt_wrote(uow_app):
    response = uow_app.test_client().post("/t/form/422")
    assert response.status_code == 422
    assert b"refused" in response.data or response.data  # the refusal is in the page
    # Everything before the refusal is gone; what the page wrote after it was kept on purpose.
    assert _codes(uow_app) == {"uow-after"}


@pytest.mark.parametrize("status", [403, 404])
def test_a_page_not_the_users_still_answers_with_the_error_page(uow_app, status):
    response = uow_app.test_client().post(f"/t/form/{status}", headers={"Accept": "text/html"})
    assert response.status_code == status
    assert _codes(uow_app) == set()


def test_a_deliberate_commit_before_a_refusal_lands(uow_app):
    response = uow_app.test_client().post("/t/kept-before-refusal")
    assert response.status_code == 403
    assert _codes(uow_app) == {"uow-kept"}


def test_a_commit_that_fails_is_answered_as_a_failure_not_as_the_success(uow_app):
    response = uow_app.test_client().post("/t/duplicate", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert _codes(uow_app) == set()
