"""Human work lives in the workspace: no build rewrites it, every command may write it
while the server runs, a database of an earlier version hands its tables over, and a
build never replaces a file that is not a talent-tracker database.

Fast tier: a synthetic NeurIPS 2020 (minidata.edition) and, for the rebuild under a running
server, a synthetic ICLR 2020 beside it. Only the test of a second build waiting for a long
first one needs the real data (a build long enough to be caught running)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.store.workspace import path_for

import minidata
from conftest import PAPERLISTS, cli, copy_db, one, query, serving

SHEET_HEADER = ("person_id,origin_institution,origin_country,graduate_institution,graduate_country,"
                "work_institution,work_country,work_sector,evidence_url,notes\n")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The synthetic edition's paper lists, and an ICLR 2020 a rebuild may add."""
    lists = minidata.edition(tmp_path_factory.mktemp("ws-data")) / "paperlists"
    (lists / "iclr").mkdir()
    (lists / "iclr" / "iclr2020.json").write_text(json.dumps([
        {"id": f"i{i}", "title": f"Synthetic ICLR paper {i}", "status": "Poster", "author": f"Iclr{i} Author{i}",
         "aff": "University of Oxford"} for i in range(20)]), encoding="utf-8")
    return lists


@pytest.fixture(scope="module")
def base_db(data, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("ws") / "base.duckdb"
    build(data, db, venue_names=["neurips"], years="2020")
    result = cli("sample", "--db", db, "--venue", "neurips", "--years", "2020", "--size", "20", "--seed", "3",
                 "--output", db.parent / "sheet.csv")
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def db(base_db, tmp_path) -> Path:
    return copy_db(base_db, tmp_path / "work.duckdb")


def sampled(db: Path) -> list[str]:
    return [r[0] for r in query(db, "SELECT DISTINCT person_id FROM samples ORDER BY 1")]


def save(base: str, token: str, person: str, **fields) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    version = httpx.get(f"{base}/api/annotations/{person}", headers=headers).json()["version"]
    return httpx.post(f"{base}/api/annotations/{person}", headers=headers, json={"version": version, **fields})


@pytest.mark.fast
def test_the_workspace_sits_beside_the_database(db):
    assert path_for(db) == db.with_name("work.workspace.sqlite") and path_for(db).is_file()
    assert path_for(Path("x/plain")) == Path("x/plain.workspace.sqlite")
    tables = {r[0] for r in duckdb.connect(str(db), read_only=True).execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}
    assert not tables & {"users", "samples", "annotations", "audit_log", "submissions", "decisions"}


@pytest.mark.fast
def test_commands_write_human_data_while_the_server_runs(db, tmp_path):
    """users add, careers import, sample and people overrides import all work beside a
    running annotation server, which sees what they wrote at once."""
    people = sampled(db)
    with serving(db, "--annotate") as base:
        added = cli("users", "add", "carol", "--role", "reviewer", "--db", db)
        assert added.returncode == 0, added.stderr
        token = added.stdout.strip()
        assert save(base, token, people[0], origin_country="FR").status_code == 200
        sheet = tmp_path / "sheet.csv"
        sheet.write_text(SHEET_HEADER + f"{people[1]},,JP,,,,,,,\n", encoding="utf-8")
        imported = cli("careers", "import", sheet, "--db", db)
        assert imported.returncode == 0, imported.stderr
        origins = httpx.get(base + "/api/analyses/origin_countries",
                            params={"venue": "neurips", "years": "2020"}).json()
        assert {"FR", "JP"} <= {r[0] for r in origins["rows"]}
        drawn = cli("sample", "--db", db, "--venue", "neurips", "--years", "2020", "--size", "5", "--seed", "99",
                    "--output", tmp_path / "more.csv")
        assert drawn.returncode == 0, drawn.stderr
        overrides = tmp_path / "overrides.csv"
        overrides.write_text("decision,authorship_a,authorship_b,note\n"
                             "different,neurips:2021:x:1,neurips:2021:y:2,two people\n", encoding="utf-8")
        assert cli("people", "overrides", "import", overrides, "--db", db).returncode == 0
        meta = httpx.get(base + "/api/meta").json()
        assert "neurips-2020-top20-person-5-seed99" in meta["samples"]
    actions = [r[0] for r in sqlite3.connect(path_for(db)).execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions[-6:] == ["user reviewer", "save", "import", "import sheet", "sample", "import people overrides"]


@pytest.mark.fast
def test_a_build_while_serving_keeps_every_save_and_shows_without_restart(db, data):
    people = sampled(db)
    token = cli("users", "add", "dana", "--db", db).stdout.strip()
    with serving(db, "--annotate") as base:
        assert save(base, token, people[0], origin_country="CN", work_country="US").status_code == 200
        before = httpx.get(base + "/api/meta").json()
        assert list(before["venues"]) == ["neurips"]
        rebuild = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "build", "--data", str(data),
                                    "--db", str(db), "--venue", "neurips", "--venue", "iclr", "--years", "2020"],
                                   stderr=subprocess.PIPE, text=True)
        during = 0
        while rebuild.poll() is None:
            # every save says something new (a save that changes nothing writes no version)
            during += save(base, token, people[1 + during % 5], origin_country="IN",
                           notes=f"save {during}").status_code == 200
        assert rebuild.returncode == 0, rebuild.stderr.read()
        assert save(base, token, people[9], origin_country="KR").status_code == 200
        after = httpx.get(base + "/api/meta").json()
        # the new build, in the same server
        assert sorted(after["venues"]) == ["iclr", "neurips"] and after["built_at"] != before["built_at"]
        origins = {r[0] for r in httpx.get(base + "/api/analyses/origin_countries",
                                          params={"venue": "neurips", "years": "2020"}).json()["rows"]}
        assert {"CN", "KR"} <= origins
    saves = sqlite3.connect(path_for(db)).execute("SELECT count(*) FROM audit_log WHERE action = 'save'").fetchone()[0]
    assert during > 0 and saves == during + 2


