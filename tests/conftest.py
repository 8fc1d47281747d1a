"""Shared fixtures: the real data beside the repository, and databases built from it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
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
    """The data folder as a whole (all 58 venue-years of the paper lists, the NeurIPS 2022
    schedule, the world-universities list, the published figures), built once per session."""
    db = tmp_path_factory.mktemp("full") / "full.duckdb"
    build(SHARED, db)
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


def copy_db(source: Path, target: Path) -> Path:
    """A copy of a database and its workspace (through SQLite's backup: recent commits may
    still be in the write-ahead log, which a file copy would miss)."""
    import sqlite3

    from talent_tracker.workspace import path_for

    shutil.copy(source, target)
    if path_for(source).exists():
        with sqlite3.connect(path_for(source)) as a, sqlite3.connect(path_for(target)) as b:
            a.backup(b)
        a.close()
        b.close()
    return target


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query over the database and its workspace, as every reader sees them."""
    from talent_tracker.store import reader

    with reader(db) as con:
        return con.execute(sql, params or []).fetchall()


def one(db: Path, sql: str, params: list | None = None):
    return query(db, sql, params)[0][0]


@contextlib.contextmanager
def serving(db: Path, *args: str, log: Path | None = None):
    """A real `talent-tracker serve` process on a free port; yields its base URL. Its output
    (the access log) goes to `log`, or to a temporary file: never to a pipe nobody reads,
    which would fill and stall the server."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(log, "w+b") if log is not None else tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "serve", "--db", str(db), "--port", str(port),
                             *map(str, args)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/api/meta", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(log.read().decode())
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


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
