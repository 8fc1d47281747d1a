"""Writing the build file: a build writes every derived table into a temporary file beside
the database and renames it over the old one when complete, holding a lock so that two
builds of one database never overlap; nothing else ever replaces it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from talent_tracker.errors import UserError
from talent_tracker.store.schema import SCHEMAS

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
        raise UserError(f"{db}: cannot be opened to check it is a talent-tracker database ({first_line(exc)})") \
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

    def __init__(self, db: Path, tables: list[str], threads: int | None = None):
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
            if threads:
                self.con.execute(f"SET threads = {int(threads)}")
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

    def insert(self, name: str, query: Query) -> None:
        self.con.execute(f'INSERT INTO "{name}" {query.sql}')

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


@dataclass(frozen=True)
class Query:
    """A table made in the database being written, from the tables written before it (its
    columns in the table's order): no round trip through Arrow."""

    sql: str


def write_database(db: Path, tables: dict[str, pa.Table | Callable[[], pa.Table] | Query],
                   statements: tuple[str, ...] = (), threads: int | None = None) -> None:
    """Write whole tables atomically (see DatabaseWriter), in order, then run `statements`
    (fix-ups). A table given as a function is made when its turn comes (it may wait on
    work done beside the writing); one given as a Query is made by the database. `threads`:
    DuckDB's, when not every core (a build leaves one to the work beside it)."""
    try:
        writer = DatabaseWriter(db, list(tables), threads)
    except duckdb.Error as exc:
        raise _write_failure(db, exc) from None
    try:
        for name, table in tables.items():
            if isinstance(table, Query):
                writer.insert(name, table)
            else:
                writer.append(name, table() if callable(table) else table)
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
    return UserError(f"{db}: the database could not be written ({first_line(exc)}); the previous one is unchanged")


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


def sql_text(text: str) -> str:
    """`text` inside a SQL string literal (a path given to ATTACH or COPY)."""
    return text.replace("'", "''")


def first_line(exc: Exception) -> str:
    """An error's first line, for a one-line message."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
