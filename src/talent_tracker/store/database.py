"""The DuckDB database: table schemas, the atomic build swap, reading, exports.

A build writes every derived table into a temporary file beside the database and renames
it over the old one when complete, holding a lock so that two builds of one database
never overlap. Readers see the build and the workspace (workspace.py) as one set of
tables through a `Tracker`, which owns the connections (nothing is kept in module
state): an in-memory DuckDB that attaches the build file read-only and holds a
snapshot of the workspace tables analyses need, with `careers` and `career_stages`
composed from both. A reader notices a new build (the file is replaced) and a change in
the workspace (its generation moves) and looks again, so a running server shows a new
build or a new annotation without a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from talent_tracker.errors import UserError
from talent_tracker.stages import CAREER_STAGES_SQL
from talent_tracker.store import workspace as workspaces

DEFAULT_DB = "talent-tracker.duckdb"
RESOLUTION_COLUMNS = ("institution_id", "institution", "country", "sector", "resolution_method",
                      "resolution_confidence", "other_institution_ids")
# tables a build derives (the database file); human work lives in the workspace
BUILD_TABLES = ("papers", "authorships", "skips", "unaligned_entries", "venue_years", "institutions", "persons",
                "careers", "predictions", "published_figures", "inputs", "build_info")
# workspace tables every reader sees beside the build's (what analyses and estimates use)
SNAPSHOT_TABLES = ("annotations", "samples", "sample_designs")
# columns of `authorships` filled by stages after a file is read
LATER_COLUMNS = (*RESOLUTION_COLUMNS, "person_id")

_str, _int, _bool = pa.string(), pa.int32(), pa.bool_()
_strs = pa.list_(pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "papers": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("title", _str), ("track", _str),
        ("status", _str), ("accepted", _bool), ("tier", _str), ("n_authors", _int), ("url", _str),
        ("source", _str), ("source_file", _str), ("source_record", _str),
        # countries its authors are in: placed affiliations, and entries no rule could
        # place on an author (a paper's countries are known even where an author's is not)
        ("countries", _strs),
    ]),
    "authorships": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("status", _str), ("accepted", _bool),
        ("tier", _str), ("author_position", _int), ("author_name", _str), ("openreview_id", _str),
        ("email", _str), ("email_domain", _str), ("affiliation", _str), ("job_title", _str),
        ("alignment", _str), ("affiliation_source", _str), ("source_institutions", _strs), ("source_countries", _strs),
        ("source", _str),
        # resolved from affiliation and e-mail domain (institutions/resolver.py)
        ("institution_id", _str), ("institution", _str), ("country", _str), ("sector", _str),
        ("resolution_method", _str), ("resolution_confidence", pa.float32()),
        ("other_institution_ids", _strs),
        # the researcher behind the authorship (people.py)
        ("person_id", _str),
    ]),
    "careers": pa.schema([
        ("person_id", _str), ("stage", _str), ("institution_id", _str), ("institution", _str), ("country", _str),
        ("sector", _str), ("start_year", _int), ("end_year", _int), ("source", _str), ("confidence", pa.float32()),
        ("evidence", _str),
    ]),
    # a country per person and stage from the evidence ladder (predictions.py): never a fact
    "predictions": pa.schema([
        ("person_id", _str), ("stage", _str), ("country", _str), ("probability", pa.float32()), ("kind", _str),
        ("evidence", _str),
    ]),
    "annotations": pa.schema([
        ("person_id", _str), ("stage", _str), ("institution_id", _str), ("institution", _str), ("country", _str),
        ("sector", _str), ("evidence_url", _str), ("notes", _str), ("sheet", _str), ("imported_at", _str),
    ]),
    # a sampled unit: a person, or with `year` a person-year (sample_designs.unit)
    "samples": pa.schema([("sample_id", _str), ("person_id", _str), ("stratum", _str), ("paper", _str),
                          ("year", _int)]),
    "sample_designs": pa.schema([
        ("sample_id", _str), ("venues", _strs), ("years", pa.list_(_int)), ("tier", _str), ("design", _str),
        ("size", _int), ("seed", pa.int64()), ("population_size", _int), ("strata", _str), ("clusters_total", _int),
        ("created_at", _str), ("unit", _str),
    ]),
    # the annotation workflow (annotations/workflow.py)
    "users": pa.schema([("name", _str), ("role", _str), ("token_sha256", _str), ("created_at", _str)]),
    "submissions": pa.schema([
        ("person_id", _str), ("annotator", _str), ("sample_id", _str),
        ("origin_institution_id", _str), ("origin_institution", _str), ("origin_country", _str),
        ("graduate_institution_id", _str), ("graduate_institution", _str), ("graduate_country", _str),
        ("work_institution_id", _str), ("work_institution", _str), ("work_country", _str), ("work_sector", _str),
        ("undetermined", _strs), ("confidence", _str), ("evidence_url", _str), ("notes", _str),
        ("version", _int), ("updated_at", _str), ("confirmed", _strs), ("via", _str),
    ]),
    "decisions": pa.schema([
        ("person_id", _str), ("stage", _str), ("reviewer", _str), ("institution_id", _str), ("institution", _str),
        ("country", _str), ("sector", _str), ("decided_at", _str),
    ]),
    "audit_log": pa.schema([
        ("id", pa.int64()), ("at", _str), ("actor", _str), ("action", _str), ("person_id", _str),
        ("before", _str), ("after", _str),
    ]),
    "persons": pa.schema([
        ("person_id", _str), ("display_name", _str), ("name_variants", _strs), ("openreview_ids", _strs),
        ("first_year", _int), ("last_year", _int), ("n_papers", _int), ("n_accepted_papers", _int),
        ("venues", _strs),
    ]),
    "institutions": pa.schema([
        ("institution_id", _str), ("name", _str), ("country", _str), ("sector", _str), ("parent", _str),
        ("multinational", _bool), ("aliases", _strs), ("domains", _strs), ("layer", _str),
        # the country of its topmost parent (Google Zurich's is the US): the headquarters view
        ("hq_country", _str),
    ]),
    "skips": pa.schema([
        ("source_file", _str), ("scope", _str), ("reason", _str), ("detail", _str), ("venue", _str),
        ("year", _int), ("record", _str), ("count", _int),
    ]),
    "unaligned_entries": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("field", _str), ("entry_index", _int),
        ("value", _str),
    ]),
    "venue_years": pa.schema([
        ("venue", _str), ("year", _int), ("venue_name", _str), ("source", _str),
        ("accepted_statuses", _strs), ("oral_statuses", _strs), ("tracks", _strs),
        ("oral_known", _bool), ("notes", _str),
    ]),
    "inputs": pa.schema([
        ("source", _str), ("source_file", _str), ("venue", _str), ("year", _int), ("bytes", pa.int64()),
        ("sha256", _str), ("records", _int),
    ]),
    "build_info": pa.schema([("key", _str), ("value", _str)]),
    # the published tracker's headline figures (compare.py), from the data folder
    "published_figures": pa.schema([
        ("edition", _int), ("population", _str), ("tier", _str), ("measure", _str), ("category", _str),
        ("percent", pa.float64()), ("note", _str), ("source", _str),
    ]),
    "person_overrides": pa.schema([
        ("authorship_a", _str), ("authorship_b", _str), ("decision", _str), ("note", _str), ("actor", _str),
        ("created_at", _str),
    ]),
}

# the order rows are exported in (tables keep the order of the source files)
ORDER = {
    "papers": "venue, year, paper_id",
    "authorships": "venue, year, paper_id, author_position",
    "skips": "venue, year, source_file, scope, reason, record",
    "unaligned_entries": "venue, year, paper_id, field, entry_index",
    "venue_years": "venue, year",
    "institutions": "institution_id",
    "persons": "person_id",
    "careers": "person_id, stage, source, institution_id",
    "predictions": "person_id, stage",
    "annotations": "person_id, stage",
    "samples": "sample_id, person_id",
    "users": "name",
    "submissions": "person_id, annotator",
    "decisions": "person_id, stage",
    "audit_log": "id",
    "sample_designs": "sample_id",
    "career_stages": "person_id, stage",
    "inputs": "venue, year, source_file",
    "build_info": "key",
    "person_overrides": "authorship_a, authorship_b",
    "published_figures": "edition, population, measure, category",
}


_DUCKDB_MAGIC = b"DUCK"


def check_replaceable(db: Path) -> None:
    """Refuse to build over a file that is not a talent-tracker database (one line, exit 2)."""
    db = Path(db)
    if not os.path.lexists(db):
        return
    if db.is_dir() or not db.is_file():
        raise UserError(f"{db}: exists and is not a file; choose another --db")
    with open(db, "rb") as handle:
        head = handle.read(16)
    if head[8:12] != _DUCKDB_MAGIC:
        raise UserError(f"{db}: exists and is not a talent-tracker database; choose another --db "
                        "(a build never overwrites other files)")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise UserError(f"{db}: cannot be opened to check it is a talent-tracker database ({_first_line(exc)})") \
            from None
    try:
        ours = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'build_info'").fetchone()
        tool = con.execute("SELECT value FROM build_info WHERE key = 'tool_version'").fetchone() if ours[0] else None
    except duckdb.Error:
        tool = None
    finally:
        con.close()
    if tool is None:
        raise UserError(f"{db}: is a DuckDB database but not a talent-tracker one; choose another --db")


@contextlib.contextmanager
def build_lock(db: Path) -> Iterator[str | None]:
    """Held for a whole build: a second build of the same database is refused, and the
    temporary files of a build that was killed are removed (nothing else can own them).

    The lock is an flock on `.NAME.lock`, which the system drops when its holder dies;
    the file names the holder's process. Forked workers close their copy at once (so the
    lock is never theirs alone), and should a lock still be held by a process other than
    the one it names while that one is gone (a worker orphaned by an older version), the
    lock is taken over: the context yields a sentence saying so, else None."""
    db = Path(db)
    check_output_file(db)
    lock_path = db.with_name(f".{db.name}.lock")
    handle, note = _take_lock(lock_path, db)
    _HELD.append(handle)
    try:
        for stale in db.parent.glob(f".{db.name}.*.tmp*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        yield note
    finally:
        _HELD.remove(handle)
        handle.close()


# build locks this process holds: a forked child drops its copies of them (closing, never
# unlocking, which would release the parent's lock too)
_HELD: list = []


def _drop_held_locks() -> None:
    for handle in _HELD:
        handle.close()
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_held_locks)


def _take_lock(lock_path: Path, db: Path):
    try:
        guard = open(lock_path.with_name(lock_path.name + "-takeover"), "a")  # noqa: SIM115
    except OSError as exc:
        raise UserError(f"{db.parent}: cannot write here ({exc.strerror or exc})") from None
    with guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # one taker at a time: two never both take a stale lock over
        handle = _open_lock(lock_path, db)
        note = None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _pid_in(handle)
            handle.close()
            if owner is None or _alive(owner):
                who = f" (process {owner})" if owner else ""
                raise UserError(f"{db}: another build of this database is running{who}; wait for it to finish") \
                    from None
            # held, but not by the build that wrote its name: a new lock file replaces it
            tmp = lock_path.with_name(f"{lock_path.name}.{os.getpid()}.new")
            handle = _open_lock(tmp, db)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.replace(tmp, lock_path)
            except OSError as exc:
                handle.close()
                tmp.unlink(missing_ok=True)
                raise UserError(f"{db.parent}: cannot take the build lock over ({exc.strerror or exc})") from None
            note = (f"the build that held {lock_path.name} (process {owner}) is gone, but processes it left "
                    "still held the lock: taken over")
        with contextlib.suppress(OSError):  # the name is a courtesy: a full disk may refuse it
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        return handle, note


def _open_lock(path: Path, db: Path):
    try:
        return os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o644), "r+")
    except OSError as exc:
        raise UserError(f"{db.parent}: cannot write here ({exc.strerror or exc})") from None


def _pid_in(handle) -> int | None:
    handle.seek(0)
    text = handle.read(32).strip()
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a process that died but was not reaped yet is gone too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class DatabaseWriter:
    """Write tables into a temporary file beside `db`, then swap it in.

    Until `commit()` renames it over the old file the previous database is untouched,
    so an interrupted or failed build leaves it as it was (the caller holds build_lock).
    """

    def __init__(self, db: Path, tables: list[str]):
        self.db = Path(db)
        try:
            handle, tmp_name = tempfile.mkstemp(prefix=f".{self.db.name}.", suffix=".tmp", dir=self.db.parent)
        except OSError as exc:
            raise UserError(f"{self.db.parent}: cannot write the database here ({exc.strerror or exc})") from None
        os.close(handle)
        self.tmp = Path(tmp_name)
        self.con = None
        try:
            self.tmp.unlink()  # DuckDB must create the file itself
            self.con = duckdb.connect(str(self.tmp))
            for name in tables:
                self.con.register("empty", pa.Table.from_pylist([], schema=SCHEMAS[name]))
                self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM empty')
                self.con.unregister("empty")
        except BaseException:
            self.abort()  # a disk that fills at once leaves no empty file behind
            raise

    def append(self, name: str, table: pa.Table) -> None:
        if table.num_rows:
            self.con.register("incoming", table)
            self.con.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
            self.con.unregister("incoming")

    def commit(self) -> None:
        self.con.execute("CHECKPOINT")
        self.con.close()
        # a WAL left by a crashed writer of the old file would be replayed onto the new one
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{self.db}.wal")
        os.replace(self.tmp, self.db)

    def abort(self) -> None:
        if self.con is not None:
            with contextlib.suppress(duckdb.Error):
                self.con.close()
        for leftover in (self.tmp, Path(f"{self.tmp}.wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def write_database(db: Path, tables: dict[str, pa.Table], statements: tuple[str, ...] = ()) -> None:
    """Write whole tables atomically (see DatabaseWriter), then run `statements` (fix-ups)."""
    try:
        writer = DatabaseWriter(db, list(tables))
    except duckdb.Error as exc:
        raise _write_failure(db, exc) from None
    try:
        for name, table in tables.items():
            writer.append(name, table)
        for statement in statements:
            writer.con.execute(statement)
        writer.commit()
    except duckdb.Error as exc:
        writer.abort()
        raise _write_failure(db, exc) from None
    except BaseException:
        writer.abort()
        raise


# DuckDB reports a write the machine refused (disk full, I/O error, a file size limit) as
# the error of whichever step met it (IOException, or TransactionException at a commit)
_MACHINE = ("No space left", "Could not write", "Input/output error", "File too large", "Disk quota", "disk is full")


def _write_failure(db: Path, exc: duckdb.Error) -> Exception:
    """A refused write as one line for the user; anything else (a bug) as it is."""
    if not isinstance(exc, duckdb.IOException) and not any(word in str(exc) for word in _MACHINE):
        return exc
    return UserError(f"{db}: the database could not be written ({_first_line(exc)}); the previous one is unchanged")


# --- reading: the build and the workspace as one set of tables ----------------------------

# annotations as career facts: they outrank every inferred fact (careers.PRECEDENCE)
ANNOTATION_FACTS_SQL = """
SELECT a.person_id, a.stage, a.institution_id, a.institution, a.country, a.sector,
       NULL::INTEGER AS start_year, NULL::INTEGER AS end_year, 'annotation' AS source, 1.0::FLOAT AS confidence,
       concat_ws('; ', 'annotated ' || a.imported_at, a.evidence_url, a.notes) AS evidence
