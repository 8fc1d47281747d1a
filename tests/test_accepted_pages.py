"""NeurIPS 2019 and 2020 affiliations from the official accepted-papers pages
(sources/accepted_pages.py, merged by sources/listings.py): the page's quirks on small
synthetic pages of the same format in the fast tier; counts, join rates and coverage on the
real pages in the realdata tier."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.sources import accepted_pages

from conftest import SHARED, cli, one, query

PAGE = """<html><body><h1>Accepted Papers</h1>
<p>This page lists the papers accepted at <b>NeurIPS</b> this year.</p>
<p><b>Deep Learning &amp; Friends: A &quot;Study&quot;</b><br><i>Ada  Lovelace (Georgia Tech / Facebook AI Research (FAIR)) &middot;
Jingwan (Cynthia) Lu (Adobe Research) &middot; Wei Zhang (Tsinghua University)</i></p>
<p><b>Renamed Since the Page Was Made</b><br><i>Grace Hopper (Stanford University) &middot; Alan Turing</i></p>
<p><b>A Paper That Is Not In The List</b><br><i>Nobody Here (Nowhere University)</i></p>
<p><b>No Authors</b><br><i></i></p>
</body></html>"""


def _page(tmp_path: Path, text: str = PAGE, name: str = "neurips2019.html.gz") -> Path:
    folder = tmp_path / "neurips-accepted"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


@pytest.mark.fast
def test_the_page_is_read_with_its_quirks(tmp_path):
    skips = []
    entries = accepted_pages.read(_page(tmp_path), ("neurips", 2019), skips.append, "p")
    assert [e.title for e in entries] == ['Deep Learning & Friends: A "Study"', "Renamed Since the Page Was Made",
                                          "A Paper That Is Not In The List"]
    assert entries[0].speakers == (("Ada Lovelace", "Georgia Tech / Facebook AI Research (FAIR)"),
                                   ("Jingwan (Cynthia) Lu", "Adobe Research"), ("Wei Zhang", "Tsinghua University"))
    assert entries[1].speakers[1] == ("Alan Turing", None)
    # the page's own text is not an entry; an entry without authors is a counted skip
    assert [(s.reason, s.count) for s in skips] == [
        ("accepted-papers entry without a title or authors, or past a cap", 1)]


@pytest.mark.fast
@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08 not gzip", b"<html><p>nothing here</p></html>"])
def test_a_page_that_cannot_be_read_gives_no_entries_and_says_why(tmp_path, content):
    path = tmp_path / "neurips2019.html.gz"
    path.write_bytes(content if content.startswith(b"\x1f") else gzip.compress(content))
    skips = []
    assert accepted_pages.read(path, ("neurips", 2019), skips.append, "p") == []
    assert len(skips) == 1 and skips[0].scope == "file"


@pytest.mark.fast
def test_an_oversized_entry_is_dropped_and_counted(tmp_path):
    huge = "x" * (accepted_pages._Page.LIMIT + 10)
    skips = []
    entries = accepted_pages.read(_page(tmp_path, PAGE.replace("Alan Turing", huge)), ("neurips", 2019),
                                  skips.append, "p")
    assert [e.title for e in entries] == ['Deep Learning & Friends: A "Study"', "A Paper That Is Not In The List"]
    assert sum(s.count for s in skips) == 2


@pytest.mark.fast
def test_a_build_gives_the_list_the_pages_affiliations(tmp_path):
    """Matched by title (case, punctuation), else by the author list; each author by name;
    an author the page does not name, and an entry of no paper, are counted skips."""
    lists = tmp_path / "paperlists" / "nips"
    lists.mkdir(parents=True)
    papers = [
        {"id": "a", "title": "Deep learning & friends: a 'study'", "status": "Poster", "track": "main",
         "author": "Ada Lovelace, Jingwan Lu, Wei Zhang"},
        {"id": "b", "title": "A Better Title Chosen Later", "status": "Oral", "track": "main",
         "author": "Grace Hopper, Alan Turing, Extra Person"},
        {"id": "c", "title": "Unlisted", "status": "Poster", "track": "main", "author": "Someone Else"},
    ]
    (lists / "nips2019.json").write_text(json.dumps(papers), encoding="utf-8")
    _page(tmp_path)
    db = tmp_path / "t.duckdb"
    result = build(tmp_path, db, venue_names=["neurips"], years="2019")
    assert result.papers == 3
    rows = query(db, "SELECT author_name, affiliation, affiliation_source, alignment, country FROM authorships "
                     "ORDER BY paper_id, author_position")
    assert rows == [
        ("Ada Lovelace", "Georgia Tech / Facebook AI Research (FAIR)", "neurips-accepted", "page_name", "US"),
        ("Jingwan Lu", "Adobe Research", "neurips-accepted", "page_name", "US"),  # `Jingwan (Cynthia) Lu`: initial and surname
        ("Wei Zhang", "Tsinghua University", "neurips-accepted", "page_name", "CN"),
        ("Grace Hopper", "Stanford University", "neurips-accepted", "page_name", "US"),
        ("Alan Turing", None, None, None, None),  # the page names no affiliation
        ("Extra Person", None, None, None, None),  # not on the page
        ("Someone Else", None, None, None, None),
    ]
    reasons = dict(query(db, "SELECT reason, sum(count) FROM skips WHERE venue = 'neurips' GROUP BY reason"))
    assert reasons["accepted-papers entry matched by its authors (title differs)"] == 1
    assert reasons["accepted-papers entry matched to no paper of the list"] == 1
    assert reasons["author not found on the accepted-papers entry (spelling or author list differs)"] == 1


# --- the real pages ------------------------------------------------------------------------

@pytest.mark.realdata
@pytest.mark.parametrize("year,entries,papers", [(2019, 1429, 1427), (2020, 1900, 1899)])
def test_the_real_pages_join_the_paper_lists(full_db, year, entries, papers):
    skips = []
    path = SHARED / accepted_pages.FOLDER / accepted_pages.FILES[("neurips", year)]
    assert len(accepted_pages.read(path, ("neurips", year), skips.append, path.name)) == entries
    assert skips == []
    unmatched = one(full_db, "SELECT coalesce(sum(count), 0) FROM skips WHERE venue = 'neurips' AND year = ? "
                             "AND reason = 'accepted-papers entry matched to no paper of the list'", [year])
    assert unmatched <= 0.01 * entries  # the rest join, by title or by author list
    total, placed, filled = query(full_db, """
        SELECT count(*), count(country), count(*) FILTER (WHERE affiliation_source = 'neurips-accepted')
        FROM authorships WHERE venue = 'neurips' AND year = ? AND accepted""", [year])[0]
    assert one(full_db, "SELECT count(*) FROM papers WHERE venue = 'neurips' AND year = ? AND accepted",
               [year]) == papers
    assert filled / total >= 0.97 and placed / total >= 0.93, (filled / total, placed / total)


@pytest.mark.realdata
@pytest.mark.parametrize("year", [2019, 2020])
def test_neurips_2019_and_2020_work_countries_cover_nine_in_ten(full_db, year):
    report = json.loads(cli("report", "--db", full_db, "--venue", "neurips", "--years", str(year), "--json").stdout)
    work = report["work_countries"]
    assert work["coverage"] >= 0.90 and work["method"] in ("exact", "partial")
    assert work["rows"][0][0] == "US"
