"""Shared fixtures: the real data beside the repository, and databases built from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from talent_tracker.build import build

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TALENT_TRACKER_SHARED", ROOT.parent / "shared")) / "data"
PAPERLISTS = SHARED / "paperlists"
CONFERENCE_CSV = SHARED / "conference-csv"
UNIVERSITIES = SHARED / "world-universities" / "world_universities_and_domains.json.gz"

if not PAPERLISTS.is_dir():
    raise RuntimeError(f"the real data is missing: expected {PAPERLISTS} (../shared/data beside the repository)")


@pytest.fixture(scope="session")
def full_db(tmp_path_factory) -> Path:
    """All 58 venue-years of the paper lists, built once per test session."""
    db = tmp_path_factory.mktemp("full") / "full.duckdb"
    build(PAPERLISTS, db, universities=UNIVERSITIES)
    return db


@pytest.fixture(scope="session")
def csv_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("csv") / "csv.duckdb"
    build(CONFERENCE_CSV, db, source="conference-csv", universities=UNIVERSITIES)
    return db


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A writable paper-list folder holding links to a few real files, to break on purpose."""
    root = tmp_path / "paperlists"
    for rel in ("nips/nips2018.json.gz", "icml/icml2019.json.gz"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(PAPERLISTS / rel)
    return root


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real `talent-tracker` command."""
    exe = shutil.which("talent-tracker", path=str(Path(sys.executable).parent)) or "talent-tracker"
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def one(db: Path, sql: str, params: list | None = None):
    return query(db, sql, params)[0][0]


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()
