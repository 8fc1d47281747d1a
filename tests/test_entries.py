"""Every analyst's entry is kept: a sheet import is its analyst's entry, versioned and audited
like a web save; no save, import or decision deletes or overwrites another analyst's entry;
a conflict waits for a reviewer; the history of every person and stage can be listed; and a
workspace of the previous schema hands its imported values over as entries."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from talent_tracker.annotations import ANNOTATION_COLUMNS
from talent_tracker.store import workspace as workspaces
from talent_tracker.store.workspace import SCHEMA_VERSION, path_for
from talent_tracker.web.app import create_app

import minidata
from conftest import cli, copy_db, query

pytestmark = pytest.mark.fast

HEADER = ",".join(ANNOTATION_COLUMNS) + "\n"


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return minidata.build_mini(tmp_path_factory.mktemp("entries"), venue_names=["neurips"], years="2018")


@pytest.fixture
def db(mini, tmp_path) -> Path:
    return copy_db(mini, tmp_path / "db.duckdb")


def person(db: Path, name: str) -> str:
    return query(db, "SELECT person_id FROM persons WHERE display_name = ?", [name])[0][0]


def settled(db: Path, who: str) -> dict:
    return {stage: country for stage, country in query(
        db, "SELECT stage, country FROM annotations WHERE person_id = ? ORDER BY stage", [who])}


def import_rows(db: Path, tmp_path: Path, text: str, *args: str, name: str = "sheet.csv"):
    sheet = tmp_path / name
    sheet.write_text(HEADER + text, encoding="utf-8")
    return cli("careers", "import", sheet, "--db", db, *args)


def web_save(client: TestClient, token: str, who: str, **fields):
    headers = {"Authorization": f"Bearer {token}"}
    version = client.get(f"/api/annotations/{who}", headers=headers).json()["version"]
    return client.post(f"/api/annotations/{who}", headers=headers, json={"version": version, **fields})


def test_an_imported_value_survives_another_analysts_saves(db, tmp_path):
    ada = person(db, "Ada Lovelace")
    imported = import_rows(db, tmp_path, f"{ada},,,,,,DE,,,found on her CV\n", "--annotator", "alice")
    assert imported.returncode == 0, imported.stderr
    assert settled(db, ada) == {"work": "DE"}
    token = cli("users", "add", "bob", "--db", db).stdout.strip()
    with TestClient(create_app(db, annotate=True), base_url="http://127.0.0.1") as client:
        # bob disagrees: nothing is settled, alice's entry stays, a reviewer is asked
        assert web_save(client, token, ada, work_country="US").status_code == 200
        assert settled(db, ada) == {}
        with sqlite3.connect(path_for(db)) as con:
            entries = dict(con.execute("SELECT annotator, work_country FROM submissions WHERE person_id = ?", [ada]))
        assert entries == {"alice": "DE", "bob": "US"}
        reviewer = cli("users", "add", "carol", "--role", "reviewer", "--db", db).stdout.strip()
        review = client.get("/annotate/review", headers={"Authorization": f"Bearer {reviewer}"})
        assert review.status_code == 200 and "alice" in review.text and "bob" in review.text
        # bob cannot tell after all: alice's value settles again, never lost
        assert web_save(client, token, ada, work_undetermined=True).status_code == 200
        assert settled(db, ada) == {"work": "DE"}
        # a reviewer may list every change; an annotator may not (they would see others' entries)
        changes = client.get(f"/api/annotations/{ada}/history", headers={"Authorization": f"Bearer {reviewer}"})
        assert [c["after"] for c in changes.json()] == ["DE", "US", "could not determine"]
        assert client.get(f"/api/annotations/{ada}/history",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 403
        # and bob agreeing settles it as both analysts' value
        assert web_save(client, token, ada, work_country="DE").status_code == 200
        assert query(db, "SELECT sheet FROM annotations WHERE person_id = ?", [ada]) == [("entries by alice, bob",)]
    history = json.loads(cli("careers", "history", ada, "--db", db, "--json").stdout)
    assert [(h["annotator"], h["action"], h["after"]) for h in history] == [
        ("alice", "import", "DE"), ("bob", "save", "US"), ("bob", "save", "could not determine"),
        ("bob", "save", "DE")]
    table = cli("careers", "history", ada, "--db", db, "--stage", "work")
    assert table.returncode == 0 and "import v1" in table.stdout and "(sheet" in table.stdout


def test_a_sheet_row_keeps_what_it_leaves_blank_and_twice_changes_nothing(db, tmp_path):
    ada = person(db, "Ada Lovelace")
    assert import_rows(db, tmp_path, f"{ada},,GB,,,,,,,\n", "--annotator", "alice").returncode == 0
    second = import_rows(db, tmp_path, f"{ada},,,,US,,,,,\n", "--annotator", "alice", name="second.csv")
    assert "1 stage entries imported or changed" in second.stdout
    assert settled(db, ada) == {"graduate": "US", "origin": "GB"}
    again = import_rows(db, tmp_path, f"{ada},,,,US,,,,,\n", "--annotator", "alice", name="second.csv")
    assert "0 stage entries imported or changed, 1 people unchanged" in again.stdout
    with sqlite3.connect(path_for(db)) as con:
        assert con.execute("SELECT version, via FROM submissions").fetchall() == [(2, "sheet second.csv")]
        logged = con.execute("SELECT before, after FROM audit_log WHERE action = 'import'").fetchall()
    # audited with its values, like a web save
    assert [json.loads(after)["graduate_country"] for _, after in logged] == [None, "US"]
    assert json.loads(logged[1][0])["origin_country"] == "GB"


def test_unknown_and_confirm_are_analysts_acts(db, tmp_path):
    ada, wei = person(db, "Ada Lovelace"), person(db, "Wei Zhang")
    result = import_rows(db, tmp_path, f"{ada},unknown,,,,confirm,,,,\n{wei},,,,,Tsinghua University (CN),,,,\n")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(path_for(db)) as con:
        rows = dict(con.execute("SELECT person_id, undetermined || ' ' || confirmed FROM submissions"))
    assert rows == {ada: '["origin"] ["work"]', wei: "[] []"}
    assert settled(db, ada) == {"work": "US"} and settled(db, wei) == {"work": "CN"}


def test_a_workspace_of_the_previous_schema_hands_imported_values_over_as_entries(db, tmp_path):
    ada = person(db, "Ada Lovelace")
    path = path_for(db)
    with sqlite3.connect(path) as con:  # as version 1 left it: a sheet's value only as a settled row
        con.execute("DELETE FROM meta WHERE key = 'schema_version'")
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        con.execute("INSERT INTO annotations VALUES (?, 'work', NULL, NULL, 'FR', NULL, NULL, 'old', "
                    "'old.csv', '2026-01-01')", [ada])
        con.execute("INSERT INTO audit_log (at, actor, action, person_id, before, after) VALUES "
                    "('2026-01-01', 'cli:erin', 'import sheet', NULL, 'null', '{\"sheet\": \"old.csv\"}')")
    assert settled(db, ada) == {"work": "FR"}  # any reader upgrades it
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert con.execute("SELECT annotator, work_country, via FROM submissions").fetchall() == [
            ("cli:erin", "FR", "sheet old.csv")]


# the tables as version 1 of the workspace made them (before sheet entries, person-year
# samples and sign-in sessions)
V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE submissions (person_id TEXT NOT NULL, annotator TEXT NOT NULL, sample_id TEXT, origin_institution_id TEXT,
    origin_institution TEXT, origin_country TEXT, graduate_institution_id TEXT, graduate_institution TEXT,
    graduate_country TEXT, work_institution_id TEXT, work_institution TEXT, work_country TEXT, work_sector TEXT,
    undetermined TEXT, confidence TEXT, evidence_url TEXT, notes TEXT, version INTEGER NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (person_id, annotator));
CREATE TABLE decisions (person_id TEXT NOT NULL, stage TEXT NOT NULL, reviewer TEXT NOT NULL, institution_id TEXT,
    institution TEXT, country TEXT, sector TEXT, decided_at TEXT NOT NULL, PRIMARY KEY (person_id, stage));
CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, person_id TEXT, before TEXT, after TEXT);
CREATE TABLE annotations (person_id TEXT NOT NULL, stage TEXT NOT NULL, institution_id TEXT, institution TEXT,
    country TEXT, sector TEXT, evidence_url TEXT, notes TEXT, sheet TEXT, imported_at TEXT, PRIMARY KEY (person_id, stage));
CREATE TABLE samples (sample_id TEXT NOT NULL, person_id TEXT NOT NULL, stratum TEXT, paper TEXT);
CREATE TABLE sample_designs (sample_id TEXT PRIMARY KEY, venues TEXT NOT NULL, years TEXT NOT NULL, tier TEXT NOT NULL,
    design TEXT NOT NULL, size INTEGER, seed INTEGER, population_size INTEGER, strata TEXT, clusters_total INTEGER,
    created_at TEXT);
CREATE TABLE person_overrides (authorship_a TEXT NOT NULL, authorship_b TEXT NOT NULL, decision TEXT NOT NULL,
    note TEXT, actor TEXT, created_at TEXT NOT NULL, PRIMARY KEY (authorship_a, authorship_b));
INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '0'), ('session_secret', 'ab');
INSERT INTO sample_designs VALUES ('s1', '["neurips"]', '[2021]', 'top20', 'person', 1, 7, 10, NULL, NULL, 'then');
"""


