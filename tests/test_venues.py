"""The tier mapping: which labels count as accepted and as oral, per venue and year."""

from __future__ import annotations

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.errors import UserError
from talent_tracker.venues import load_venues

from conftest import PAPERLISTS, one, query


def tiers(db, venue, year):
    return dict(query(db, "SELECT coalesce(tier, 'none'), count(*) FROM papers WHERE venue=? AND year=? GROUP BY ALL",
                      [venue, year]))


@pytest.mark.realdata
def test_icml_2018_2019_oral_label_is_not_a_distinction(full_db):
    for year in (2018, 2019):
        assert tiers(full_db, "icml", year).get("top2") is None
        assert one(full_db, "SELECT oral_known FROM venue_years WHERE venue='icml' AND year=?", [year]) is False
    assert tiers(full_db, "icml", 2018)["top20"] == 621


@pytest.mark.realdata
def test_icml_2021_spotlight_is_ordinary(full_db):
    assert tiers(full_db, "icml", 2021) == {"top2": 166, "top20": 1017}


@pytest.mark.realdata
def test_neurips_2022_highlighted_is_oral_and_main_track_only(full_db):
    t = tiers(full_db, "neurips", 2022)
    assert t["top2"] == 183  # main-track Highlighted; the 16 D&B ones are not counted
    assert t["top2"] + t["top20"] == 2672
    rows = dict(query(full_db, "SELECT status, bool_or(accepted) FROM papers WHERE venue='neurips' AND year=2022 "
                               "AND (status='Journal' OR track='Datasets & Benchmarks') GROUP BY ALL"))
    assert rows == {"Journal": False, "Poster": False, "Highlighted": False}


@pytest.mark.realdata
def test_iclr_2023_top5_is_oral_and_top25_is_top20(full_db):
    got = dict(query(full_db, "SELECT status, tier FROM papers WHERE venue='iclr' AND year=2023 AND accepted "
                              "GROUP BY ALL"))
    assert got == {"Top-5%": "top2", "Top-25%": "top20", "Poster": "top20"}
    assert tiers(full_db, "iclr", 2023)["top2"] == 91


@pytest.mark.realdata
def test_iclr_2020_talk_is_oral_and_workshops_are_not_accepted(full_db):
    assert tiers(full_db, "iclr", 2020)["top2"] == 48
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue='iclr' AND status LIKE '%Workshop%' AND accepted") == 0
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue='iclr' AND year=2018 AND status='Workshop'") == 90


@pytest.mark.realdata
def test_years_without_oral_label_have_no_top2(full_db):
    rows = query(full_db, "SELECT venue, year FROM venue_years WHERE NOT oral_known ORDER BY 1, 2")
    assert ("neurips", 1987) in rows and ("neurips", 2012) in rows and ("neurips", 2013) not in rows
    assert one(full_db, "SELECT count(*) FROM papers p JOIN venue_years v USING (venue, year) "
                        "WHERE NOT v.oral_known AND p.tier='top2'") == 0


@pytest.mark.realdata
def test_authorship_tiers_follow_their_paper(full_db):
    assert one(full_db, "SELECT count(*) FROM authorships a JOIN papers p USING (venue, year, paper_id) "
                        "WHERE a.tier IS DISTINCT FROM p.tier OR a.accepted <> p.accepted") == 0
    assert one(full_db, "SELECT count(*) FROM authorships WHERE NOT accepted AND tier IS NOT NULL") == 0


@pytest.mark.realdata
def test_user_override_pools_datasets_track(tmp_path, full_db):
    override = tmp_path / "venues.toml"
    override.write_text('[neurips]\ntracks = ["main", "Datasets & Benchmarks"]\n')
    db = tmp_path / "pooled.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips"],
          years="2021", venues_file=override)
    before = one(full_db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2021 AND accepted")
    after = one(db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2021 AND accepted")
    assert after - before == 174  # the accepted Datasets & Benchmarks posters


@pytest.mark.fast
def test_user_year_rule_comes_first(tmp_path):
    override = tmp_path / "venues.toml"
    override.write_text('[[icml.years]]\nrange = "2019"\noral = ["Oral"]\nnote = "all talks as orals"\n')
    venues = load_venues(override)
    assert venues.get("icml").decide(2019, "Oral", "main").tier == "top2"
    assert venues.get("icml").decide(2018, "Oral", "main").tier == "top20"


@pytest.mark.fast
def test_names_and_aliases():
    venues = load_venues()
    assert venues.get("NIPS").key == "neurips"
    assert venues.by_csv_name("NIPS").key == "neurips"
    with pytest.raises(UserError, match="unknown venue 'cvpr'"):
        venues.get("cvpr")


@pytest.mark.fast
@pytest.mark.parametrize("content, message", [
    ("[neurips\n", "not a valid TOML"),
    ('[neurips]\naccepted = "Oral"\n', "non-empty `accepted` list"),
    ('[[neurips.years]]\noral = []\n', "has no `range`"),
    ('[[neurips.years]]\nrange = "2020-2010"\n', "comes after"),
])
def test_bad_override_is_one_clear_error(tmp_path, content, message):
    override = tmp_path / "bad.toml"
    override.write_text(content)
    with pytest.raises(UserError, match=message):
        load_venues(override)