@pytest.mark.fast
def test_rebuilds_never_rewrite_human_work(db, data, tmp_path):
    token = cli("users", "add", "erin", "--db", db).stdout.strip()
    with serving(db, "--annotate") as base:
        assert save(base, token, sampled(db)[0], work_country="DE").status_code == 200
    snapshot = {name: sqlite3.connect(path_for(db)).execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
                for name in ("users", "submissions", "audit_log", "annotations", "samples", "sample_designs")}
    build(data, db, venue_names=["neurips"], years="2020")
    # a failed build changes nothing either
    assert cli("build", "--data", tmp_path / "nowhere", "--db", db).returncode == 2
    for name, rows in snapshot.items():
        assert sqlite3.connect(path_for(db)).execute(f"SELECT * FROM {name} ORDER BY 1").fetchall() == rows, name
    assert one(db, "SELECT country FROM career_stages WHERE source = 'annotation' AND stage = 'work'") == "DE"


@pytest.mark.fast
def test_a_database_of_an_earlier_version_hands_its_work_over(db, data, tmp_path):
    """Before the workspace, human tables lived in the DuckDB file (and annotation facts in
    `careers`): the first reader copies them into the workspace, and a rebuild keeps them."""
    legacy = tmp_path / "legacy.duckdb"
    copy_db(db, legacy)
    path_for(legacy).unlink()
    person = sampled(db)[0]
    con = duckdb.connect(str(legacy))
    con.execute("CREATE TABLE users (name VARCHAR, role VARCHAR, token_sha256 VARCHAR, created_at VARCHAR)")
    con.execute("INSERT INTO users VALUES ('old', 'admin', repeat('a', 64), '2026-01-01')")
    con.execute("CREATE TABLE annotations (person_id VARCHAR, stage VARCHAR, institution_id VARCHAR, institution "
                "VARCHAR, country VARCHAR, sector VARCHAR, evidence_url VARCHAR, notes VARCHAR, sheet VARCHAR, "
                "imported_at VARCHAR)")
    con.execute("INSERT INTO annotations VALUES (?, 'origin', NULL, NULL, 'BR', NULL, NULL, 'old note', 's.csv', "
                "'2026-01-01')", [person])
    con.execute("CREATE TABLE audit_log (id BIGINT, \"at\" VARCHAR, actor VARCHAR, action VARCHAR, person_id VARCHAR, "
                "\"before\" VARCHAR, \"after\" VARCHAR)")
    con.execute("INSERT INTO audit_log VALUES (7, '2026-01-01', 'old', 'save', ?, 'null', '{}')", [person])
    con.execute("CREATE TABLE sample_designs (sample_id VARCHAR, venues VARCHAR[], years INTEGER[], tier VARCHAR, "
                "design VARCHAR, size INTEGER, seed BIGINT, population_size INTEGER, strata VARCHAR, "
                "clusters_total INTEGER, created_at VARCHAR)")
    con.execute("INSERT INTO sample_designs VALUES ('old-sample', ['neurips'], [2021], 'top20', 'person', 1, 1, "
                "7608, '{}', NULL, '2026-01-01')")
    con.execute("INSERT INTO careers VALUES (?, 'origin', NULL, NULL, 'BR', NULL, NULL, NULL, 'annotation', 1.0, "
                "'old fact')", [person])
    con.close()
    assert one(legacy, "SELECT country FROM career_stages WHERE person_id = ? AND stage = 'origin'", [person]) == "BR"
    workspace = sqlite3.connect(path_for(legacy))
    assert workspace.execute("SELECT name FROM users").fetchall() == [("old",)]
    assert workspace.execute("SELECT id, actor FROM audit_log").fetchall() == [(7, "old")]
    assert json.loads(workspace.execute("SELECT venues FROM sample_designs").fetchone()[0]) == ["neurips"]
    # the annotation fact is counted once, from the workspace
    assert one(legacy, "SELECT count(*) FROM careers WHERE person_id = ? AND source = 'annotation'", [person]) == 1
    build(data, legacy, venue_names=["neurips"], years="2020")
    assert one(legacy, "SELECT country FROM career_stages WHERE person_id = ? AND stage = 'origin'", [person]) == "BR"


