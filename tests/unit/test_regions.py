"""Kemendagri regions by code and by name, from the packaged data (no database)."""

from __future__ import annotations

import pytest

from referral_hub.directory.regions import (
    RegionNotResolved,
    get_region,
    region_label,
    region_path,
    resolve_region,
    search_regions,
)


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("64", "Kalimantan Timur", 1, None),
        ("64.09", "Kabupaten Penajam Paser Utara", 2, "64"),
        ("64.09.01", "Penajam", 3, "64.09"),
        ("64.71", "Kota Balikpapan", 2, "64"),
        ("34.71", "Kota Yogyakarta", 2, "34"),
        ("35.74", "Kota Probolinggo", 2, "35"),
        ("35.74.03", "Mayangan", 3, "35.74"),
    ],
)
def test_codes_of_every_network_have_their_names(code, name, level, parent):
    region = get_region(code)
    assert (region.name, region.level, region.parent) == (name, level, parent)


def test_unknown_and_malformed_codes_have_no_region():
    assert get_region("64.99") is None
    assert get_region("6409") is None
    assert get_region("") is None
    assert get_region(None) is None


def test_a_village_is_found_by_its_code():
    village = search_regions(parent="34.71.01")[0]
    assert village.level == 4
    assert village.parent == "34.71.01"
    assert get_region(village.code) == village


def test_label_puts_the_name_beside_the_code_and_keeps_an_unknown_code():
    assert region_label("64.71") == "Kota Balikpapan (64.71)"
    assert region_label("64.99") == "64.99"
    assert region_label(None) == ""
    assert region_path("64.09.01") == "Penajam, Kabupaten Penajam Paser Utara, Kalimantan Timur"


def test_search_by_name_finds_the_regency_first():
    assert search_regions("balikpapan")[0].code == "64.71"
    assert [r.code for r in search_regions("probolinggo")][:2] == ["35.13", "35.74"]
    assert search_regions("Kota Probolinggo")[0].code == "35.74"


def test_search_by_code_prefix_parent_and_level():
    assert [r.code for r in search_regions("64.7", level=2)] == ["64.71", "64.72", "64.74"]
    assert "64.71.01" in [r.code for r in search_regions("64.7")]
    assert [r.code for r in search_regions(parent="35.74")] == [f"35.74.0{i}" for i in range(1, 6)]
    assert {r.level for r in search_regions(level=1)} == {1}
    assert len(search_regions(level=1)) == 38
    assert search_regions("penajam", parent="64.09", level=3)[0].code == "64.09.01"


def test_resolve_takes_a_code_a_label_or_an_unambiguous_name():
    assert resolve_region("64.09").code == "64.09"
    assert resolve_region("Kota Balikpapan (64.71)").code == "64.71"
    assert resolve_region("kota yogyakarta").code == "34.71"
    assert resolve_region("Balikpapan").code == "64.71"


def test_resolve_refuses_an_ambiguous_or_unknown_name_with_candidates():
    with pytest.raises(RegionNotResolved) as ambiguous:
        resolve_region("Probolinggo", levels=(2,))
    assert {r.code for r in ambiguous.value.candidates} == {"35.13", "35.74"}
    with pytest.raises(RegionNotResolved) as unknown:
        resolve_region("Atlantis")
    assert unknown.value.candidates == []
    with pytest.raises(RegionNotResolved):
        resolve_region("64.99")
    with pytest.raises(RegionNotResolved):
        resolve_region("64", levels=(2, 3))
