"""Shared fixtures and helpers, and the test tiers.

Every test is in exactly one tier, by marker (checked at collection, below):
- `fast`: pure functions, small synthetic data (minidata.py), the CLI in-process (typer's
  CliRunner, through `cli()`) and the API in-process (TestClient). No browser, no build of
  the real data, and never ../shared: the tier runs in about a minute, anywhere.
- `realdata`: acceptance on the real data beside the repository (../shared/data).
- `browser`: the served and published tracker in Debian's Chromium.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TALENT_TRACKER_SHARED", ROOT.parent / "shared")) / "data"
PAPERLISTS = SHARED / "paperlists"
CONFERENCE_CSV = SHARED / "conference-csv"
UNIVERSITIES = SHARED / "world-universities" / "world_universities_and_domains.json.gz"

TIERS = ("fast", "realdata", "browser")
# fixtures that read the real data: a fast test may not use them
REALDATA_FIXTURES = {"full_db", "csv_db", "data_dir", "shared", "neurips_site"}


def pytest_collection_modifyitems(config, items):
    wrong = []
    for item in items:
        tiers = [mark.name for mark in item.iter_markers() if mark.name in TIERS]
        if len(tiers) != 1:
            wrong.append(f"{item.nodeid}: {len(tiers)} tier markers (mark it with one of {', '.join(TIERS)})")
        elif "browser" in item.fixturenames and tiers != ["browser"]:
            wrong.append(f"{item.nodeid}: uses the browser but is marked {tiers[0]}")
        elif tiers == ["fast"] and REALDATA_FIXTURES & set(item.fixturenames):
            wrong.append(f"{item.nodeid}: marked fast but uses the real data")
    if wrong:
        raise pytest.UsageError("tests out of their tiers:\n" + "\n".join(wrong))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The real data folder; a realdata test without it fails (it is never skipped)."""
    if not PAPERLISTS.is_dir():
        pytest.fail(f"the real data is missing: expected {PAPERLISTS} (../shared/data beside the repository, "
                    "or TALENT_TRACKER_SHARED); only `pytest -m fast` runs without it", pytrace=False)
    return SHARED


@pytest.fixture(scope="session")
def full_db(shared, tmp_path_factory) -> Path:
    """The data folder as a whole (all 58 venue-years of the paper lists, the NeurIPS 2022
    schedule, the world-universities list, the published figures), built once per session."""
    from talent_tracker.build.pipeline import build

    db = tmp_path_factory.mktemp("full") / "full.duckdb"
    build(shared, db)
    return db


@pytest.fixture(scope="session")
def neurips_site(shared, tmp_path_factory) -> Path:
    """The published site of NeurIPS 2019, 2022 and 2024 (the two editions the published
    tracker covers and the latest), built from the data folder, schedule and published
    figures included: every page and filter of one venue, in a fraction of the full time."""
    from talent_tracker.build.pipeline import build

    root = tmp_path_factory.mktemp("site")
    build(shared, root / "n.duckdb", venue_names=["neurips"], years="2019,2022,2024")
    result = cli("publish", "--db", root / "n.duckdb", "--output", root / "site")
    assert result.returncode == 0, result.stderr
    return root / "site"


@pytest.fixture(scope="session")
def csv_db(shared, tmp_path_factory) -> Path:
    from talent_tracker.build.pipeline import build

    db = tmp_path_factory.mktemp("csv") / "csv.duckdb"
    build(CONFERENCE_CSV, db, source="conference-csv", universities=UNIVERSITIES)
    return db


@pytest.fixture
def data_dir(shared, tmp_path) -> Path:
    """A writable paper-list folder holding links to a few real files, to break on purpose."""
    root = tmp_path / "paperlists"
    for rel in ("nips/nips2018.json.gz", "icml/icml2019.json.gz"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(PAPERLISTS / rel)
    return root


@dataclass
class Ran:
    """What a command did: its exit code and its two streams."""
    returncode: int
    stdout: str
    stderr: str


def cli(*args, cwd: Path | None = None) -> Ran:
    """Run a `talent-tracker` command in this process (typer's CliRunner: the same entry
    point as the installed script, whose error handling lives in the command itself)."""
    from typer.testing import CliRunner

    from talent_tracker.cli.commands import app

    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def script(*args, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed `talent-tracker` script in its own process (for what needs one:
    a kill, two commands at once)."""
    exe = shutil.which("talent-tracker", path=str(Path(sys.executable).parent)) or "talent-tracker"
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def copy_db(source: Path, target: Path) -> Path:
    """A copy of a database and its workspace (through SQLite's backup: recent commits may
    still be in the write-ahead log, which a file copy would miss)."""
    import sqlite3

    from talent_tracker.store.workspace import path_for

    shutil.copy(source, target)
    if path_for(source).exists():
        with sqlite3.connect(path_for(source)) as a, sqlite3.connect(path_for(target)) as b:
            a.backup(b)
        a.close()
        b.close()
    return target


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query over the database and its workspace, as every reader sees them."""
    from talent_tracker.store.reading import Tracker

    with Tracker(db) as tracker, tracker.reader() as con:
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
    log = open(log, "w+b") if log is not None else tempfile.TemporaryFile()  # noqa: SIM115 - closed below
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
                    raise RuntimeError(log.read().decode()) from None
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

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/install.sh --test does)", pytrace=False)

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield instance
        instance.close()
