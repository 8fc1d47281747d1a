"""Outputs never destroy what they did not write, and every output error is one line."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from talent_tracker.store.workspace import path_for

import minidata
from conftest import cli, copy_db


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """The synthetic NeurIPS 2018 (minidata.py): one venue-year, so publishing is quick."""
    return minidata.build_mini(tmp_path_factory.mktemp("outputs"), venue_names=["neurips"], years="2018")


@pytest.fixture
def db(small_db, tmp_path) -> Path:
    return copy_db(small_db, tmp_path / "db.duckdb")


@pytest.fixture
def unwritable() -> Path:
    """A folder this process cannot write into (root writes anywhere on disk, not in /proc)."""
    if os.geteuid() == 0:
        return Path("/proc")
    return Path("/")


def one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.fast
def test_publish_refuses_a_folder_it_did_not_write(db, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    one_line_error(cli("publish", "--db", db, "--output", mine), "holds files publish did not write")
    assert (mine / "thesis.tex").read_text() == "years of work" and len(list(mine.iterdir())) == 1


@pytest.mark.fast
def test_publish_refuses_the_current_folder(db, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    one_line_error(cli("publish", "--db", db, "--output", ".", cwd=tmp_path))
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.fast
def test_publish_replaces_its_own_site_but_not_a_file_added_to_it(db, tmp_path):
    site = tmp_path / "site"
    first = cli("publish", "--db", db, "--output", site)
    assert first.returncode == 0, first.stderr
    assert (site / "index.html").is_file() and (site / ".talent-tracker-site").is_file()
    (site / "data" / "stale.js").write_text("old")  # not listed: stays unless publish may delete it
    one_line_error(cli("publish", "--db", db, "--output", site), "data/stale.js")
    (site / "data" / "stale.js").unlink()
    second = cli("publish", "--db", db, "--output", site)
    assert second.returncode == 0, second.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


@pytest.mark.fast
def test_publish_into_an_empty_folder(db, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("publish", "--db", db, "--output", empty).returncode == 0
    assert (empty / "index.html").is_file()


@pytest.mark.fast
@pytest.mark.parametrize("command", ["build", "export", "sample", "publish"])
def test_output_path_errors_are_one_line(small_db, db, tmp_path, unwritable, command):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")

    def run(target: Path):
        if command == "build":
            return cli("build", "--data", small_db.parent / "paperlists", "--venue", "neurips", "--years", "2018", "--db", target)
        if command == "export":
            return cli("export", "papers", "--db", db, "--output", target)
        if command == "sample":
            return cli("sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "5", "--output", target)
        return cli("publish", "--db", db, "--output", target)

    one_line_error(run(tmp_path / "missing" / "out"), "not found")
    one_line_error(run(a_file / "out"), "is a file")
    one_line_error(run(unwritable / "talent-tracker-out"))
    assert a_file.read_text() == "x"


@pytest.mark.fast
def test_a_failed_sample_records_nothing(db, tmp_path, unwritable):
    def samples() -> int:
        return sqlite3.connect(path_for(db)).execute("SELECT count(*) FROM sample_designs").fetchone()[0]

    one_line_error(cli("sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "5",
                       "--output", unwritable / "sheet.csv"), "no sample was recorded")
    assert samples() == 0
    # so no estimate can rest on it
    one_line_error(cli("estimate", "--db", db, "--venue", "neurips", "--years", "2018", "--by", "origin",
                       "--method", "sample"), "no annotated sample of neurips 2018 top20")


@pytest.mark.fast
def test_a_sheet_is_never_overwritten_unless_asked(db, tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("person_id,origin_country\np-1,FR\n")  # an analyst's work
    args = ["sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "5", "--output", sheet]
    one_line_error(cli(*args), "exists")
    assert sheet.read_text() == "person_id,origin_country\np-1,FR\n"
    assert cli(*args, "--overwrite").returncode == 0
    assert sheet.read_text().startswith("person_id,origin_institution")
    # the same draw again changes nothing; a different sample under the same id is refused
    assert cli(*args, "--overwrite").returncode == 0
    assert sqlite3.connect(path_for(db)).execute("SELECT count(*) FROM samples").fetchone()[0] == 5


@pytest.mark.fast
def test_a_sample_is_never_rewritten(db, tmp_path):
    """Drawn again after the people changed (a rebuild with other evidence), the same id
    would name other people: refused, the recorded sample and its sheet stay."""
    args = ["sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "5", "--seed", "1"]
    assert cli(*args, "--output", tmp_path / "a.csv").returncode == 0
    with sqlite3.connect(path_for(db)) as con:  # as if drawn on an earlier build
        con.execute("UPDATE samples SET person_id = 'p-earlier' WHERE rowid = (SELECT min(rowid) FROM samples)")
    before = sqlite3.connect(path_for(db)).execute("SELECT * FROM samples ORDER BY rowid").fetchall()
    one_line_error(cli(*args, "--output", tmp_path / "b.csv"), "samples are never rewritten")
    assert not (tmp_path / "b.csv").exists()
    assert sqlite3.connect(path_for(db)).execute("SELECT * FROM samples ORDER BY rowid").fetchall() == before
