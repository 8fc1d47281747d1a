"""Reading: the build and the workspace (workspace.py) as one set of tables, through a
`Tracker`, which owns the connections and a memo of derived figures (nothing is kept in
module state): an in-memory DuckDB that attaches the build file read-only and holds a
snapshot of the workspace tables analyses need, with `careers` and `career_stages`
composed from both. A reader notices a new build (the file is replaced) and a change in
the workspace (its generation moves) and looks again, so a running server shows a new
build or a new annotation without a restart."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from talent_tracker.errors import UserError
from talent_tracker.links import KINDS
from talent_tracker.stages import CAREER_STAGES_SQL
from talent_tracker.store import workspace as workspaces
from talent_tracker.store.database import first_line, sql_text
from talent_tracker.store.schema import ANNOTATION_FACTS_SQL, BUILD_TABLES, SCHEMAS, SNAPSHOT_TABLES


class _Composed:
    """An in-memory DuckDB: the build attached read-only, the workspace snapshot as tables."""

    def __init__(self, db: Path, stamp: tuple):
        self.db, self.stamp = db, stamp
        self.generation: int | None = None
        self.lock = threading.Lock()
        self.con = duckdb.connect()
        try:
            self.con.execute(f"ATTACH '{sql_text(str(db))}' AS build (READ_ONLY)")
        except duckdb.Error as exc:
            self.con.close()
            raise UserError(f"{db}: not a readable talent-tracker database ({first_line(exc)})") from None
        present = {r[0] for r in self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'build'").fetchall()}
        if "build_info" not in present:
            self.con.close()
            raise UserError(f"{db}: not a talent-tracker database (no build_info table)")
        for name in BUILD_TABLES:
            if name in present and name != "careers":
                self.con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM build."{name}"')
        for name in ("predictions", "profile_links"):
            if name not in present:  # built by an earlier version: none yet
                self.con.register("empty", pa.Table.from_pylist([], schema=SCHEMAS[name]))
                self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM empty')
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
    Every function of the read side takes one; `tracker.db` is the database file's path."""

    MEMO_SIZE = 128  # figures kept per region; a population's members and facts may each take megabytes

    def __init__(self, db: Path | str):
        self.db = Path(db)
        self._composed: _Composed | None = None
        self._workspace: workspaces.Workspace | None = None
        self._lock = threading.Lock()
        self._memo: dict[str, OrderedDict] = {}  # region -> key -> value (see memo)
        self._pending: dict[tuple, threading.Lock] = {}  # (region, key) being computed

    def __str__(self) -> str:  # messages name the file
        return str(self.db)

    def __repr__(self) -> str:
        return f"Tracker({str(self.db)!r})"

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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


def rows(con, sql: str, params: list | None = None) -> list[dict]:
    """A query's rows as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def profile_links(con, person_ids: list[str]) -> dict[str, list[dict]]:
    """Each person's profile links (`profile_links` of their OpenReview ids): kind, url,
    last_year, openreview_id; in the order of links.KINDS, newest first within a kind."""
    found: dict[str, list[dict]] = {}
    for row in rows(con, """
            SELECT a.person_id, l.kind, l.url, max(l.last_year) AS last_year, min(l.openreview_id) AS openreview_id
            FROM profile_links l
            JOIN (SELECT DISTINCT person_id, openreview_id FROM authorships
                  WHERE person_id IN (SELECT unnest(?)) AND openreview_id IS NOT NULL) a USING (openreview_id)
            GROUP BY a.person_id, l.kind, l.url
            ORDER BY a.person_id, list_position(?, l.kind), last_year DESC, l.url""", [person_ids, list(KINDS)]):
        found.setdefault(row.pop("person_id"), []).append(row)
    return found
