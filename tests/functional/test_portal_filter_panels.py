"""The intake and referral lists fold their filters under one line, as the cases list does,
so a phone shows the list first: folded while no filter is in force, open when one is set
or refused; the quick links and tabs stay outside the fold."""

from __future__ import annotations

import re

import pytest

from tests.intake_support import PPU

PAGES = {
    "/intakes": ("Cari dan saring aduan", "Masuk ke unit"),
    "/intakes?box=sent": ("Cari dan saring aduan", "Yang kami kirim"),
    "/referrals/sent": ("Cari dan saring rujukan", None),
    "/referrals/received": ("Cari dan saring rujukan", "menunggu jawaban"),
}


def _panel(html: str) -> tuple[str, str]:
    """The panel's opening tag and its content."""
    match = re.search(r'(<details class="filter-panel"[^>]*>)(.*?)</details>', html, re.S)
    assert match, "no filter panel"
    return match.group(1), match.group(2)


@pytest.fixture
def unit(client, hub):
    hub.login(client, hub.user(PPU, "caseworker", "panels@ppu.example")["email"])
    return client


@pytest.mark.parametrize("path", PAGES)
def test_the_filters_are_folded_without_a_filter(unit, path):
    summary, outside = PAGES[path]
    html = unit.get(path).get_data(as_text=True)
    tag, content = _panel(html)
    assert " open" not in tag
    assert f"<summary>{summary}</summary>" in content
    assert 'name="status"' in content
    assert 'name="number"' in content
    if outside:
        assert outside in html
        assert outside not in content


@pytest.mark.parametrize("path", PAGES)
def test_the_panel_is_open_while_a_filter_is_in_force(unit, path):
    sep = "&" if "?" in path else "?"
    response = unit.get(f"{path}{sep}number=000042")
    assert response.status_code == 200
    tag, content = _panel(response.get_data(as_text=True))
    assert " open" in tag
    assert 'value="000042"' in content


@pytest.mark.parametrize("path", PAGES)
def test_the_panel_is_open_with_a_refused_filter_and_its_message(unit, path):
    sep = "&" if "?" in path else "?"
    response = unit.get(f"{path}{sep}status=nonsense")
    assert response.status_code == 422
    tag, content = _panel(response.get_data(as_text=True))
    assert " open" in tag
    assert "field-error" in content
