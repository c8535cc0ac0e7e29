"""The referral wizard offers to record a missing consent in place, and comes back to the
referral with every choice kept and the new consent chosen."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from referral_hub.actors import Actor
from referral_hub.clients.models import local_today
from referral_hub.clients.operations import register_client
from referral_hub.extensions import db
from tests.clients_support import adult_body
from tests.portal_sender_support import PPU, SERVICE, build_world, post, signed_in


@pytest.fixture
def world(app):
    return build_world(app)


def _adult_without_consent(app) -> str:
    with app.app_context():
        body = adult_body()
        body["birth_date"] = dt.date.fromisoformat(body["birth_date"])
        client = register_client(Actor.system("tests"), organization=PPU, **body)
        db.session.commit()
        return client.id


def test_a_missing_consent_is_recorded_from_the_wizard_and_the_referral_goes_on(app, hub, world):
    client_id = _adult_without_consent(app)
    browser = signed_in(app, hub, PPU)
    chosen = {"client": client_id, "service": SERVICE, "to": world.balikpapan_id}
    basis = post(browser, "/referrals/new", {**chosen, "step": "partner", "go": "basis"})
    page = basis.get_data(as_text=True)
    assert basis.status_code == 200
    offer = re.search(r'id="consent-offer".*?href="([^"]+)"', page, re.S)
    assert offer is not None, page[:4000]
    link = htmllib.unescape(offer.group(1))
    assert parse_qs(urlsplit(link).query) == {"service": [SERVICE], "to": [world.balikpapan_id]}

    form_page = browser.get(link).get_data(as_text=True)
    # The referral's recipient and service are chosen already.
    assert re.search(rf'value="{world.balikpapan_id}" checked', form_page)
    assert re.search(rf'value="{SERVICE}" checked', form_page)
    form = {
        "given_by": "client",
        "recipients": [world.balikpapan_id],
        "services": [SERVICE],
        "data_categories": ["identity", "case_summary"],
        "method": "written",
        "valid_until": (local_today() + dt.timedelta(days=90)).isoformat(),
        "evidence_file": (io.BytesIO(b"%PDF-1.4 signed"), "formulir.pdf"),
        "service": SERVICE,
        "to": world.balikpapan_id,
    }
    recorded = post(browser, urlsplit(link).path, form)
    assert recorded.status_code == 302, recorded.get_data(as_text=True)[:3000]
    back = urlsplit(recorded.headers["Location"])
    assert back.path == "/referrals/new"
    query = parse_qs(back.query)
    assert query["client"] == [client_id]
    assert query["to"] == [world.balikpapan_id]
    assert query["service"] == [SERVICE]
    assert query["basis"] == ["consent"]
    resumed = browser.get(recorded.headers["Location"])
    text = resumed.get_data(as_text=True)
    assert resumed.status_code == 200
    # On to the data step, the consent chosen and carried, nothing asked again.
    assert '<input type="hidden" name="step" value="categories">' in text
    assert f'name="consent" value="{query["consent"][0]}"' in text
    assert 'id="error-summary"' not in text


def test_the_offer_is_not_made_when_a_usable_consent_exists(app, hub, world):
    browser = signed_in(app, hub, PPU)
    chosen = {"client": world.client_id, "service": SERVICE, "to": world.balikpapan_id}
    page = post(browser, "/referrals/new", {**chosen, "step": "partner", "go": "basis"})
    assert 'id="consent-offer"' not in page.get_data(as_text=True)
