"""The conference-csv source on the real file."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter

import pytest

from talent_tracker.build.pipeline import build

from conftest import CONFERENCE_CSV, one, query


def source_rows() -> list[dict]:
    text = gzip.decompress((CONFERENCE_CSV / "papers.csv.gz").read_bytes()).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.realdata
def test_counts_equal_the_source(csv_db):
    rows = source_rows()
    papers = Counter((r["Conference"], r["Year"]) for r in {(r["Conference"], r["Year"], r["Title"]): r for r in rows}.values())
    venue = {"NIPS": "neurips", "ICML": "icml", "ICLR": "iclr"}
    got = {(v, y): n for v, y, n in query(csv_db, "SELECT venue, year, count(*) FROM papers GROUP BY ALL")}
    assert got == {(venue[c], int(y)): n for (c, y), n in papers.items()}
    named = sum(1 for r in rows if r["Author"].strip())
    assert one(csv_db, "SELECT count(*) FROM authorships") == named
    assert one(csv_db, "SELECT sum(count) FROM skips WHERE reason='empty author name'") == len(rows) - named


@pytest.mark.realdata
def test_every_paper_is_accepted_top20_without_oral_data(csv_db):
    assert query(csv_db, "SELECT DISTINCT accepted, tier, status FROM papers") == [(True, "top20", None)]
    assert one(csv_db, "SELECT bool_or(oral_known) FROM venue_years") is False
    assert one(csv_db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2018") == 1009


@pytest.mark.realdata
def test_author_order_and_affiliation(csv_db):
    rows = query(csv_db, "SELECT author_position, author_name, affiliation FROM authorships a JOIN papers p "
                         "USING (venue, year, paper_id) WHERE p.title='Decoupled Neural Interfaces using Synthetic Gradients' "
                         "ORDER BY author_position")
    assert rows[0] == (1, "Max Jaderberg", "DeepMind")
    assert rows[5] == (6, "David Silver", "Google DeepMind")
    assert len(rows) == 7


@pytest.mark.realdata
def test_data_folder_or_its_parent(tmp_path):
    db = tmp_path / "t.duckdb"
    build(CONFERENCE_CSV.parent, db, source="conference-csv", venue_names=["iclr"], years="2019")
    assert query(db, "SELECT venue, year, count(*) FROM papers GROUP BY ALL") == [("iclr", 2019, 501)]


@pytest.mark.fast
def test_bad_rows_are_counted(tmp_path):
    path = tmp_path / "papers.csv"
    path.write_text("Conference,Year,Title,Author,Affiliation\n"
                    "NIPS,2018,A paper,Ada Lovelace,Analytical Engines\n"
                    "NIPS,2018,A paper,Alan Turing,\n"
                    "CVPR,2018,Elsewhere,Someone,Somewhere\n"
                    "NIPS,twenty,Bad year,Grace Hopper,Navy\n"
                    "NIPS,2018\n")
    db = tmp_path / "t.duckdb"
    result = build(path, db, source="conference-csv")
    assert result.papers == 1 and result.authorships == 2
    assert dict(query(db, "SELECT reason, sum(count) FROM skips GROUP BY ALL")) == {
        "unknown venue": 1, "year is not a number": 1, "row has too few columns": 1}


@pytest.mark.fast
def test_wrong_header_is_a_file_skip(tmp_path):
    path = tmp_path / "papers.csv"
    path.write_text("venue,year\nNIPS,2018\n")
    import pytest

    from talent_tracker.errors import UserError

    with pytest.raises(UserError, match="no papers found"):
        build(path, tmp_path / "t.duckdb", source="conference-csv")