FROM annotations a
WHERE a.person_id IN (SELECT person_id FROM build.persons)
"""


class _Composed:
    """An in-memory DuckDB: the build attached read-only, the workspace snapshot as tables."""

    def __init__(self, db: Path, stamp: tuple):
        self.db, self.stamp = db, stamp
        self.generation: int | None = None
        self.lock = threading.Lock()
        self.con = duckdb.connect()
        try:
            self.con.execute(f"ATTACH '{_quote(str(db))}' AS build (READ_ONLY)")
        except duckdb.Error as exc:
            self.con.close()
            raise UserError(f"{db}: not a readable talent-tracker database ({_first_line(exc)})") from None
        present = {r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'build'").fetchall()}
        if "build_info" not in present:
            self.con.close()
            raise UserError(f"{db}: not a talent-tracker database (no build_info table)")
        for name in BUILD_TABLES:
            if name in present and name != "careers":
                self.con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM build."{name}"')
        if "predictions" not in present:  # built by an earlier version: no predictions yet
            self.con.register("empty", pa.Table.from_pylist([], schema=SCHEMAS["predictions"]))
            self.con.execute('CREATE TABLE predictions AS SELECT * FROM empty')
            self.con.unregister("empty")
        for name in SNAPSHOT_TABLES:
            self.con.register("empty", pa.Table.from_pylist([], schema=SCHEMAS[name]))
            self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM empty')
            self.con.unregister("empty")
        # a database of an earlier version also held the annotation facts itself
        self.con.execute("CREATE VIEW careers AS SELECT * FROM build.careers WHERE source <> 'annotation' "
                         "UNION ALL " + ANNOTATION_FACTS_SQL)
        self.con.execute(CAREER_STAGES_SQL)

    def refresh(self, workspace: workspaces.Workspace | None) -> None:
        """Take a new snapshot of the workspace if it changed since the last one."""
        if workspace is None:
            return
        generation = workspace.generation()
        if generation == self.generation:
            return
        with self.lock:
            if generation == self.generation:
                return
            with workspace.read():
                generation = workspace.generation()
                tables = {name: workspace.table(name, SCHEMAS[name]) for name in SNAPSHOT_TABLES}
            cursor = self.con.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                for name, table in tables.items():
                    cursor.register("incoming", table)
                    cursor.execute(f'DELETE FROM "{name}"')
                    cursor.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
                    cursor.unregister("incoming")
                cursor.execute("COMMIT")
            finally:
                cursor.close()
            self.generation = generation


def _stamp(db: Path) -> tuple:
    try:
        info = os.stat(db)
    except FileNotFoundError:
        raise UserError(f"{db}: database not found (create it with `talent-tracker build`)") from None
    except OSError as exc:
        raise UserError(f"{db}: cannot be read ({exc.strerror or exc})") from None
    if not os.path.isfile(db):
        raise UserError(f"{db}: not a database file")
    return info.st_ino, info.st_mtime_ns, info.st_size


class Tracker:
    """One database and its workspace as readers see them. It owns the read connection
    (rebuilt only when a new build replaces the file, brought up to date when the
    workspace changes) and a bounded memo of figures derived from them, so that a server
    or a command computes each figure once per build and workspace generation.

    The CLI makes one per command, the web app one per server (`app.state.tracker`), the
    site publisher one per run; nothing is shared between them through module state.
    It is also a path (os.PathLike) to the database file, for code that needs the file."""

    MEMO_SIZE = 128  # figures kept per region; a population's members and facts may each take megabytes

    def __init__(self, db: Path | str):
        self.db = Path(db)
        self._composed: _Composed | None = None
        self._workspace: workspaces.Workspace | None = None
        self._lock = threading.Lock()
        self._memo: dict[str, OrderedDict] = {}  # region -> key -> value (see memo)
        self._pending: dict[tuple, threading.Lock] = {}  # (region, key) being computed

    def __fspath__(self) -> str:
        return str(self.db)

    def __str__(self) -> str:  # messages name the file
        return str(self.db)

    def __repr__(self) -> str:
        return f"Tracker({str(self.db)!r})"

    def _current(self, with_workspace: bool) -> _Composed:
        stamp = _stamp(self.db)
        with self._lock:
            composed = self._composed
            if composed is None or composed.stamp != stamp:
                # a new build: readers still using the old one keep it until they finish
                if _has_legacy_tables(self.db):
                    workspaces.open_workspace(self.db, create=True).close()
                composed = _Composed(self.db, stamp)
                self._composed = composed
                self._memo.clear()
        if with_workspace or composed.generation is None:
            composed.refresh(self.workspace())
        return composed

    def workspace(self, create: bool = False) -> workspaces.Workspace | None:
        """The database's workspace (annotations, samples, users), opened once; None if
        there is none yet and `create` is false."""
        with self._lock:
            if self._workspace is not None and self._workspace.path.exists():
                return self._workspace
            self._workspace = workspaces.open_workspace(self.db, create=create)
            return self._workspace

    @contextlib.contextmanager
    def reader(self, with_workspace: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor over the build and the workspace snapshot (see _Composed).

        `with_workspace=False` skips bringing the snapshot up to date: for queries of the
        build's tables alone, which then need not wait for the workspace's latest writes."""
        cursor = self._current(with_workspace).con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def rows(self, sql: str, params: list | None = None, with_workspace: bool = True) -> list[dict]:
        """A query's rows as dicts keyed by column name."""
        with self.reader(with_workspace) as con:
            return rows(con, sql, params)

    def build_stamp(self) -> tuple:
        """Changes when a new build replaces the database."""
        return _stamp(self.db)

    def workspace_generation(self) -> int:
        """Changes with every write to the workspace."""
        workspace = self.workspace()
        return workspace.generation() if workspace is not None else 0

    def memo(self, key: tuple, compute, region: str = "figures", size: int | None = None):
        """`compute()`, kept under `key` (which should hold the build stamp and, for
        figures that read the workspace, its generation) in `region`, an LRU of `size`
        entries (MEMO_SIZE by default), until evicted, a new build or `close()`. Each key
        is computed once, also when many threads ask for it at once."""
        with self._lock:
            kept = self._memo.setdefault(region, OrderedDict())
            if key in kept:
                kept.move_to_end(key)
                return kept[key]
            key_lock = self._pending.setdefault((region, key), threading.Lock())
        try:
            with key_lock:
                with self._lock:
                    kept = self._memo.setdefault(region, OrderedDict())
                    if key in kept:
                        return kept[key]
                value = compute()  # outside the tracker's lock: figures take a while and use the reader
                with self._lock:
                    kept = self._memo.setdefault(region, OrderedDict())
                    kept[key] = value
                    while len(kept) > (size or self.MEMO_SIZE):
                        kept.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop((region, key), None)

    def close(self) -> None:
        with self._lock:
            if self._composed is not None:
                self._composed.con.close()
            if self._workspace is not None:
                self._workspace.close()
            self._composed = self._workspace = None
            self._memo.clear()


