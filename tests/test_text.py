"""Pure helpers: author lists, entities, per-author alignment, year selections."""

from __future__ import annotations

import pytest

from talent_tracker.errors import UserError
from talent_tracker.sources.alignment import align
from talent_tracker.sources.text import clean, split_authors
from talent_tracker.years import parse_years


@pytest.mark.fast
@pytest.mark.parametrize("text, names", [
    ("Lijun Zhang; Zhi-Hua Zhou", ["Lijun Zhang", "Zhi-Hua Zhou"]),
    ("Boaz Barak, Chi-Ning Chou", ["Boaz Barak", "Chi-Ning Chou"]),
    ("Karel D&#x27;Oosterlinck, Amir Feder", ["Karel D'Oosterlinck", "Amir Feder"]),
    ("Zhangyang &quot;Atlas&quot; Wang, Yingbin Liang", ['Zhangyang "Atlas" Wang', "Yingbin Liang"]),
    ("Nathan H. Brown; Jr.", ["Nathan H. Brown Jr."]),
    ("", []),
])
def test_split_authors(text, names):
    assert split_authors(text)[0] == names


@pytest.mark.fast
def test_clean_unescapes_twice():
    assert clean("d&amp;#x27;Autume") == "d'Autume"


@pytest.mark.fast
def test_alignment_rules():
    assert align(["a", "b"], [True, True], [None, None]) == ({0: 0, 1: 1}, "positional")
    assert align(["a", "b"], [True, False, True], [None] * 3) == ({0: 0, 2: 1}, "profile_order")
    # four profiled authors, three entries: only an entry matching known evidence is placed
    assert align(["X", "Y", "Z"], [True] * 4, [frozenset({"X"}), None, None, frozenset({"Z"})]) == ({0: 0, 3: 2}, "evidence")
    assert align(["X", "Y"], [True] * 3, [None] * 3) == ({}, None)
    assert align(["a", "b", "c"], [True, True], [None, None]) == ({}, None)


@pytest.mark.fast
def test_years():
    assert parse_years("2010-2012,2019") == [2010, 2011, 2012, 2019]
    with pytest.raises(UserError):
        parse_years("2012-2010")