def test_an_upgraded_workspace_has_the_one_declared_schema(tmp_path):
    """The workspace is declared once (workspace.DECLARED): a new one and one upgraded from
    version 1 have the same tables and columns, and every table reads as its Arrow schema."""
    def columns(path: Path) -> dict:
        with sqlite3.connect(path) as con:
            names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                               "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            found = {n: [(r[1], r[2], r[3], r[4]) for r in con.execute(f'PRAGMA table_info("{n}")')] for n in names}
        con.close()
        return found

    fresh = workspaces.open_workspace(tmp_path / "new.duckdb")
    old_path = path_for(tmp_path / "old.duckdb")
    with sqlite3.connect(old_path) as con:
        con.executescript(V1_SCHEMA)
    con.close()
    upgraded = workspaces.open_workspace(tmp_path / "old.duckdb", create=False)
    assert columns(old_path) == columns(fresh.path)
    assert set(columns(fresh.path)) == {*workspaces.TABLES, "meta", "sessions"}
    for name in workspaces.TABLES:
        assert upgraded.table(name, workspaces.ARROW[name]).schema == workspaces.ARROW[name]
    designs = upgraded.table("sample_designs", workspaces.ARROW["sample_designs"]).to_pylist()
    assert designs[0]["years"] == [2021] and designs[0]["unit"] == "person"  # the default a v1 sample takes
    fresh.close()
    upgraded.close()