def tracker_of(source: Tracker | Path | str) -> Tracker:
    """The tracker itself, or a new one for a path (which lives as long as the caller keeps it)."""
    return source if isinstance(source, Tracker) else Tracker(source)


def _has_legacy_tables(db: Path) -> bool:
    """A database of an earlier version holds human work the workspace must take over."""
    if workspaces.path_for(db).exists():
        return False
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return False
    try:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                                "('annotations', 'users', 'samples')").fetchone()[0])
    finally:
        con.close()


@contextlib.contextmanager
def reader(source: Tracker | Path | str, with_workspace: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of `source`'s tracker; for a path, of a tracker made for this one read and
    closed after it (for one-off reads: a long-lived caller keeps a Tracker)."""
    if isinstance(source, Tracker):
        with source.reader(with_workspace) as cursor:
            yield cursor
        return
    tracker = Tracker(source)
    try:
        with tracker.reader(with_workspace) as cursor:
            yield cursor
    finally:
        tracker.close()


def rows(con, sql: str, params: list | None = None) -> list[dict]:
    """A query's rows as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def build_stamp(source: Tracker | Path | str) -> tuple:
    """Changes when a new build replaces the database (for caches of derived figures)."""
    return _stamp(Path(source))


def workspace_generation(source: Tracker | Path | str) -> int:
    """Changes with every write to the workspace (for caches of figures that use it)."""
    if isinstance(source, Tracker):
        return source.workspace_generation()
    workspace = workspaces.open_workspace(Path(source), create=False)
    if workspace is None:
        return 0
    try:
        return workspace.generation()
    finally:
        workspace.close()


EXPORTABLE = (*BUILD_TABLES, "career_stages", *workspaces.TABLES)
EXPORT_FORMATS = ("csv", "parquet", "json")


def export_table(db: Path, table: str, fmt: str, output: Path) -> int:
    """Write one table to csv, parquet or json (an array of objects); returns the row count.

    CSV cells that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or
    carriage return) are written with a leading `'`.
    """
    options = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet", "json": "FORMAT json, ARRAY true"}
    if fmt not in options:
        raise UserError(f"unknown export format {fmt!r} (choose csv, parquet or json)")
    if table not in EXPORTABLE:
        raise UserError(f"no table {table!r} (tables: {', '.join(EXPORTABLE)})")
    output = Path(output)
    check_output_file(output)
    with reader(db) as con:
        if table in workspaces.TABLES and table not in SNAPSHOT_TABLES:
            workspace = workspaces.open_workspace(db)
            con.register("exported", workspace.table(table, SCHEMAS[table]))
            source = "exported"
        else:
            source = f'"{table}"'
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        select = ", ".join(_csv_safe(name) if fmt == "csv" and kind == "VARCHAR" else f'"{name}"'
                           for name, kind, *_ in described)
        order = ORDER.get(table, "ALL")
        tmp = output.with_name(f".{output.name}.tmp")
        try:
            con.execute(f"COPY (SELECT {select} FROM {source} ORDER BY {order}) TO '{_quote(str(tmp))}' "
                        f"({options[fmt]})")
            os.replace(tmp, output)
        except (duckdb.IOException, OSError) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise UserError(f"{output}: cannot be written ({_first_line(exc)})") from None
        return con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]


