"""Regions are plain data: every ISO 3166 country has exactly one, looked up by its code."""

from __future__ import annotations

import pycountry
import pytest

from talent_tracker import regions


@pytest.mark.fast
def test_every_iso_country_has_a_region():
    table = regions.regions()
    missing = [c.alpha_2 for c in pycountry.countries if c.alpha_2 not in table]
    assert missing == []
    # the one key that is no ISO 3166-1 country: Kosovo's user-assigned code, used by the EU
    assert sorted(c for c in table if pycountry.countries.get(alpha_2=c) is None) == ["XK"]


@pytest.mark.fast
def test_the_united_kingdom_and_greece_are_in_europe():
    assert regions.region_of("GB") == "Europe" and regions.region_of("GR") == "Europe"
    assert {"GB", "GR", "FR", "DE"} <= set(regions.group("europe"))


@pytest.mark.fast
def test_keys_are_codes_not_patterns():
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in regions.regions())
