"""The paper-list source on the real data: counts, and every quirk of the files."""

from __future__ import annotations

import gzip
import json

import pytest

from conftest import PAPERLISTS, one, query


@pytest.fixture(scope="module")
def lists_db(shared, tmp_path_factory):
    """NeurIPS and ICLR 2021 from the paper lists alone: what the list adapter itself
    places (the full build also fills what they lack from the author files)."""
    from talent_tracker.build.pipeline import build

    db = tmp_path_factory.mktemp("lists") / "lists.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips", "iclr"], years="2021")
    return db


def source_records(rel: str) -> list[dict]:
    return json.loads(gzip.decompress((PAPERLISTS / rel).read_bytes()))


@pytest.mark.realdata
def test_all_58_venue_years_are_built(full_db):
    assert one(full_db, "SELECT count(*) FROM (SELECT DISTINCT venue, year FROM papers)") == 58
    assert one(full_db, "SELECT count(*) FROM inputs") == 58
    assert query(full_db, "SELECT DISTINCT venue FROM papers ORDER BY 1") == [("iclr",), ("icml",), ("neurips",)]


@pytest.mark.realdata
def test_neurips_2018_counts_equal_the_source(full_db):
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2018 AND accepted") == 1009
    assert one(full_db, "SELECT count(*) FROM authorships WHERE venue='neurips' AND year=2018") == 3827
    records = source_records("nips/nips2018.json.gz")
    expected = sum(len([n for n in r["author"].split(";") if n.strip()]) for r in records)
    assert expected == 3827


@pytest.mark.realdata
def test_neurips_2019_and_2017_accepted_papers(full_db):
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2019 AND accepted") == 1427
    # 691 records: 11 session copies folded and one award talk excluded -> the official 679
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2017 AND accepted") == 679
    assert one(full_db, "SELECT sum(count) FROM skips WHERE venue='neurips' AND year=2017 AND scope='merge'") == 11
    # the poster record of this paper was folded into its oral record: the paper is top2
    assert query(full_db, "SELECT tier FROM papers WHERE venue='neurips' AND year=2017 "
                          "AND lower(title)='end-to-end differentiable proving'") == [("top2",)]


@pytest.mark.realdata
def test_comma_separated_authors(full_db):
    # nips2019 separates authors with ", "
    names = query(full_db, "SELECT author_name FROM authorships a JOIN papers p USING (venue, year, paper_id) "
                           "WHERE venue='neurips' AND year=2019 AND title LIKE 'Adaptive Temporal-Difference%' "
                           "ORDER BY author_position")
    assert len(names) >= 1
    assert all("," not in n for (n,) in query(full_db, "SELECT author_name FROM authorships WHERE venue='neurips' AND year=2019"))
    record = next(r for r in source_records("nips/nips2019.json.gz") if r["author"].count(",") >= 3)
    got = query(full_db, "SELECT author_name FROM authorships WHERE venue='neurips' AND year=2019 AND paper_id=? "
                         "ORDER BY author_position", [str(record["id"])])
    assert [g for (g,) in got] == [n.strip() for n in record["author"].split(",")]


@pytest.mark.realdata
def test_authors_field_named_authors(full_db):
    # nips2022 and nips2023 use `authors`, not `author`
    for year in (2022, 2023):
        assert one(full_db, f"SELECT count(*) FROM authorships WHERE venue='neurips' AND year={year}") > 10000


@pytest.mark.realdata
def test_html_entities_are_unescaped_even_twice(full_db):
    names = {n for (n,) in query(full_db, "SELECT author_name FROM authorships WHERE author_name LIKE '%Autume%' "
                                          "OR author_name LIKE 'Pierluca%'")}
    assert "Cyprien de Masson d'Autume" in names  # nips2019: `d&amp;#x27;Autume`
    assert "Pierluca D'Oro" in names  # icml2022: `D&#x27;Oro`
    assert one(full_db, "SELECT count(*) FROM authorships WHERE author_name LIKE '%&#x27;%' OR author_name LIKE '%&amp;%'") == 0


@pytest.mark.realdata
def test_generational_suffix_is_not_an_author(full_db):
    rows = query(full_db, "SELECT author_name FROM authorships WHERE venue='neurips' AND year=1987 "
                          "AND paper_id IN (SELECT paper_id FROM authorships WHERE author_name='J.L. WYATT Jr') "
                          "ORDER BY author_position")
    assert rows == [("J.L. WYATT Jr",), ("D.L. STANDLEY",)]
    assert one(full_db, "SELECT count(*) FROM authorships WHERE author_name IN ('Jr', 'Jr.')") == 0


@pytest.mark.realdata
def test_per_author_fields_when_lists_line_up(full_db):
    row = query(full_db, "SELECT author_name, openreview_id, affiliation, email_domain, job_title, alignment "
                         "FROM authorships WHERE venue='neurips' AND year=2021 AND paper_id='-440wKL2oJV' "
                         "ORDER BY author_position")
    assert row[0] == ("Aodong Li", "~Aodong_Li1", "University of California, Irvine", "uci.edu", "PhD student", "positional")
    assert row[2][4] == "Full Professor"


