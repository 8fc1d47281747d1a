"""The workspace: analysts' work, kept apart from everything a build derives.

Users and their tokens, annotators' submissions, reviewers' decisions, the audit log,
settled annotations, samples and people overrides are human work: no build rewrites
them (the web server's sign-in sessions are kept here too). They live in `<db>.workspace.sqlite` beside the database (`talent-tracker.duckdb`
-> `talent-tracker.workspace.sqlite`), the database holds only what a build derives and
is replaced whole by the next build.

Why SQLite and not DuckDB for this part: DuckDB lets one process write a file at a time,
and here a server saves annotations while `users add`, `careers import`, `sample` or a
build run beside it. SQLite in WAL mode serialises writers across processes (each waits
up to BUSY_TIMEOUT for its turn), never blocks readers, and with `synchronous=FULL` a
committed transaction survives a kill -9 or a power cut. Every write is one transaction
that also bumps `meta.generation`, which is how readers notice a change; DuckDB reads a
snapshot of the tables analyses need (store.reader).

A database built by an earlier version kept these tables inside the DuckDB file: the
first time its workspace is opened they are copied into it, once.

When the machine's storage fails under a write (disk full, an I/O error, a read-only
file), the transaction is rolled back whole and the write raises a UserError saying why
(`storage_failure`): a command prints it as one line, the server answers 503 with it.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from talent_tracker.errors import UserError

SUFFIX = ".workspace.sqlite"
BUSY_TIMEOUT_MS = 30_000
# 2: every sheet import is its analyst's submission (submissions.via, .confirmed); samples of
# person-years (samples.year, sample_designs.unit); 3: the web server's sign-in sessions
SCHEMA_VERSION = 3

_str, _int = pa.string(), pa.int32()
_strs = pa.list_(_str)

# The workspace's one schema. Each table: its columns, each with the Arrow type readers see
# it as (a list is kept here as JSON text) and its SQLite constraint, then table constraints.
# The SQLite tables (SCHEMA), the Arrow schemas (ARROW, in store.schema.SCHEMAS) and the
# JSON-text columns (LIST_COLUMNS) are all made from it.
DECLARED: dict[str, tuple[list[tuple[str, pa.DataType, str]], tuple[str, ...]]] = {
    "meta": ([("key", _str, "PRIMARY KEY"), ("value", _str, "NOT NULL")], ()),
    "users": ([("name", _str, "PRIMARY KEY"), ("role", _str, "NOT NULL"), ("token_sha256", _str, "NOT NULL UNIQUE"),
               ("created_at", _str, "NOT NULL")], ()),
    # each annotator's latest entry for a person (annotations/workflow.py)
    "submissions": ([
        ("person_id", _str, "NOT NULL"), ("annotator", _str, "NOT NULL"), ("sample_id", _str, ""),
        ("origin_institution_id", _str, ""), ("origin_institution", _str, ""), ("origin_country", _str, ""),
        ("graduate_institution_id", _str, ""), ("graduate_institution", _str, ""), ("graduate_country", _str, ""),
        ("work_institution_id", _str, ""), ("work_institution", _str, ""), ("work_country", _str, ""),
        ("work_sector", _str, ""), ("undetermined", _strs, ""), ("confidence", _str, ""), ("evidence_url", _str, ""),
        ("notes", _str, ""), ("version", _int, "NOT NULL"), ("updated_at", _str, "NOT NULL"), ("confirmed", _strs, ""),
        ("via", _str, "")], ("PRIMARY KEY (person_id, annotator)",)),
    "decisions": ([
        ("person_id", _str, "NOT NULL"), ("stage", _str, "NOT NULL"), ("reviewer", _str, "NOT NULL"),
        ("institution_id", _str, ""), ("institution", _str, ""), ("country", _str, ""), ("sector", _str, ""),
        ("decided_at", _str, "NOT NULL")], ("PRIMARY KEY (person_id, stage)",)),
    "audit_log": ([
        ("id", pa.int64(), "PRIMARY KEY AUTOINCREMENT"), ("at", _str, "NOT NULL"), ("actor", _str, "NOT NULL"),
        ("action", _str, "NOT NULL"), ("person_id", _str, ""), ("before", _str, ""), ("after", _str, "")], ()),
    # what is settled per person and stage: the only analysts' values figures use (settle())
    "annotations": ([
        ("person_id", _str, "NOT NULL"), ("stage", _str, "NOT NULL"), ("institution_id", _str, ""),
        ("institution", _str, ""), ("country", _str, ""), ("sector", _str, ""), ("evidence_url", _str, ""),
        ("notes", _str, ""), ("sheet", _str, ""), ("imported_at", _str, "")], ("PRIMARY KEY (person_id, stage)",)),
    # a sampled unit: a person, or with `year` a person-year (sample_designs.unit)
    "samples": ([("sample_id", _str, "NOT NULL"), ("person_id", _str, "NOT NULL"), ("stratum", _str, ""),
                 ("paper", _str, ""), ("year", _int, "")], ()),
    "sample_designs": ([
        ("sample_id", _str, "PRIMARY KEY"), ("venues", _strs, "NOT NULL"), ("years", pa.list_(_int), "NOT NULL"),
        ("tier", _str, "NOT NULL"), ("design", _str, "NOT NULL"), ("size", _int, ""), ("seed", pa.int64(), ""),
        ("population_size", _int, ""), ("strata", _str, ""), ("clusters_total", _int, ""), ("created_at", _str, ""),
        ("unit", _str, "NOT NULL DEFAULT 'person'")], ()),
    "person_overrides": ([
        ("authorship_a", _str, "NOT NULL"), ("authorship_b", _str, "NOT NULL"), ("decision", _str, "NOT NULL"),
        ("note", _str, ""), ("actor", _str, ""), ("created_at", _str, "NOT NULL")],
        ("PRIMARY KEY (authorship_a, authorship_b)",)),
    # every session the web server issued and has not ended: a cookie it did not issue, or
    # one signed out, is refused however well signed (web/security.py)
    "sessions": ([("session_id", _str, "PRIMARY KEY"), ("user", _str, "NOT NULL"), ("issued_at", _str, "NOT NULL"),
                  ("expires_at", _str, "NOT NULL")], ()),
}
INDEXES = ("CREATE INDEX IF NOT EXISTS samples_by_id ON samples (sample_id)",)


def _sql_type(kind: pa.DataType) -> str:
    return "INTEGER" if pa.types.is_integer(kind) else "TEXT"  # lists as JSON text


def _column_sql(table: str, name: str) -> str:
    column, kind, constraint = next(c for c in DECLARED[table][0] if c[0] == name)
    return " ".join(filter(None, (column, _sql_type(kind), constraint)))


def _ddl(name: str) -> str:
    columns, constraints = DECLARED[name]
    parts = [_column_sql(name, column) for column, _, _ in columns]
    return f"CREATE TABLE IF NOT EXISTS {name} ({', '.join([*parts, *constraints])})"


SESSIONS = _ddl("sessions")
SCHEMA = ";\n".join([*map(_ddl, DECLARED), *INDEXES]) + ";\n"

# the workspace tables, in the order `export` and the README list them (sessions are no
# one's work, and their ids are secrets: never exported)
TABLES = ("users", "submissions", "decisions", "audit_log", "annotations", "samples", "sample_designs",
          "person_overrides")
# how readers see them (store.schema.SCHEMAS)
ARROW = {name: pa.schema([(column, kind) for column, kind, _ in DECLARED[name][0]]) for name in TABLES}
# columns stored as JSON text here and as lists in DuckDB
LIST_COLUMNS = {name: tuple(column for column, kind, _ in DECLARED[name][0] if pa.types.is_list(kind))
                for name in TABLES}


# SQLite's primary result codes of a storage that cannot take a write
_STORAGE_CODES = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY}
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}


def storage_failure(exc: BaseException) -> str | None:
    """Why the machine's storage failed (`database or disk is full`, `disk I/O error`, `No
    space left on device`), or None when `exc` is something else."""
    if isinstance(exc, sqlite3.OperationalError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _STORAGE_CODES:
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return exc.strerror or str(exc)
    return None


def path_for(db: Path) -> Path:
    """The workspace of a database: `x.duckdb` -> `x.workspace.sqlite`, `x` -> `x.workspace.sqlite`."""
    db = Path(db)
    stem = db.name[: -len(".duckdb")] if db.name.endswith(".duckdb") else db.name
    return db.with_name(stem + SUFFIX)


def missing(db: Path, creating: bool) -> str | None:
    """What to warn of when a database's workspace is not beside it, else None. Every build
    makes the workspace before anything else, so a built database without one lost it (the
    database was moved or copied alone, or the workspace deleted): its annotations, samples
    and users are not where readers look. `creating`: the caller makes a new, empty one."""
    path = path_for(db)
    if path.exists():
        return None
    then = ("a new, empty one is made for annotation" if creating else
            "no annotations, samples or users are shown")
    return (f"{path} is missing, yet every build makes it beside {Path(db).name}: was the database moved or copied "
            f"without it? {then}; stop, and put the workspace back beside the database to keep its work")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def cli_actor() -> str:
    """Who runs a command, for the audit log."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


class Workspace:
    """One workspace file; a connection per thread (SQLite connections are not shared)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                      check_same_thread=False)
                con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                con.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as exc:
                raise UserError(f"{self.path}: cannot open the workspace ({exc})") from None
            con.row_factory = sqlite3.Row
            self._local.con = con
            with self._lock:
                self._connections.append(con)
        return con

    @contextlib.contextmanager
    def write(self, figures: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is kept, or none of it. Waits its turn behind
        other writers (any process) for up to BUSY_TIMEOUT_MS. `figures=False` for a write
        no reader's figure uses (sign-in sessions): readers need not look again."""
        con = self.connection()
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._failed(exc) or UserError(f"{self.path}: the workspace is busy ({exc}); try again") from None
        try:
            yield con
            if figures:
                con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            con.execute("COMMIT")
        except BaseException as exc:
            # SQLite may have rolled back already (a full disk does): a failing ROLLBACK
            # must not hide why the write failed
            if con.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
            failed = self._failed(exc)
            if failed is not None:
                raise failed from None
            raise

    def _failed(self, exc: BaseException) -> UserError | None:
        reason = storage_failure(exc)
        if reason is None:
            return None
        return UserError(f"{self.path}: the workspace could not be written ({reason}); nothing of this change "
                         "was kept")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent view for several queries (a read transaction)."""
        con = self.connection()
        con.execute("BEGIN")
        try:
            yield con
        finally:
            con.execute("COMMIT")

    def generation(self) -> int:
        """Bumped by every write: readers compare it to know whether to look again."""
        row = self.connection().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def secret(self) -> bytes:
        """The key that signs this workspace's web sessions (made once, kept here)."""
        row = self.connection().execute("SELECT value FROM meta WHERE key = 'session_secret'").fetchone()
        return bytes.fromhex(row[0])

    def rows(self, sql: str, params: tuple | list = ()) -> list[dict]:
        return [dict(r) for r in self.connection().execute(sql, params).fetchall()]

    def table(self, name: str, schema: pa.Schema) -> pa.Table:
        """A workspace table as Arrow, in the database's schema (JSON lists become lists)."""
        if name not in TABLES:
            raise UserError(f"no workspace table {name!r}")
        rows = self.rows(f'SELECT * FROM "{name}"')
        for column in LIST_COLUMNS.get(name, ()):
            for row in rows:
                row[column] = json.loads(row[column]) if row[column] else None
        return pa.Table.from_pylist(rows, schema=schema)

    def close(self) -> None:
        with self._lock:
            for con in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    con.close()
            self._connections.clear()
        self._local = threading.local()


def audit(con: sqlite3.Connection, actor: str, action: str, person_id: str | None, before, after) -> None:
    """Append to the audit log (inside the caller's write transaction)."""
    con.execute("INSERT INTO audit_log (at, actor, action, person_id, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                [now(), actor, action, person_id, json.dumps(before, default=str), json.dumps(after, default=str)])


def open_workspace(db: Path, create: bool = True) -> Workspace | None:
    """The workspace of `db`, created (and filled from a database of an earlier version) if
    it does not exist yet; None when it does not exist and `create` is false. Each call
    gives a Workspace of its own (connections are not shared through module state): a
    long-lived caller keeps it, or uses the one its store.Tracker holds."""
    path = path_for(db)
    if not path.exists():
        if not create:
            return None
        _create(path, Path(db))
    workspace = Workspace(path)
    _upgrade(workspace)
    return workspace


def _upgrade(workspace: Workspace) -> None:
    """Bring a workspace made by an earlier version up to SCHEMA_VERSION, in one write
    transaction (another process doing the same waits, then finds nothing to do)."""
    def version(con) -> int:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 1

    con = workspace.connection()
    try:
        current = version(con)
    except sqlite3.Error as exc:
        raise UserError(f"{workspace.path}: not a readable workspace ({exc})") from None
    if current == SCHEMA_VERSION:
        return
    if current > SCHEMA_VERSION:
        raise UserError(f"{workspace.path}: made by a newer version of talent-tracker (workspace schema {current}); "
                        "upgrade talent-tracker to read it")
    with workspace.write() as con:
        current = version(con)
        if current < 2:
            _to_v2(con)
        if current < 3:
            con.execute(SESSIONS)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def _to_v2(con: sqlite3.Connection) -> None:
    """Version 1 kept a sheet's values only as settled `annotations` rows, which the next web
    save of that person could replace: they become their importer's submissions."""
    for table, column in (("submissions", "confirmed"), ("submissions", "via"), ("samples", "year"),
                          ("sample_designs", "unit")):
        columns = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
        if column not in columns:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN {_column_sql(table, column)}')
    sheet_entries_to_submissions(con)


def sheet_entries_to_submissions(con: sqlite3.Connection) -> int:
    """Settled values that came from a sheet (not from the web workflow) and have no
    submission behind them become a submission of whoever imported that sheet (by the
    audit log; `import` when it does not say), one per person and importer."""
    importers: dict[str, str] = {}
    for actor, after in con.execute("SELECT actor, after FROM audit_log WHERE action = 'import sheet' ORDER BY id"):
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            importers[json.loads(after)["sheet"]] = actor
    moved = 0
    for row in con.execute("SELECT * FROM annotations WHERE sheet IS NULL OR sheet NOT LIKE 'web:%' "
                           "ORDER BY person_id, stage").fetchall():
        annotator = importers.get(row["sheet"], "import")
        current = con.execute("SELECT * FROM submissions WHERE person_id = ? AND annotator = ?",
                              [row["person_id"], annotator]).fetchone()
        stage = row["stage"]
        values = {f"{stage}_institution_id": row["institution_id"], f"{stage}_institution": row["institution"],
                  f"{stage}_country": row["country"]}
        if stage == "work":
            values["work_sector"] = row["sector"]
        if current is None:
            con.execute("INSERT INTO submissions (person_id, annotator, undetermined, confidence, evidence_url, notes, "
                        "version, updated_at, via) VALUES (?, ?, '[]', 'medium', ?, ?, 1, ?, ?)",
                        [row["person_id"], annotator, row["evidence_url"], row["notes"], row["imported_at"] or now(),
                         f"sheet {row['sheet']}"])
        elif current[f"{stage}_country"]:
            continue  # that importer's submission already says something for this stage
        con.execute(f"UPDATE submissions SET {', '.join(f'{k} = ?' for k in values)} "
                    "WHERE person_id = ? AND annotator = ?", [*values.values(), row["person_id"], annotator])
        moved += 1
    return moved


def _create(path: Path, db: Path) -> None:
    """Create the workspace whole or not at all: written beside it, then linked into place
    (if another process created it meanwhile, theirs is kept and ours dropped)."""
    if not path.parent.is_dir():
        raise UserError(f"{path.parent}: folder not found")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        con = sqlite3.connect(tmp, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.executescript(SCHEMA)
            con.execute("BEGIN")
            con.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("generation", "0"),
                ("session_secret", secrets.token_hex(32)), ("created_at", now())])
            _import_legacy(con, db)
            sheet_entries_to_submissions(con)
            con.execute("COMMIT")
        finally:
            con.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it meanwhile: theirs is kept
        except OSError:
            if not path.exists():  # a file system without hard links
                os.rename(tmp, path)
        with sqlite3.connect(path, isolation_level=None) as con:
            con.execute("PRAGMA journal_mode = WAL")
        con.close()
    except (OSError, sqlite3.Error) as exc:
        # a full disk or an unwritable folder, whichever of the two noticed first
        reason = storage_failure(exc) or getattr(exc, "strerror", None) or str(exc)
        raise UserError(f"{path}: cannot create the workspace ({reason})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# the tables an earlier version kept inside the DuckDB database
_LEGACY = ("users", "submissions", "decisions", "audit_log", "annotations", "samples", "sample_designs")


def _import_legacy(con: sqlite3.Connection, db: Path) -> None:
    """Copy the human tables of a database built by an earlier version into the new
    workspace. A database that exists but cannot be read is an error, never "no tables":
    reading it is the only way to keep that work."""
    if not db.is_file() or db.stat().st_size == 0:
        return
    import duckdb

    try:
        old = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "lock" in message.lower():
            raise UserError(f"{db}: in use by another program, so its annotations cannot be moved into the "
                            f"workspace (is a server of an earlier version running? stop it and try again)") from None
        return  # not a DuckDB file at all: nothing of ours to keep (build refuses it)
    try:
        present = {r[0] for r in old.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for name in _LEGACY:
            if name not in present:
                continue
            cursor = old.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            if not rows:
                continue
            lists = LIST_COLUMNS.get(name, ())
            values = [[json.dumps(v) if c in lists and v is not None else v for c, v in zip(columns, row)]
                      for row in rows]
            con.executemany(f'INSERT OR REPLACE INTO "{name}" ({", ".join(columns)}) '
                            f'VALUES ({", ".join("?" for _ in columns)})', values)
        con.execute("INSERT INTO meta VALUES ('imported_from', ?)", [str(db)])
    finally:
        old.close()
