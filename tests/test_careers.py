"""Careers: facts from job titles, the affiliation trail, OpenReview profiles and analysts' sheets."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.careers.derive import stage_of_title
from talent_tracker.store.workspace import path_for

from conftest import PAPERLISTS, UNIVERSITIES, cli, copy_db, one, query

PROFILES = Path(__file__).parent / "fixtures" / "openreview_profiles"
HEADER = ("person_id,origin_institution,origin_country,graduate_institution,graduate_country,"
          "work_institution,work_country,work_sector,evidence_url,notes\n")


@pytest.fixture(scope="module")
def careers_db(shared, tmp_path_factory) -> Path:
    """NeurIPS and ICLR 2021 with the profile fixtures: the years that carry job titles."""
    db = tmp_path_factory.mktemp("careers") / "careers.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips", "iclr"], years="2021", universities=UNIVERSITIES, profiles=PROFILES)
    return db


@pytest.mark.fast
@pytest.mark.parametrize("title, stage", [
    ("Undergrad student", "origin"), ("MS student", "graduate"), ("PhD student", "graduate"),
    ("Master student", "graduate"), ("Postdoc", "work"), ("Full Professor", "work"), ("Researcher", "work"),
    ("", None), (None, None),
])
def test_stage_of_title(title, stage):
    assert stage_of_title(title) == stage


@pytest.mark.realdata
def test_every_student_title_with_an_institution_yields_a_fact(careers_db):
    missing = one(careers_db, """
        SELECT count(*) FROM authorships a
        WHERE a.institution_id IS NOT NULL
          AND regexp_matches(a.job_title, '(?i)(undergrad|ms student|phd student|master)')
          AND NOT EXISTS (SELECT 1 FROM careers c WHERE c.person_id = a.person_id AND c.source = 'job_title'
                          AND c.stage IN ('graduate', 'origin') AND c.institution_id = a.institution_id
                          AND a.year BETWEEN c.start_year AND c.end_year)""")
    assert missing == 0
    assert one(careers_db, "SELECT count(*) FROM careers WHERE source='job_title' AND stage='graduate'") > 3000


@pytest.mark.realdata
def test_every_person_with_an_affiliation_has_a_work_fact_as_of_the_latest_paper(careers_db):
    missing = one(careers_db, """
        WITH latest AS (SELECT person_id, max(year) AS year FROM authorships
                        WHERE affiliation IS NOT NULL OR institution_id IS NOT NULL GROUP BY person_id)
        SELECT count(*) FROM latest l
        WHERE NOT EXISTS (SELECT 1 FROM careers c WHERE c.person_id = l.person_id AND c.stage = 'work'
                          AND c.end_year = l.year)""")
    assert missing == 0


@pytest.mark.realdata
def test_profiles_give_education_and_career(careers_db):
    facts = query(careers_db, "SELECT stage, institution_id, country, start_year, end_year FROM careers "
                              "WHERE person_id='~Yoshua_Bengio1' AND source='profile' ORDER BY start_year")
    assert facts == [("origin", "mcgill", "CA", 1982, 1986), ("graduate", "mcgill", "CA", 1986, 1991),
                     ("work", "att", "US", 1992, 1993), ("work", "umontreal", "CA", 1993, None)]
    # API v1-style {"value": ...} fields too
    assert query(careers_db, "SELECT stage, institution_id FROM careers WHERE person_id='~Zhi-hua_Zhou1' "
                             "AND source='profile' ORDER BY stage") == [("graduate", "nju"), ("work", "nju")]
    # precedence: a profile's origin outranks everything inferred from papers
    assert query(careers_db, "SELECT source, institution_id FROM career_stages "
                             "WHERE person_id='~Yoshua_Bengio1' AND stage='origin'") == [("profile", "mcgill")]


@pytest.mark.realdata
def test_unreadable_profile_files_are_reported(tmp_path):
    result = cli("build", "--data", PAPERLISTS, "--db", tmp_path / "t.duckdb", "--venue", "iclr", "--years", "2021",
                 "--universities", UNIVERSITIES, "--profiles", PROFILES)
    assert result.returncode == 0
    assert "profile skipped: broken.json: profile file: not valid JSON (lexical error" in result.stderr


@pytest.fixture
def db_copy(careers_db, tmp_path) -> Path:
    copy = tmp_path / "copy.duckdb"
    copy_db(careers_db, copy)
    return copy


def _import(db: Path, sheet_text: str, tmp_path: Path, name: str = "sheet.csv"):
    sheet = tmp_path / name
    sheet.write_text(HEADER + sheet_text, encoding="utf-8")
    return cli("careers", "import", sheet, "--db", db, "--universities", UNIVERSITIES)


@pytest.mark.realdata
def test_import_validates_every_row_and_keeps_the_good_ones(db_copy, tmp_path):
    result = _import(db_copy, "\n".join([
        "~Yoshua_Bengio1,,,,,Mila,,academia,https://yoshuabengio.org,homepage",       # 2 good
        "~Nobody_At_All1,Tsinghua University,CN,,,,,,,",                               # 3 unknown person
        "~Chelsea_Finn1,Hogwarts School of Witchcraft,,,,,,,,",                        # 4 unknown institution
        "~Chelsea_Finn1,,,Google Brain; Stanford University,,,,,,",                    # 5 ambiguous institution
        "~Chelsea_Finn1,,USA,,,,,,,",                                                  # 6 country not ISO
        "~Chelsea_Finn1,MIT,CN,,,,,,,",                                                # 7 country vs institution
        "~Chelsea_Finn1,,,,,Stanford University,US,school,,",                          # 8 bad sector
        "~Percy_Liang1,Stanford University,,,,,,,,",                                   # 9 good
        "~Percy_Liang1,MIT,,,,,,,,",                                                   # 10 conflicts with line 9
    ]) + "\n", tmp_path)
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith("not imported")]
    expected = {3: "unknown person", 4: "not in the registry: give its country", 5: "names several institutions",
                6: "not an ISO 3166-1",
                7: "conflicts with Massachusetts Institute of Technology", 8: "work_sector 'school'",
                10: "conflicts with line 9"}
    for line, message in expected.items():
        assert any(f"line {line}:" in p and message in p for p in problems), (line, problems)
    assert len(problems) == len(expected)
    assert query(db_copy, "SELECT person_id, stage, institution_id, sector FROM annotations ORDER BY ALL") == [
        ("~Percy_Liang1", "origin", "stanford", None), ("~Yoshua_Bengio1", "work", "mila", "academia")]


@pytest.mark.realdata
def test_annotations_outrank_and_reimport_changes_nothing(db_copy, tmp_path):
    sheet = "~Yoshua_Bengio1,École Polytechnique Fédérale de Lausanne,,,,Mila,CA,academia,https://example.org,test\n"
    first = _import(db_copy, sheet, tmp_path)
    assert first.returncode == 0 and "2 stage entries imported or changed, 0 people unchanged" in first.stdout
    assert query(db_copy, "SELECT source, institution_id FROM career_stages WHERE person_id='~Yoshua_Bengio1' "
                          "ORDER BY stage") == [("profile", "mcgill"), ("annotation", "epfl"), ("annotation", "mila")]
    before = query(db_copy, "SELECT * EXCLUDE (imported_at) FROM annotations ORDER BY ALL")
    again = _import(db_copy, sheet, tmp_path)
    assert "0 stage entries imported or changed, 1 people unchanged" in again.stdout
    assert query(db_copy, "SELECT * EXCLUDE (imported_at) FROM annotations ORDER BY ALL") == before


@pytest.mark.realdata
def test_unknown_institutions_confirmations_and_one_cause_per_problem(db_copy, tmp_path):
    result = _import(db_copy, "\n".join([
        # as the sheet's own trail prints it: an institution the registry lacks, with its country
        "~Yoshua_Bengio1,,,,,ETS Montreal (CA),,academia,,",
        # a name the registry lacks, with the analyst's country: kept as written
        "~Chelsea_Finn1,Lycée Louis-le-Grand,FR,,,,,,,",
        # the inferred work value confirmed: the analyst's act
        "~Percy_Liang1,,,,,confirm,,,,",
        # an unknown name without a country, with a sector: one problem, not a knock-on one too
        "~Sergey_Levine1,,,,,Nowhere Labs,,industry,,",
        # nothing inferred to confirm
        "~Sergey_Levine1,confirm,,,,,,,,",
    ]) + "\n", tmp_path)
    problems = [line for line in result.stderr.splitlines() if line.startswith("not imported")]
    assert len(problems) == 2, problems
    assert "line 5: work_institution 'Nowhere Labs' is not in the registry: give its country" in problems[0]
    assert "line 6: origin: nothing inferred with a country to confirm" in problems[1]
    assert query(db_copy, "SELECT person_id, stage, institution_id, institution, country, sector FROM annotations "
                          "ORDER BY ALL") == [
        ("~Chelsea_Finn1", "origin", None, "Lycée Louis-le-Grand", "FR", None),
        ("~Percy_Liang1", "work", "stanford", "Stanford University", "US", "academia"),
        ("~Yoshua_Bengio1", "work", None, "ETS Montreal", "CA", "academia")]
    with sqlite3.connect(path_for(db_copy)) as con:
        confirmed = con.execute("SELECT person_id, confirmed FROM submissions WHERE confirmed <> '[]'").fetchall()
    assert confirmed == [("~Percy_Liang1", '["work"]')]


@pytest.mark.realdata
def test_a_rebuild_never_loses_annotations(db_copy, tmp_path):
    _import(db_copy, "~Percy_Liang1,Stanford University,US,,,,,,,\n", tmp_path)
    build(PAPERLISTS, db_copy, venue_names=["neurips", "iclr"], years="2021", universities=UNIVERSITIES)
    assert query(db_copy, "SELECT person_id, stage, institution_id FROM annotations") == [
        ("~Percy_Liang1", "origin", "stanford")]
    assert query(db_copy, "SELECT source FROM career_stages WHERE person_id='~Percy_Liang1' AND stage='origin'") == [
        ("annotation",)]


@pytest.mark.realdata
def test_a_field_too_long_is_that_rows_problem_not_a_silent_cut(db_copy, tmp_path):
    # the sheet and the web form share one model of the fields (annotations.AnnotationFields)
    long_note, long_name = "n" * 4_001, "Stanford University " + "x" * 300
    result = _import(db_copy, "\n".join([
        f"~Yoshua_Bengio1,,,,,Mila,,academia,,{long_note}",
        f"~Chelsea_Finn1,{long_name},,,,,,,,",
        "~Percy_Liang1,Stanford University,,,,,,,,",
    ]) + "\n", tmp_path)
    assert "line 2: notes string should have at most 4000 characters" in result.stdout + result.stderr
    assert "line 3: origin_institution string should have at most 300 characters" in result.stdout + result.stderr
    assert query(db_copy, "SELECT DISTINCT person_id FROM annotations") == [("~Percy_Liang1",)]


@pytest.mark.realdata
def test_missing_columns_or_sheet_is_one_line(db_copy, tmp_path):
    sheet = tmp_path / "bad.csv"
    sheet.write_text("person_id,origin\nx,y\n")
    result = cli("careers", "import", sheet, "--db", db_copy, "--universities", UNIVERSITIES)
    assert result.returncode == 2 and "missing column(s)" in result.stderr
    result = cli("careers", "import", tmp_path / "nope.csv", "--db", db_copy)
    assert result.returncode == 2 and "annotation sheet not found" in result.stderr


@pytest.mark.realdata
def test_person_command(careers_db):
    result = cli("person", "~Yoshua_Bengio1", "--db", careers_db, "--json")
    data = json.loads(result.stdout)
    assert data["person"]["display_name"] == "Yoshua Bengio"
    assert {f["source"] for f in data["careers"]} >= {"profile", "job_title"}
    assert all(p["year"] == 2021 for p in data["papers"]) and data["papers"]
    assert "Career" in cli("person", "~Yoshua_Bengio1", "--db", careers_db).stdout
    missing = cli("person", "~Nobody1", "--db", careers_db)
    assert missing.returncode == 2 and "no person '~Nobody1'" in missing.stderr


@pytest.mark.realdata
def test_summary_reports_career_coverage(careers_db, tmp_path):
    data = json.loads(cli("summary", "--db", careers_db, "--json").stdout)
    rows = {(r["stage"], r["source"]): r for r in data["careers"]}
    assert rows[("graduate", "job_title")]["people"] > 3000
    assert rows[("work", "chosen (career_stages)")]["people_pct"] > 50
    out = tmp_path / "careers.csv"
    assert cli("export", "careers", "--db", careers_db, "--format", "csv", "--output", out).returncode == 0
    assert out.read_text().startswith("person_id,stage,institution_id")


@pytest.mark.realdata
def test_work_is_the_latest_fact_and_a_job_title_never_outranks_a_later_affiliation(shared, tmp_path):
    """Yoshua Bengio's ICLR 2021 job title ('Postdoc', at Mila) against his NeurIPS 2022
    affiliation (and 2022 profile's job title): work is where someone is now, so a 2022
    fact is chosen, never the 2021 title."""
    db = tmp_path / "bengio.duckdb"
    build(shared, db, venue_names=["neurips", "iclr"], years="2021-2022")  # 2022: the schedule's affiliations
    facts = query(db, "SELECT source, end_year FROM careers WHERE person_id = '~Yoshua_Bengio1' AND stage = 'work'")
    assert ("job_title", 2021) in facts and ("affiliation", 2022) in facts
    [(source, end_year)] = query(db, "SELECT source, end_year FROM career_stages WHERE person_id = '~Yoshua_Bengio1' "
                                     "AND stage = 'work'")
    assert end_year == 2022 and source in ("affiliation", "job_title")
    # every person's selected work fact is their latest (an analyst's entry aside)
    assert one(db, """SELECT count(*) FROM career_stages s WHERE s.stage = 'work' AND s.source <> 'annotation'
                      AND coalesce(s.end_year, 9999) < (SELECT max(coalesce(c.end_year, 9999)) FROM careers c
                                                         WHERE c.person_id = s.person_id AND c.stage = 'work')""") == 0