@pytest.mark.realdata
def test_short_lists_are_aligned_to_profiled_authors_or_kept_unassigned(lists_db):
    # iclr2021: 3 of 5 authors have a profile and the domain list has 3 entries
    rows = query(lists_db, "SELECT author_name, email_domain, alignment FROM authorships a JOIN papers p "
                          "USING (venue, year, paper_id) WHERE venue='iclr' AND year=2021 "
                          "AND title LIKE 'Regret Bounds%' ORDER BY author_position")
    assert rows  # the paper is there
    counts = dict(query(lists_db, "SELECT alignment, count(*) FROM authorships WHERE venue='neurips' AND year=2021 "
                                 "GROUP BY ALL"))
    assert counts["positional"] > 5000 and counts["profile_order"] > 0 and counts["evidence"] > 0
    assert counts[None] > 0  # authors whose entry could not be placed get nothing, never a guess
    # every entry of a short list is either on an author or kept in unaligned_entries
    for field, column in (("aff", "affiliation"), ("position", "job_title")):
        published = 0
        for record in source_records("nips/nips2021.json.gz"):
            published += sum(1 for v in record[field].split(";") if v.strip())
        # an affiliation taken from the same profile's other papers came from no entry
        besides = " AND affiliation_source IS DISTINCT FROM 'profile_year'" if column == "affiliation" else ""
        placed = one(lists_db, f"SELECT count({column}) FROM authorships WHERE venue='neurips' AND year=2021{besides}")
        kept = one(lists_db, "SELECT count(*) FROM unaligned_entries WHERE venue='neurips' AND year=2021 AND field=?", [field])
        assert placed + kept == published


@pytest.mark.realdata
def test_evidence_alignment_agrees_with_the_same_profile_elsewhere(lists_db):
    # papers whose affiliation list is neither as long as the authors nor as the profiled authors
    evidence_papers = set()
    for r in source_records("nips/nips2021.json.gz"):
        n, ids, affs = len(r["author"].split(";")), r["authorids"].split(";"), r["aff"].split(";")
        if len(affs) not in (n, sum(i.startswith("~") for i in ids)):
            evidence_papers.add(r["id"])
    placed = query(lists_db, "SELECT paper_id, openreview_id, affiliation FROM authorships WHERE venue='neurips' "
                            "AND year=2021 AND alignment='evidence' AND affiliation IS NOT NULL")
    known = {}
    for oid, aff in query(lists_db, "SELECT openreview_id, affiliation FROM authorships WHERE venue='neurips' "
                                   "AND year=2021 AND alignment='positional' AND affiliation IS NOT NULL"):
        known.setdefault(oid, set()).add(aff)
    checked = [(oid, aff) for pid, oid, aff in placed if pid in evidence_papers]
    assert len(checked) > 500
    assert all(aff in known.get(oid, ()) for oid, aff in checked)


@pytest.mark.realdata
def test_an_unplaced_affiliation_comes_from_the_same_profile_that_year(full_db):
    filled = query(full_db, "SELECT venue, year, paper_id, openreview_id, affiliation, institution_id FROM authorships "
                            "WHERE affiliation_source = 'profile_year'")
    assert len(filled) > 900  # NeurIPS 2021 and ICLR 2021
    # each from another paper of that profile in that year, which names the same institution
    for _venue, year, _paper_id, profile, affiliation, institution in filled[:300]:
        others = query(full_db, "SELECT DISTINCT coalesce(institution_id, affiliation) FROM authorships WHERE "
                                "openreview_id = ? AND year = ? AND affiliation_source IS DISTINCT FROM 'profile_year' "
                                "AND affiliation IS NOT NULL", [profile, year])
        assert others == [(institution or affiliation,)]


@pytest.mark.realdata
def test_emails_from_author_ids(full_db):
    row = query(full_db, "SELECT email, email_domain, openreview_id FROM authorships "
                         "WHERE venue='iclr' AND year=2018 AND author_name='Quoc V. Le' LIMIT 1")
    assert row == [("qvl@google.com", "google.com", None)]


@pytest.mark.realdata
def test_answer_key_kept_apart_from_affiliation(full_db):
    row = query(full_db, "SELECT affiliation, source_institutions, source_countries FROM authorships "
                         "WHERE venue='neurips' AND year=2018 AND author_name='Chris J Oates' AND paper_id='11572'")
    assert row == [("Newcastle University, UK + Alan Turing Institute, UK",
                    ["Newcastle University", "Alan Turing Institute"], ["United Kingdom", "United Kingdom"])]


@pytest.mark.realdata
def test_rejected_and_withdrawn_are_present_but_not_accepted(full_db):
    rows = dict(query(full_db, "SELECT status, bool_or(accepted) FROM papers WHERE venue='iclr' AND year=2021 GROUP BY ALL"))
    assert rows["Reject"] is False and rows["Withdraw"] is False and rows["Desk Reject"] is False
    assert rows["Poster"] is True


@pytest.mark.realdata
def test_missing_status_is_reported_not_counted(full_db):
    assert one(full_db, "SELECT sum(count) FROM skips WHERE scope='label' AND reason='missing status'") == 7
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue='icml' AND year=2017 AND accepted") == 434


@pytest.mark.realdata
def test_broken_record_is_skipped_and_counted(full_db):
    assert query(full_db, "SELECT venue, year, record FROM skips WHERE scope='record'") == [("iclr", 2017, "#" + str(
        next(i for i, r in enumerate(source_records("iclr/iclr2017.json.gz")) if not r.get("title") and not r.get("author"))))]