@pytest.mark.fast
def test_a_database_held_by_an_older_server_is_never_taken_for_empty(db, data, tmp_path):
    """An earlier version's server held the file for writing; reading its tables fails on
    the lock: that must stop the build, not be taken for "no tables"."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(120)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = cli("build", "--data", data, "--db", db, "--venue", "neurips", "--years", "2020")
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert "cannot be opened" in result.stderr and "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert one(db, "SELECT count(*) FROM samples") == 20


@pytest.mark.fast
@pytest.mark.parametrize("content", [b"my notes, not a database\n", b"", b"DUCK"])
def test_build_refuses_a_file_that_is_not_a_tracker_database(data, tmp_path, content):
    target = tmp_path / "notes.txt"
    target.write_bytes(content)
    result = cli("build", "--data", data, "--db", target, "--venue", "neurips", "--years", "2020")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "is not a talent-tracker database" in result.stderr
    assert target.read_bytes() == content


@pytest.mark.fast
def test_build_refuses_another_duckdb_database_and_a_folder(data, tmp_path):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE mine AS SELECT 42 AS answer")
    con.close()
    result = cli("build", "--data", data, "--db", other, "--venue", "neurips", "--years", "2020")
    assert result.returncode == 2 and "not a talent-tracker one" in result.stderr
    assert duckdb.connect(str(other), read_only=True).execute("SELECT answer FROM mine").fetchall() == [(42,)]
    folder = tmp_path / "folder"
    folder.mkdir()
    result = cli("build", "--data", data, "--db", folder, "--venue", "neurips", "--years", "2020")
    assert result.returncode == 2 and "not a file" in result.stderr


@pytest.mark.realdata
def test_a_second_build_of_the_same_database_waits_its_turn(shared, tmp_path):
    db = tmp_path / "t.duckdb"
    first = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "build", "--data", str(PAPERLISTS),
                              "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        time.sleep(0.01)
    second = cli("build", "--data", PAPERLISTS, "--db", db, "--venue", "neurips", "--years", "2018")
    assert first.wait(300) == 0
    assert second.returncode == 2 and "another build of this database is running" in second.stderr
    assert one(db, "SELECT count(DISTINCT venue) FROM papers") == 3  # the first build's, whole


@pytest.mark.fast
def test_a_database_gone_while_serving_is_a_clear_503(db):
    with serving(db) as base:
        assert httpx.get(base + "/api/meta").status_code == 200
        db.unlink()
        gone = httpx.get(base + "/api/analyses/work_countries", params={"years": "2020"})
        assert gone.status_code == 503 and "database not found" in gone.json()["detail"]