def test_a_confirmation_in_the_form_is_recorded_only_for_the_inferred_value(db):
    ada = person(db, "Ada Lovelace")
    place, inferred = query(db, "SELECT institution, country FROM career_stages WHERE person_id = ? AND stage = 'work'",
                            [ada])[0]
    token = cli("users", "add", "dora", "--db", db).stdout.strip()
    with TestClient(create_app(db, annotate=True), base_url="http://127.0.0.1") as client:
        form = client.get(f"/annotate/person/{ada}", headers={"Authorization": f"Bearer {token}"})
        assert form.status_code == 200 and 'id="work_confirm"' in form.text and f'data-country="{inferred}"' in form.text
        # what the button fills in: the inferred institution and its country
        assert web_save(client, token, ada, work_institution=place, work_country=inferred,
                        work_confirmed=True).status_code == 200
        with sqlite3.connect(path_for(db)) as con:
            assert con.execute("SELECT confirmed FROM submissions").fetchone() == ('["work"]',)
        # the form said "confirmed" but the value is another: the analyst's own value, not a confirmation
        other = "FR" if inferred != "FR" else "DE"
        assert web_save(client, token, ada, work_country=other, work_confirmed=True).status_code == 200
        with sqlite3.connect(path_for(db)) as con:
            assert con.execute("SELECT confirmed, work_country FROM submissions").fetchone() == ("[]", other)
