"""Opening an invitation's link in a browser and choosing a password, as the invitee does."""

from __future__ import annotations

from tests.conftest import _csrf_from

CHOSEN_PASSWORD = "my own long password"


def accept(browser, link: str, *, name: str = "Invitee", password: str = CHOSEN_PASSWORD):
    page = browser.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return browser.post(
        link,
        data={
            "name": name,
            "password": password,
            "password_again": password,
            "csrf_token": _csrf_from(page.get_data(as_text=True)),
        },
    )
