"""People: one person per researcher, judged against OpenReview ids on the real data."""

from __future__ import annotations

import json

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.errors import UserError
from talent_tracker.names import name_key
from talent_tracker.people.clusters import Mentions, bcubed, load_overrides, resolve_people

from conftest import PAPERLISTS, UNIVERSITIES, cli, one, query

# the paper lists' ids (NeurIPS and ICLR 2021) and the author files' (NeurIPS 2021-2024,
# ICLR 2021-2023, ICML 2025)
FOLDS = ["iclr 2021", "iclr 2022", "iclr 2023", "icml 2025", "neurips 2021", "neurips 2022", "neurips 2023",
         "neurips 2024"]


@pytest.fixture(scope="module")
def report(full_db):
    """`evaluate-people` on every paper list: venue-year cross-validation."""
    result = cli("evaluate-people", "--db", full_db, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.realdata
def test_the_folds_are_the_venue_years_with_ids_and_never_tuned_on_themselves(report):
    folds = {f["held_out"]: f for f in report["folds"]}
    assert set(folds) == set(FOLDS)  # every venue-year whose authors carry OpenReview ids
    for held_out, fold in folds.items():
        assert held_out not in fold["trained_on"] and fold["trained_on"]
        assert fold["threshold"] in report["thresholds"] and fold["authorships"] > 10000


@pytest.mark.realdata
@pytest.mark.parametrize("fold", FOLDS)
def test_people_hold_on_a_venue_year_the_model_never_saw(report, fold):
    scores = next(f for f in report["folds"] if f["held_out"] == fold)
    assert scores["f1"] >= 0.985, scores
    assert scores["shared_f1"] >= 0.92, scores  # names that two or more true people share
    assert abs(scores["people_error"]) <= 0.01, scores


@pytest.mark.realdata
def test_across_years_the_later_venue_years_are_scored_together_on_a_model_of_the_earlier(report):
    across = report["across_years"]
    later = "iclr 2023 + icml 2025 + neurips 2023 + neurips 2024"
    assert all(a["trained_on"] == ["iclr 2021", "iclr 2022", "neurips 2021", "neurips 2022"] for a in across)
    scored = {(a["built"], a["venue_year"]): a for a in across}
    assert set(scored) == {("with the rest", later), ("alone", later), ("alone", "neurips 2023 + neurips 2024"),
                           ("alone, names only", later)}
    # the targets of issue 26 (docs/people.md): with the threshold tuned on 2021-2022 built alone,
    # the later venue-years meet the venue-year folds' bar in the database and built alone
    for built in ("with the rest", "alone"):
        scores = scored[(built, later)]
        assert scores["f1"] >= 0.985 and scores["shared_f1"] >= 0.92 and abs(scores["people_error"]) <= 0.01, scores
    neurips = scored[("alone", "neurips 2023 + neurips 2024")]
    assert neurips["f1"] >= 0.99 and neurips["shared_f1"] >= 0.95 and abs(neurips["people_error"]) <= 0.01
    # names, co-authors and titles only: precision holds, people who move are split
    names_only = scored[("alone, names only", later)]
    assert names_only["precision"] >= 0.98 and names_only["f1"] >= 0.965 and 0 < names_only["people_error"] <= 0.04


@pytest.mark.realdata
def test_with_ids_present_people_are_exactly_the_ids(report):
    for present in report["ids_present"]:
        assert present["precision"] == present["recall"] == 1.0
        assert present["predicted_people"] == present["true_people"]


@pytest.mark.realdata
def test_every_authorship_has_a_person_and_persons_add_up(full_db):
    assert one(full_db, "SELECT count(*) FROM authorships WHERE person_id IS NULL") == 0
    assert one(full_db, "SELECT count(DISTINCT person_id) FROM authorships") == one(full_db, "SELECT count(*) FROM persons")
    row = query(full_db, "SELECT display_name, openreview_ids, first_year, venues FROM persons WHERE person_id='~Yoshua_Bengio1'")
    assert row[0][0] == "Yoshua Bengio" and row[0][1] == ["~Yoshua_Bengio1"]
    assert row[0][2] <= 1995 and row[0][3] == ["iclr", "icml", "neurips"]


@pytest.mark.realdata
def test_profile_ids_join_across_venues_and_spellings(full_db):
    # he holds two profiles: ~Zhi-hua_Zhou1 (NeurIPS 2021) and ~Zhi-Hua_Zhou2 (2022-2025). Each id
    # is one person; two ids are never merged (a second profile and a namesake look alike), so
    # his papers since 2010 join one or the other: together all of them, and no third person
    profiles = ("~Zhi-hua_Zhou1", "~Zhi-Hua_Zhou2")
    for profile in profiles:
        assert query(full_db, "SELECT DISTINCT person_id FROM authorships WHERE openreview_id = ?", [profile]) == [(profile,)]
    people = query(full_db, "SELECT DISTINCT person_id FROM authorships WHERE author_name IN ('Zhi-Hua Zhou', "
                            "'Zhi-hua Zhou') AND venue IN ('neurips', 'icml') AND year BETWEEN 2010 AND 2020")
    assert {p for (p,) in people} <= set(profiles)
    papers, venues = zip(*query(full_db, "SELECT n_papers, venues FROM persons "
                                         "WHERE person_id IN (SELECT unnest(?))", [list(profiles)]))
    assert sum(papers) > 50 and {v for vs in venues for v in vs} == {"neurips", "icml", "iclr"}


@pytest.mark.fast
def test_name_keys():
    assert name_key("Zhi-Hua Zhou") == name_key("Zhihua Zhou") == "zhihua zhou"
    assert name_key("Michael I. Jordan") == name_key("Michael Jordan")
    assert name_key("Bernhard Schölkopf") == "bernhard scholkopf"
    assert name_key("Nathan H. Brown Jr.") == "nathan brown"


def _mentions(rows):
    cols = [list(c) for c in zip(*rows)]
    return Mentions(*cols)


@pytest.mark.fast
def test_initials_and_reversed_names_join_on_shared_evidence():
    rows = [
        ("icml", 2013, "a", 1, "Daphne Koller", None, None, None, "stanford"),
        ("icml", 2013, "a", 2, "Andrew Ng", None, None, None, "stanford"),
        ("icml", 2013, "b", 1, "Koller Daphne", None, None, None, "stanford"),
        ("nips", 1990, "c", 1, "D. Koller", None, None, None, "stanford"),
        ("nips", 1990, "d", 1, "D. Koller", None, None, None, "mit"),
    ]
    ids = resolve_people(_mentions(rows))
    assert ids[0] == ids[2] == ids[3]
    assert ids[4] != ids[0]


@pytest.mark.fast
def test_different_profiles_never_merge_and_emails_join():
    rows = [
        ("iclr", 2021, "a", 1, "Yang Liu", "~Yang_Liu1", None, None, "tsinghua"),
        ("iclr", 2021, "b", 1, "Yang Liu", "~Yang_Liu2", None, None, "tsinghua"),
        ("iclr", 2018, "c", 1, "Yang Liu", None, "yl@cs.cmu.edu", "cs.cmu.edu", "cmu"),
        ("iclr", 2019, "d", 1, "Y. Liu", None, "yl@cs.cmu.edu", "cs.cmu.edu", None),
    ]
    ids = resolve_people(_mentions(rows))
    assert ids[0] == "~Yang_Liu1" and ids[1] == "~Yang_Liu2"
    assert ids[2] == ids[3] and ids[2].startswith("p-")


@pytest.mark.fast
def test_overrides_take_precedence(tmp_path):
    rows = [
        ("iclr", 2021, "a", 1, "Jane Doe", "~Jane_Doe1", None, None, "oxford"),
        ("iclr", 2021, "b", 1, "Jane Doe", "~Jane_Doe1", None, None, "oxford"),
        ("iclr", 2021, "c", 1, "J. Roe", None, None, None, "mit"),
    ]
    ids = resolve_people(_mentions(rows))
    assert ids[0] == ids[1] != ids[2]
    ids = resolve_people(_mentions(rows), [("same", "iclr:2021:a:1", "iclr:2021:c:1")])
    assert ids[0] == ids[1] == ids[2]
    # an analyst's "different" is never joined, whatever the model says
    ids = resolve_people(_mentions([*rows[:1], (*rows[1][:5], None, *rows[1][6:])]),
                         [("different", "iclr:2021:a:1", "iclr:2021:b:1")])
    assert ids[0] != ids[1]


@pytest.mark.fast
def test_two_authors_of_one_paper_are_never_one_person():
    rows = [
        ("iclr", 2021, "a", 1, "Wei Wang", None, None, None, "ucla"),
        ("iclr", 2021, "a", 2, "Wei Wang", None, None, None, "ucla"),
        ("iclr", 2021, "b", 1, "Wei Wang", None, "ww@cs.ucla.edu", "cs.ucla.edu", "ucla"),
        ("iclr", 2021, "a", 3, "Wei Wang", None, "ww@cs.ucla.edu", "cs.ucla.edu", "ucla"),
    ]
    ids = resolve_people(_mentions(rows))
    assert len({ids[0], ids[1], ids[3]}) == 3 and ids[2] == ids[3]


@pytest.mark.realdata
def test_override_file_in_a_build(tmp_path):
    db = tmp_path / "t.duckdb"
    build(PAPERLISTS, db, venue_names=["icml"], years="2019", universities=UNIVERSITIES)
    # two papers of one person by the model, and one paper of somebody else
    (pa, qa), (pb, qb) = query(db, "SELECT paper_id, author_position FROM authorships WHERE author_name='Sergey Levine' "
                                   "ORDER BY paper_id LIMIT 2")
    (pc, qc), = query(db, "SELECT paper_id, author_position FROM authorships WHERE author_name='Chelsea Finn' "
                          "ORDER BY paper_id LIMIT 1")
    person = lambda p, q: one(db, "SELECT person_id FROM authorships WHERE paper_id=? AND author_position=?", [p, q])  # noqa: E731
    assert person(pa, qa) == person(pb, qb) != person(pc, qc)
    path = tmp_path / "people.csv"
    path.write_text("decision,authorship_a,authorship_b,note\n"
                    f"different,icml:2019:{pa}:{qa},icml:2019:{pb}:{qb},test\n"
                    f"same,icml:2019:{pb}:{qb},icml:2019:{pc}:{qc},test\n")
    result = cli("build", "--data", PAPERLISTS, "--db", db, "--venue", "icml", "--years", "2019",
                 "--universities", UNIVERSITIES, "--people-overrides", path)
    assert result.returncode == 0, result.stderr
    assert person(pa, qa) != person(pb, qb) == person(pc, qc)


@pytest.mark.fast
@pytest.mark.parametrize("content, message", [
    ("who,what\n", "expected the columns"),
    ("decision,authorship_a,authorship_b,note\nmaybe,x,y,\n", "line 2: decision must be"),
])
def test_bad_overrides_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "people.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        load_overrides(path)


@pytest.mark.realdata
def test_person_ids_are_stable(tmp_path):
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for db in (first, second):
        build(PAPERLISTS, db, venue_names=["icml"], years="2019", universities=UNIVERSITIES)
    rows = "SELECT paper_id, author_position, person_id FROM authorships ORDER BY ALL"
    assert query(first, rows) == query(second, rows)


@pytest.mark.fast
def test_bcubed_arithmetic():
    assert bcubed(["a", "a", "b"], ["x", "x", "y"]) == (1.0, 1.0, 1.0)
    p, r, _ = bcubed(["a", "a", "a"], ["x", "x", "y"])
    assert p == pytest.approx(5 / 9) and r == 1.0


@pytest.mark.realdata
def test_summary_counts_people(full_db):
    data = json.loads(cli("summary", "--db", full_db, "--json").stdout)
    neurips = next(r for r in data["people"] if r["venue"] == "neurips")
    expected = one(full_db, "SELECT sum(n) FROM (SELECT year, count(DISTINCT person_id) AS n FROM authorships "
                            "WHERE venue='neurips' AND accepted AND year BETWEEN 2010 AND 2019 GROUP BY year)")
    assert neurips["person_years_2010_2019"] == expected > 15000


@pytest.mark.realdata
def test_an_email_out_of_line_with_the_names_joins_nobody(full_db):
    # ICLR author-id lists sometimes put an address beside the wrong name
    assert query(full_db, "SELECT name_variants FROM persons WHERE person_id='~Yoshua_Bengio1'") == [(["Yoshua Bengio"],)]
    rows = [
        ("iclr", 2017, "a", 1, "Sergey Levine", None, "svlevine@eecs.berkeley.edu", "eecs.berkeley.edu", "berkeley"),
        ("iclr", 2018, "b", 1, "Yoshua Bengio", None, "svlevine@eecs.berkeley.edu", "eecs.berkeley.edu", "berkeley"),
        ("iclr", 2019, "c", 2, "Levine Sergey", None, "svlevine@eecs.berkeley.edu", "eecs.berkeley.edu", None),
    ]
    ids = resolve_people(_mentions(rows))
    assert ids[0] == ids[2] != ids[1]
