"""Building the database: bad input, --strict, and the atomic swap."""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.errors import UserError

from conftest import PAPERLISTS, cli, one, query


@pytest.mark.realdata
def test_malformed_file_is_reported_and_the_rest_is_built(data_dir, tmp_path):
    (data_dir / "nips" / "nips2019.json.gz").write_bytes(gzip.compress(b'[{"title": "x", "author": "A'))
    (data_dir / "iclr").mkdir()
    (data_dir / "iclr" / "iclr2020.json").write_text('{"not": "an array"}')
    (data_dir / "nips" / "nips2020.json.gz").write_bytes(b"\x1f\x8b truncated")
    db = tmp_path / "t.duckdb"
    result = cli("build", "--data", data_dir, "--db", db)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert any("nips/nips2019.json.gz: malformed file: not valid JSON" in line for line in lines)
    assert any("iclr/iclr2020.json: malformed file: expected a JSON array" in line for line in lines)
    assert any("nips/nips2020.json.gz: malformed file: not a complete gzip file" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert one(db, "SELECT count(*) FROM papers WHERE venue='neurips' AND year=2018 AND accepted") == 1009
    assert one(db, "SELECT count(*) FROM papers WHERE venue='icml' AND year=2019") == 774
    assert one(db, "SELECT count(*) FROM skips WHERE scope='file' AND reason='malformed file'") == 3


@pytest.mark.realdata
def test_broken_records_are_counted_and_good_ones_kept(data_dir, tmp_path):
    records = [
        {"title": "Good paper", "author": "Ada Lovelace;Alan Turing", "status": "Oral", "track": "main", "id": "g1"},
        "not an object",
        {"title": "Authors as a number", "author": 42, "status": "Poster"},
        {"title": "", "author": ""},
        {"title": "Strange label", "author": "Grace Hopper", "status": "Maybe", "id": "s1"},
    ]
    (data_dir / "iclr").mkdir()
    (data_dir / "iclr" / "iclr2030.json").write_text(__import__("json").dumps(records))
    db = tmp_path / "t.duckdb"
    result = build(data_dir, db, venue_names=["iclr"])
    assert result.papers == 2 and result.accepted == 1
    reasons = dict(query(db, "SELECT reason, sum(count) FROM skips GROUP BY ALL"))
    assert reasons == {"record is not a JSON object": 1, "author list is not text": 1,
                       "record has neither title nor authors": 1, "unknown status 'Maybe'": 1}
    assert query(db, "SELECT tier, n_authors FROM papers WHERE paper_id='g1'") == [("top2", 2)]
    with pytest.raises(UserError, match="--strict: 4 skipped"):
        build(data_dir, tmp_path / "strict.duckdb", venue_names=["iclr"], strict=True)
    assert not (tmp_path / "strict.duckdb").exists()


@pytest.mark.realdata
@pytest.mark.parametrize("args, message", [
    (["--venue", "cvpr"], "unknown venue 'cvpr' (known venues: iclr, icml, neurips)"),
    (["--years", "2019-2010"], "year range '2019-2010': 2019 comes after 2010"),
    (["--years", "twenty"], "'twenty' is not a year"),
    (["--years", "1800-1805"], "years must lie between"),
    (["--source", "dblp"], "'dblp' is not one of 'paperlists', 'conference-csv'"),
    (["--venue", "neurips", "--years", "2031"], "no papers found for neurips in 2031"),
])
def test_user_errors_are_one_line(tmp_path, args, message):
    result = cli("build", "--data", PAPERLISTS, "--db", tmp_path / "t.duckdb", *args)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "t.duckdb").exists()


@pytest.mark.fast
def test_missing_data_dir_is_one_line(tmp_path):
    result = cli("build", "--data", tmp_path / "nowhere", "--db", tmp_path / "t.duckdb")
    assert result.returncode == 2 and "data directory not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.realdata
def test_strict_failure_leaves_previous_database(tmp_path, data_dir):
    db = tmp_path / "t.duckdb"
    build(data_dir, db, venue_names=["neurips"])
    (data_dir / "nips" / "nips2019.json.gz").write_bytes(b"garbage")
    result = cli("build", "--data", data_dir, "--db", db, "--strict")
    assert result.returncode == 2 and "--strict" in result.stderr and "database left unchanged" in result.stderr
    assert query(db, "SELECT DISTINCT year FROM papers") == [(2018,)]


@pytest.mark.realdata
def test_years_and_venues_select(full_db, tmp_path):
    db = tmp_path / "t.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips", "icml"], years="2010-2012,2019")
    got = query(db, "SELECT venue, year, count(*) FROM papers GROUP BY ALL ORDER BY 1, 2")
    expected = query(full_db, "SELECT venue, year, count(*) FROM papers WHERE venue IN ('neurips', 'icml') "
                              "AND year IN (2010, 2011, 2012, 2019) GROUP BY ALL ORDER BY 1, 2")
    assert got == expected and len(got) == 5  # icml has 2019 only