def csv_safe(value):
    """A CSV cell a spreadsheet will not run as a formula: text starting with `=`, `+`,
    `-`, `@`, a tab or a carriage return gets a leading `'` (names, titles and
    affiliations come from source data anyone can write into); other values are kept."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_safe(column: str) -> str:
    """csv_safe as SQL, for a text column of an export."""
    return (f"""CASE WHEN regexp_matches("{column}", '^[=+\\-@\\t\\r]') THEN '''' || "{column}" """
            f"""ELSE "{column}" END AS "{column}\"""")


def check_output_file(output: Path) -> None:
    """One clear line, before any work, for an output file that cannot be written."""
    output = Path(output)
    parent = output.parent
    if output.is_dir():
        raise UserError(f"{output}: is a folder, not a file; give a file name")
    if not parent.exists():
        raise UserError(f"{parent}: output directory not found")
    if not parent.is_dir():
        raise UserError(f"{parent}: is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{parent}: output directory is not writable")
    if os.path.lexists(output) and (output.is_symlink() or not output.is_file()):
        # a device, FIFO or link: an output is written beside it and renamed over it,
        # which would replace the device or link itself
        raise UserError(f"{output}: exists and is not a regular file; choose another output")
    if output.exists() and not os.access(output, os.W_OK):
        raise UserError(f"{output}: is not writable")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
