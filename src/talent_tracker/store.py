"""The DuckDB file: table schemas, the atomic build swap, read-only access, exports."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from .errors import UserError

DEFAULT_DB = "talent-tracker.duckdb"
RESOLUTION_COLUMNS = ("institution_id", "institution", "country", "sector", "resolution_method",
                      "resolution_confidence", "other_institution_ids")
# tables of analysts' work: a rebuild copies them from the database it replaces
KEPT_TABLES = ("annotations", "samples", "sample_designs", "users", "submissions", "decisions", "audit_log")
# columns of `authorships` filled by stages after a file is read
LATER_COLUMNS = (*RESOLUTION_COLUMNS, "person_id")

_str, _int, _bool = pa.string(), pa.int32(), pa.bool_()
_strs = pa.list_(pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "papers": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("title", _str), ("track", _str),
        ("status", _str), ("accepted", _bool), ("tier", _str), ("n_authors", _int), ("url", _str),
        ("source", _str), ("source_file", _str), ("source_record", _str),
    ]),
    "authorships": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("status", _str), ("accepted", _bool),
        ("tier", _str), ("author_position", _int), ("author_name", _str), ("openreview_id", _str),
        ("email", _str), ("email_domain", _str), ("affiliation", _str), ("job_title", _str),
        ("alignment", _str), ("source_institutions", _strs), ("source_countries", _strs),
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
    "annotations": pa.schema([
        ("person_id", _str), ("stage", _str), ("institution_id", _str), ("institution", _str), ("country", _str),
        ("sector", _str), ("evidence_url", _str), ("notes", _str), ("sheet", _str), ("imported_at", _str),
    ]),
    "samples": pa.schema([("sample_id", _str), ("person_id", _str), ("stratum", _str), ("paper", _str)]),
    "sample_designs": pa.schema([
        ("sample_id", _str), ("venues", _strs), ("years", pa.list_(_int)), ("tier", _str), ("design", _str),
        ("size", _int), ("seed", pa.int64()), ("population_size", _int), ("strata", _str), ("clusters_total", _int),
        ("created_at", _str),
    ]),
    # the annotation workflow (annotate.py)
    "users": pa.schema([("name", _str), ("role", _str), ("token_sha256", _str), ("created_at", _str)]),
    "submissions": pa.schema([
        ("person_id", _str), ("annotator", _str), ("sample_id", _str),
        ("origin_institution_id", _str), ("origin_institution", _str), ("origin_country", _str),
        ("graduate_institution_id", _str), ("graduate_institution", _str), ("graduate_country", _str),
        ("work_institution_id", _str), ("work_institution", _str), ("work_country", _str), ("work_sector", _str),
        ("undetermined", _strs), ("confidence", _str), ("evidence_url", _str), ("notes", _str),
        ("version", _int), ("updated_at", _str),
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
}


class DatabaseWriter:
    """Write tables into a temporary file beside `db`, then swap it in.

    Until `commit()` renames it over the old file the previous database is untouched,
    so an interrupted or failed build leaves it as it was. Rows can be appended while a
    build is still reading (the tables are created from `SCHEMAS` up front).
    """

    def __init__(self, db: Path, tables: list[str]):
        self.db = Path(db)
        self.db.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{self.db.name}.", suffix=".tmp", dir=self.db.parent)
        os.close(handle)
        self.tmp = Path(tmp_name)
        self.tmp.unlink()  # DuckDB must create the file itself
        self.con = duckdb.connect(str(self.tmp))
        for name in tables:
            self.con.register("empty", pa.Table.from_pylist([], schema=SCHEMAS[name]))
            self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM empty')
            self.con.unregister("empty")

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
        release(self.db)
        os.replace(self.tmp, self.db)

    def abort(self) -> None:
        with contextlib.suppress(duckdb.Error):
            self.con.close()
        for leftover in (self.tmp, Path(f"{self.tmp}.wal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def write_database(db: Path, tables: dict[str, pa.Table], statements: tuple[str, ...] = ()) -> None:
    """Write whole tables atomically (see DatabaseWriter), then run `statements` (views, fix-ups)."""
    writer = DatabaseWriter(db, list(tables))
    try:
        for name, table in tables.items():
            writer.append(name, table)
        for statement in statements:
            writer.con.execute(statement)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


@contextlib.contextmanager
def connect_read_only(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    db = Path(db)
    if not db.is_file():
        raise UserError(f"{db}: database not found (create it with `talent-tracker build`)")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise UserError(f"{db}: not a readable talent-tracker database ({_first_line(exc)})") from None
    try:
        yield con
    finally:
        con.close()


_READERS: dict[str, tuple[float, duckdb.DuckDBPyConnection]] = {}
_READERS_LOCK = threading.Lock()


_WRITERS: dict[str, duckdb.DuckDBPyConnection] = {}


def share_writable(db: Path, con: duckdb.DuckDBPyConnection | None) -> None:
    """Let `reader` hand out cursors of this read-write connection (annotation mode: one
    process may not hold a read-only and a read-write connection to the same file)."""
    key = str(Path(db).resolve())
    with _READERS_LOCK:
        if con is None:
            _WRITERS.pop(key, None)
        else:
            _WRITERS[key] = con


@contextlib.contextmanager
def reader(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on a shared read-only connection: for the many small queries of analyses,
    publishing and the web server. Reopened when the file is replaced by a rebuild."""
    db = Path(db)
    writable = _WRITERS.get(str(db.resolve()))
    if writable is not None:
        cursor = writable.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    try:
        stamp = db.stat().st_mtime_ns
    except FileNotFoundError:
        raise UserError(f"{db}: database not found (create it with `talent-tracker build`)") from None
    key = str(db.resolve())
    with _READERS_LOCK:
        cached = _READERS.get(key)
        if cached is None or cached[0] != stamp:
            if cached is not None:
                with contextlib.suppress(duckdb.Error):
                    cached[1].close()
            try:
                _READERS[key] = (stamp, duckdb.connect(key, read_only=True))
            except duckdb.Error as exc:
                raise UserError(f"{db}: not a readable talent-tracker database ({_first_line(exc)})") from None
        cursor = _READERS[key][1].cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def release(db: Path) -> None:
    """Close this process's shared read-only connection to `db` (before writing to it)."""
    with _READERS_LOCK:
        cached = _READERS.pop(str(Path(db).resolve()), None)
    if cached is not None:
        with contextlib.suppress(duckdb.Error):
            cached[1].close()