def _duckdb_temporary_exists(folder: Path) -> bool:
    """A non-empty *.tmp file: DuckDB's, not the empty name reservation it replaces an instant later."""
    for path in folder.glob("*.tmp"):
        with contextlib.suppress(FileNotFoundError):  # the build may remove it as we look
            if path.stat().st_size > 0:
                return True
    return False


@pytest.mark.realdata
def test_killed_build_leaves_previous_database_usable(tmp_path, data_dir):
    db = tmp_path / "t.duckdb"
    build(data_dir, db)
    before = query(db, "SELECT venue, year, count(*) FROM papers GROUP BY ALL ORDER BY 1, 2")
    # a full build, killed as soon as it starts writing its temporary database
    proc = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "build", "--data", str(PAPERLISTS),
                             "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if _duckdb_temporary_exists(tmp_path):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be interrupted"
    assert query(db, "SELECT venue, year, count(*) FROM papers GROUP BY ALL ORDER BY 1, 2") == before
    assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # the killed build's
    # and the next build replaces it cleanly, and removes what the killed one left
    build(PAPERLISTS, db, venue_names=["iclr"], years="2013")
    assert query(db, "SELECT DISTINCT venue, year FROM papers") == [("iclr", 2013)]
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]


_FILL = """
import pyarrow as pa
from talent_tracker.build.pipeline import _fill_from_profile_year
from talent_tracker.store.schema import RESOLUTION_COLUMNS
rows = [("Univ. of Oxford", "oxford"), ("Oxford University", "oxford"), (None, None)]
table = pa.table({"openreview_id": ["~A_B1"] * 3, "year": [2022] * 3,
                  "affiliation": [r[0] for r in rows], "affiliation_source": ["paperlists", "paperlists", None],
                  **{c: [r[1] for r in rows] if c == "institution_id" else [None] * 3 for c in RESOLUTION_COLUMNS}})
filled = _fill_from_profile_year(table)
print(filled.column("affiliation")[2].as_py(), filled.column("affiliation_source")[2].as_py())
"""


@pytest.mark.fast
def test_an_affiliation_filled_from_the_profile_year_does_not_depend_on_string_hashing():
    # two texts, once each, name the profile's one institution that year: the first is
    # taken, in every process (string hashes, and so a set's order, change per process)
    seen = {subprocess.run([sys.executable, "-c", _FILL], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           capture_output=True, text=True, check=True).stdout.strip() for seed in range(6)}
    assert seen == {"Univ. of Oxford profile_year"}


_MINI_BUILD = """
import os, sys
from pathlib import Path
if sys.argv[2] == "1":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
sys.path.insert(0, sys.argv[3])
import minidata
minidata.build_mini(Path(sys.argv[1]))
"""


@pytest.mark.fast
def test_careers_are_the_same_derived_in_a_forked_process_or_a_thread(tmp_path):
    # on one core the build's helper (pipeline._beside) is a thread, with a core to spare a
    # forked process: the name features, the fixed links, the careers' columns and the
    # careers are made there, and the tables are the same either way
    assert len(os.sched_getaffinity(0)) >= 2, "needs two cores to take the forked path"
    tests = str(Path(__file__).parent)
    found = {}
    for cores in ("1", "all"):
        root = tmp_path / cores
        root.mkdir()
        subprocess.run([sys.executable, "-c", _MINI_BUILD, str(root), cores, tests], check=True, timeout=120)
        found[cores] = {table: query(root / "mini.duckdb", f"SELECT * FROM {table} ORDER BY ALL")
                        for table in ("careers", "predictions", "persons")}
    assert found["1"]["careers"] and found["1"]["predictions"]
    assert found["1"] == found["all"]


@pytest.mark.fast
def test_a_workers_result_comes_back_in_a_file_or_else_through_the_pipe(tmp_path):
    import pyarrow as pa

    from talent_tracker.build.pipeline import _left_in, _taken

    result = {"careers": pa.table({"person_id": ["p-1", "p-2"]}), "warnings": ["one"]}
    left = _left_in(str(tmp_path), 3, result)
    assert left[0] == tmp_path / "3.pickle" and left[0].is_file() and left[1] is None
    back = _taken(left)
    assert back["careers"].equals(result["careers"]) and back["warnings"] == ["one"]
    assert not list(tmp_path.iterdir())  # read once, then removed
    # no folder, or one that cannot be written: the result itself, for the pipe
    assert _left_in(None, 3, result) == (None, result)
    assert _left_in(str(tmp_path / "gone"), 3, result) == (None, result) and _taken((None, result)) is result
