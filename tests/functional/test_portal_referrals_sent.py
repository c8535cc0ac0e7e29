"""The sender's referral pages: wizard, sent list, detail, actions, letter, start-page panel.

Each rule of the wizard is met through the page exactly as a caseworker would (CSRF on),
and the refusals come from send_referral itself, shown beside the field they concern.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from referral_hub.actors import Actor
from referral_hub.clients.models import Disclosure
from referral_hub.clients.operations import withdraw_consent
from referral_hub.extensions import db
from referral_hub.referrals.models import Referral
from tests.clients_support import CANARY
from tests.portal_sender_support import (
    BALIKPAPAN,
    BONTANG,
    CHRONOLOGY,
    HEALTH,
    JUSTIFICATION,
    POLRES,
    PPU,
    SENDER_REFERENCE,
    field_error,
    post,
    referral_form,
    signed_in,
)
from tests.portal_sender_support import build_world as _build_world

#: Shared with the recipient in the standard form: identity, case summary, the reason.
RECIPIENT_SEES = (CANARY["full_name"], CANARY["nik"], CHRONOLOGY, CANARY["reason"])
#: Never in what the recipient sees: contact, guardian, the consent giver, the sender's own.
NEVER_FOR_RECIPIENT = (
    CANARY["phone"],
    CANARY["address"],
    CANARY["guardian_name"],
    CANARY["guardian_phone"],
    CANARY["giver_name"],
    HEALTH,
    JUSTIFICATION,
    SENDER_REFERENCE,
)


@pytest.fixture
def world(app):
    return _build_world(app)


def _referrals(app) -> list[SimpleNamespace]:
    """The stored referrals, read (and decrypted) in an app context."""
    with app.app_context():
        rows = [
            SimpleNamespace(
                id=r.id,
                number=r.number,
                status=r.status,
                status_reason=r.status_reason,
                urgency=r.urgency,
                consent_id=r.consent_id,
                legal_basis=r.legal_basis,
                override_approved_by_id=r.override_approved_by_id,
                data_categories=r.data_categories,
                case_data=r.case_data,
            )
            for r in db.session.scalars(select(Referral).order_by(Referral.created_at))
        ]
        db.session.remove()
        return rows


def _send(browser, world, **changes):
    return post(browser, "/referrals/new", referral_form(world, **changes))


# --- who may open the pages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("org", "role"),
    [(POLRES, "caseworker"), (PPU, "org_admin"), (PPU, "auditor"), ("dp3a-kaltim", "auditor")],
)
def test_sender_pages_are_closed_to_partners_admins_and_auditors(app, hub, org, role):
    browser = signed_in(app, hub, org, role)
    for path in ("/referrals/sent", "/referrals/new"):
        assert browser.get(path).status_code == 403, path
    assert "Rujukan keluar" not in browser.get("/").get_data(as_text=True)


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/referrals/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- the wizard ----------------------------------------------------------------------------


def test_wizard_walks_every_step_and_sends(app, hub, world):
    browser = signed_in(app, hub, PPU)
    html = browser.get(f"/referrals/new?client={world.client_id}").get_data(as_text=True)
    assert 'aria-current="step"' in html
    assert 'value="psychological_counseling"' in html  # started at the service step
    steps = [
        ("service", {"service": "psychological_counseling"}, "partner"),
        ("partner", {"to": world.balikpapan_id}, "basis"),
        ("basis", {"basis": "consent", "consent": world.consent_id}, "categories"),
        ("categories", {"data_categories": ["identity", "case_summary"]}, "details"),
    ]
    state = {"client": world.client_id}
    for step, values, following in steps:
        state.update(values)
        response = post(browser, "/referrals/new", {**state, "step": step, "go": following})
        assert response.status_code == 200, (step, response.get_data(as_text=True)[:2000])
        assert f'name="step" value="{following}"' in response.get_data(as_text=True)
    state.update({"urgency": "urgent", "reason": CANARY["reason"], "cs_violence_types": ["sexual"]})
    review = post(browser, "/referrals/new", {**state, "step": "details", "go": "review"})
    html = review.get_data(as_text=True)
    assert review.status_code == 200, html[:2000]
    assert CANARY["full_name"] in html  # identity is shared
    assert CANARY["phone"] not in html  # contact is not
    sent = post(browser, "/referrals/new", {**state, "step": "review", "go": "send"})
    assert sent.status_code == 302
    [referral] = _referrals(app)
    assert sent.headers["Location"] == f"http://localhost/referrals/{referral.id}"
    assert referral.status == "requested"
    assert referral.urgency == "urgent"
    assert referral.consent_id == world.consent_id
    assert referral.data_categories == ["demographics", "identity", "case_summary"]
    assert referral.case_data == {"case_summary": {"violence_types": ["sexual"]}}


def test_going_back_keeps_what_was_chosen_and_checks_nothing(app, hub, world):
    browser = signed_in(app, hub, PPU)
    form = referral_form(world, step="details", go="basis", reason="")
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    assert 'name="step" value="basis"' in html
    assert f'value="{world.consent_id}" checked' in html
    assert "Periksa kembali" not in html
    # The later steps' choices travel along, hidden.
    assert 'type="hidden" name="data_categories" value="identity"' in html


def test_categories_step_offers_only_what_agreement_and_consent_both_allow(app, hub, world):
    browser = signed_in(app, hub, PPU)
    form = referral_form(world, step="basis", go="categories", data_categories=None)
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    offered = set(re.findall(r'name="data_categories" value="([a-z_]+)"', html))
    assert offered == {"identity", "case_summary"}
    # The others are named with the reason they are not offered.
    refused = html.split("Tidak dapat dibagikan", 1)[1]
    assert "Kontak</strong>: Persetujuan klien tidak mencakup data ini." in refused
    assert "Hukum</strong>: Perjanjian TEST/PKS/001 tidak mengizinkan." in refused
    assert "Kesehatan</strong>: Persetujuan klien tidak mencakup data ini." in refused


def test_a_category_outside_the_consent_is_refused_beside_the_field(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = _send(browser, world, data_categories=["identity", "contact"])
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'name="step" value="categories"' in html
    assert "Kontak" in field_error(html, "data_categories")
    assert _referrals(app) == []


def test_only_partners_that_coverage_allows_are_offered(app, hub, world):
    browser = signed_in(app, hub, PPU)
    form = referral_form(world, step="service", go="partner", to=None)
    html = post(browser, "/referrals/new", form).get_data(as_text=True)
    offered = re.findall(r'name="to" value="([^"]+)"', html)
    assert offered == [world.balikpapan_id]
    assert "TEST/PKS/001" in html
    assert "Waktu jawab: 72 jam" in html
    assert "Kapasitas: Tersedia" in html  # the provider's offer of the service, from the directory
    # A service without an agreement is not offered at all.
    service_html = post(
        browser, "/referrals/new", referral_form(world, step="client", go="service")
    )
    services = re.findall(r'name="service" value="([^"]+)"', service_html.get_data(as_text=True))
    assert services == ["psychological_counseling"]


def test_a_recipient_without_agreement_is_refused_by_the_operation(app, hub, world):
    browser = signed_in(app, hub, PPU)
    with app.app_context():
        from referral_hub.directory.operations import find_organization

        bontang = find_organization(BONTANG).id
    response = _send(browser, world, to=bontang)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'name="step" value="partner"' in html
    assert field_error(html, "to")
    assert _referrals(app) == []


def test_a_caseworkers_override_waits_for_a_supervisor_a_supervisors_is_sent(app, hub, world):
    override = {
        "basis": "override",
        "consent": None,
        "legal_basis": "legal_obligation",
        "justification": JUSTIFICATION,
    }
    caseworker = signed_in(app, hub, PPU)
    basis_step = post(
        caseworker, "/referrals/new", referral_form(world, step="partner", go="basis")
    )
    html = basis_step.get_data(as_text=True)
    assert not re.search(r'id="f-basis-override" name="basis" value="override"[^>]* disabled', html)
    assert "harus disetujui sendiri oleh supervisor" in html
    review = post(
        caseworker, "/referrals/new", referral_form(world, step="details", go="review", **override)
    )
    assert "Ajukan untuk persetujuan supervisor" in review.get_data(as_text=True)
    waiting = _send(caseworker, world, **override)
    assert waiting.status_code == 302
    page = caseworker.get(waiting.headers["Location"]).get_data(as_text=True)
    assert "menunggu persetujuan supervisor" in page
    assert "Belum dikirim" in page
    [draft] = _referrals(app)
    assert (draft.status, draft.legal_basis, draft.consent_id) == (
        "draft",
        "legal_obligation",
        None,
    )
    assert draft.override_approved_by_id is None

    supervisor = signed_in(app, hub, PPU, "supervisor")
    assert _send(supervisor, world, **override).status_code == 302
    sent = _referrals(app)[-1]
    assert (sent.status, sent.legal_basis) == ("requested", "legal_obligation")
    assert sent.override_approved_by_id == supervisor.user["id"]


def test_a_consent_withdrawn_before_sending_is_shown_beside_the_consent(app, hub, world):
    browser = signed_in(app, hub, PPU)
    review = post(browser, "/referrals/new", referral_form(world, step="details", go="review"))
    assert review.status_code == 200
    with app.app_context():
        withdraw_consent(Actor.system("tests"), world.consent_id, "client changed her mind")
        db.session.commit()
    response = _send(browser, world)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'name="step" value="basis"' in html
    assert field_error(html, "consent")
    assert _referrals(app) == []


def test_case_data_required_by_the_api_is_asked_beside_its_field(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = _send(browser, world, cs_violence_types=None, reason="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'name="step" value="details"' in html
    assert field_error(html, "reason") == "Wajib diisi."
    # Once the reason is there, the schema's own rule for the case summary speaks.
    response = _send(browser, world, cs_violence_types=None)
    assert field_error(response.get_data(as_text=True), "cs_violence_types")


def test_the_review_shows_exactly_what_the_recipient_will_see(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = post(browser, "/referrals/new", referral_form(world, step="details", go="review"))
    html = response.get_data(as_text=True)
    seen = html.split('class="panel recipient-view"', 1)[1].split("</section>", 1)[0]
    for value in RECIPIENT_SEES:
        assert value in seen, value
    for value in NEVER_FOR_RECIPIENT:
        assert value not in seen, value
    # The sender's own reference is on the page, outside what the recipient sees.
    assert SENDER_REFERENCE in html
    # Showing the client's identity to the sender is an owner's read, and it is logged.
    with app.app_context():
        reads = db.session.scalars(
            select(Disclosure).where(Disclosure.context == "portal referral review")
        ).all()
        assert [r.categories for r in reads] == [["identity"]]


def test_a_client_of_another_unit_cannot_be_referred(app, hub, world):
    browser = signed_in(app, hub, BONTANG)
    response = _send(browser, world)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "client")
    assert _referrals(app) == []


def test_sending_without_a_csrf_token_is_refused(app, hub, world):
    browser = signed_in(app, hub, PPU)
    response = browser.post("/referrals/new", data=referral_form(world))
    assert response.status_code == 400
    assert _referrals(app) == []


# --- sent list, detail, actions --------------------------------------------------------------


def _sent(app, hub, world, role="caseworker"):
    browser = signed_in(app, hub, PPU, role)
    response = _send(browser, world)
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return browser, response.headers["Location"].rsplit("/", 1)[1]


def test_sent_list_and_panel_show_the_referral_without_personal_data(app, hub, world):
    browser, _ = _sent(app, hub, world)
    [referral] = _referrals(app)
    for path in ("/referrals/sent", "/", "/referrals/sent?status=requested"):
        html = browser.get(path).get_data(as_text=True)
        assert referral.number in html, path
        assert "Rujukan keluar" in html
        for value in (*RECIPIENT_SEES, *NEVER_FOR_RECIPIENT):
            assert value not in html, (path, value)
    assert referral.number not in browser.get("/referrals/sent?status=accepted").get_data(
        as_text=True
    )


def test_overdue_referrals_come_first_and_are_marked(app, hub, world):
    import datetime as dt

    from referral_hub.referrals.operations import send_referral

    browser, _ = _sent(app, hub, world)
    with app.app_context():
        from referral_hub.accounts.models import User

        actor = Actor.for_user(db.session.get(User, browser.user["id"]))
        late = send_referral(
            actor,
            {
                "client": world.client_id,
                "consent": world.consent_id,
                "to": BALIKPAPAN,
                "service": "psychological_counseling",
                "reason": "late one",
                "data_categories": [],
            },
            at=dt.datetime.now(dt.UTC) - dt.timedelta(days=5),
        )
        number = late.number
        db.session.commit()
    html = browser.get("/referrals/sent").get_data(as_text=True)
    rows = re.findall(
        r"<tr( class=\"late\")?>\s*<td data-label=\"Nomor\"><a [^>]+>([^<]+)</a>", html
    )
    assert rows[0] == (' class="late"', number)
    assert len(rows) == 2
    assert "Terlambat" in browser.get("/").get_data(as_text=True)


def test_detail_shows_the_sender_everything_and_logs_the_read(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    html = browser.get(f"/referrals/{referral_id}").get_data(as_text=True)
    for value in (CANARY["full_name"], CANARY["phone"], CHRONOLOGY, SENDER_REFERENCE):
        assert value in html
    assert "Terlihat oleh penerima saat ini" in html
    assert "Rujukan dikirim" in html  # the timeline
    with app.app_context():
        contexts = db.session.scalars(select(Disclosure.context)).all()
        assert any(c.endswith(" read") and c.startswith("referral:") for c in contexts)


def test_another_unit_gets_404(app, hub, world):
    _, referral_id = _sent(app, hub, world)
    for org in (BONTANG, POLRES):
        other = signed_in(app, hub, org)
        for path in (f"/referrals/{referral_id}", f"/referrals/{referral_id}/letter"):
            response = other.get(path)
            assert response.status_code == 404, (org, path)
            assert CANARY["full_name"] not in response.get_data(as_text=True)
        cancel = post(other, f"/referrals/{referral_id}/cancel", {"reason": "not mine"})
        assert cancel.status_code == 404


def test_the_recipient_is_sent_to_its_own_minimised_page(app, hub, world):
    _, referral_id = _sent(app, hub, world)
    recipient = signed_in(app, hub, BALIKPAPAN)
    response = recipient.get(f"/referrals/{referral_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"http://localhost/referrals/received/{referral_id}"
    cancel = post(recipient, f"/referrals/{referral_id}/cancel", {"reason": "not mine"})
    assert cancel.status_code == 404


def test_cancel_needs_a_reason_and_is_done_by_the_operation(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    empty = post(browser, f"/referrals/{referral_id}/cancel", {"reason": "  "})
    assert empty.status_code == 422
    assert "Wajib diisi." in empty.get_data(as_text=True)
    assert _referrals(app)[0].status == "requested"
    done = post(browser, f"/referrals/{referral_id}/cancel", {"reason": "klien pindah"})
    assert done.status_code == 302
    [referral] = _referrals(app)
    assert (referral.status, referral.status_reason) == ("cancelled", "klien pindah")
    again = post(browser, f"/referrals/{referral_id}/cancel", {"reason": "twice"})
    assert again.status_code == 409
    assert "cancelled" in again.get_data(as_text=True) or "dibatalkan" in again.get_data(
        as_text=True
    )


def test_entered_in_error_asks_for_confirmation_first(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    path = f"/referrals/{referral_id}/enter-in-error"
    asked = post(browser, path, {"reason": "klien yang salah"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert 'name="confirmed" value="1"' in html
    assert _referrals(app)[0].status == "requested"
    done = post(browser, path, {"reason": "klien yang salah", "confirmed": "1"})
    assert done.status_code == 302
    assert _referrals(app)[0].status == "entered-in-error"


# --- Surat Rujukan -----------------------------------------------------------------------------


def test_letter_holds_only_what_the_recipient_may_see(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    [referral] = _referrals(app)
    response = browser.get(f"/referrals/{referral_id}/letter")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "SURAT RUJUKAN" in html
    for value in (referral.number, "TEST/PKS/001", "UPTD PPA Kota Balikpapan", *RECIPIENT_SEES):
        assert value in html, value
    for value in NEVER_FOR_RECIPIENT:
        assert value not in html, value
    # The recipient prints the very same letter.
    recipient = signed_in(app, hub, BALIKPAPAN)
    theirs = recipient.get(f"/referrals/{referral_id}/letter").get_data(as_text=True)
    for value in NEVER_FOR_RECIPIENT:
        assert value not in theirs, value
    assert CANARY["full_name"] in theirs


def test_letter_after_withdrawal_shows_only_demographics(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    with app.app_context():
        withdraw_consent(Actor.system("tests"), world.consent_id, "withdrawn")
        db.session.commit()
    html = browser.get(f"/referrals/{referral_id}/letter").get_data(as_text=True)
    for value in (*RECIPIENT_SEES, *NEVER_FOR_RECIPIENT):
        assert value not in html, value
    assert world.client_code in html


def test_printing_the_letter_is_logged_as_the_senders_read(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Disclosure))
    browser.get(f"/referrals/{referral_id}/letter")
    with app.app_context():
        rows = db.session.scalars(
            select(Disclosure).where(Disclosure.context.like("referral:% letter"))
        ).all()
        after = db.session.scalar(select(func.count()).select_from(Disclosure))
    assert after == before + 1
    assert [(r.basis, sorted(r.categories)) for r in rows] == [
        ("owner", ["case_summary", "identity"])
    ]


def test_the_pages_speak_english_when_chosen(app, hub, world):
    browser, referral_id = _sent(app, hub, world)
    assert post(browser, "/language", {"locale": "en", "next": "/"}).status_code == 302
    review = post(browser, "/referrals/new", referral_form(world, step="details", go="review"))
    html = review.get_data(as_text=True)
    assert "Review and send" in html
    assert "What UPTD PPA Kota Balikpapan sees" in html
    assert "Periksa dan kirim" not in html
    letter = browser.get(f"/referrals/{referral_id}/letter").get_data(as_text=True)
    assert "REFERRAL LETTER" in letter
    assert "Psychological counselling" in letter