@contextlib.contextmanager
def open_for_update(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to an existing database (for imports; transactions are the caller's)."""
    db = Path(db)
    release(db)
    if not db.is_file():
        raise UserError(f"{db}: database not found (create it with `talent-tracker build`)")
    try:
        con = duckdb.connect(str(db))
    except duckdb.Error as exc:
        raise UserError(f"{db}: cannot open the database for writing ({_first_line(exc)})") from None
    try:
        yield con
    finally:
        con.close()


def read_table_if_present(db: Path, name: str) -> pa.Table | None:
    """A table of an existing database, or None (no database, no such table, unreadable)."""
    if not Path(db).is_file():
        return None
    try:
        with connect_read_only(db) as con:
            if name not in table_names(con):
                return None
            return con.sql(f'SELECT * FROM "{name}"').to_arrow_table()
    except (UserError, duckdb.Error):
        return None


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
    return [r[0] for r in rows]


def export_table(db: Path, table: str, fmt: str, output: Path) -> int:
    """Write one table to csv, parquet or json (an array of objects); returns the row count."""
    options = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet", "json": "FORMAT json, ARRAY true"}
    if fmt not in options:
        raise UserError(f"unknown export format {fmt!r} (choose csv, parquet or json)")
    output = Path(output)
    with connect_read_only(db) as con:
        names = table_names(con)
        if table not in names:
            raise UserError(f"{db}: no table {table!r} (tables: {', '.join(names)})")
        if not output.parent.is_dir():
            raise UserError(f"{output.parent}: output directory not found")
        order = ORDER.get(table, "ALL")
        tmp = output.with_name(f".{output.name}.tmp")
        con.execute(f"COPY (SELECT * FROM \"{table}\" ORDER BY {order}) TO ? ({options[fmt]})", [str(tmp)])
        os.replace(tmp, output)
        return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
