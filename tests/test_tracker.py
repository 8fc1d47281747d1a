"""The application's state: one Tracker per database owns its connections; one Population
value describes who a figure is about; modules use each other's public names only."""

from __future__ import annotations

import ast
import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from talent_tracker.errors import UserError
from talent_tracker.figures import analyses, estimates
from talent_tracker.population import Population
from talent_tracker.store import reading

from conftest import ROOT, copy_db, query

SOURCE = ROOT / "src" / "talent_tracker"


def _open_files(path: Path) -> int:
    """How many of this process's file descriptors point at `path`."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") == target
    return count


@pytest.mark.realdata
def test_a_tracker_owns_its_connections_and_closes_them(full_db, tmp_path):
    db = copy_db(full_db, tmp_path / "own.duckdb")
    assert _open_files(db) == 0
    first, second = reading.Tracker(db), reading.Tracker(db)
    rows = first.rows("SELECT venue, year FROM venue_years WHERE venue = ? ORDER BY year", ["iclr"])
    assert rows[0] == {"venue": "iclr", "year": 2013} and len(rows) == 9
    assert second.rows("SELECT count(*) AS n FROM persons")[0]["n"] == query(db, "SELECT count(*) FROM persons")[0][0]
    assert _open_files(db) == 2  # one read connection each: nothing shared through module state
    first.close()
    assert _open_files(db) == 1
    assert second.rows("SELECT count(*) AS n FROM papers")[0]["n"] > 0  # the other is untouched
    second.close()
    assert _open_files(db) == 0


@pytest.mark.realdata
def test_a_tracker_for_one_command_leaves_nothing_open(full_db, tmp_path):
    db = copy_db(full_db, tmp_path / "once.duckdb")
    with reading.Tracker(db) as tracker:
        with tracker.reader() as con:
            assert con.execute("SELECT count(*) FROM authorships").fetchone()[0] > 0
        result = analyses.work_countries(tracker, Population.of(["NeurIPS"], [2021]))
        assert _open_files(db) == 1
    assert result.rows and _open_files(db) == 0


@pytest.mark.realdata
def test_the_memo_follows_the_build(full_db, tmp_path):
    db = copy_db(full_db, tmp_path / "memo.duckdb")
    tracker = reading.Tracker(db)
    calls = []
    key = ("count", tracker.build_stamp())
    assert tracker.memo(key, lambda: calls.append(1) or 7) == 7
    assert tracker.memo(key, lambda: calls.append(1) or 8) == 7 and calls == [1]
    a = estimates.estimate(tracker, ["neurips"], [2021], "top20", "work")
    assert estimates.estimate(tracker, ["neurips"], [2021], "top20", "work") == a
    # a new build replaces the file: the tracker reads the new one, and forgets the old figures
    copy_db(full_db, tmp_path / "next.duckdb")
    os.replace(tmp_path / "next.duckdb", db)
    assert tracker.build_stamp() != key[1]
    assert tracker.memo(("count", tracker.build_stamp()), lambda: 9) == 9
    assert tracker.rows("SELECT count(*) AS n FROM papers")[0]["n"] > 0
    tracker.close()


@pytest.mark.fast
def test_the_memo_computes_a_key_once_when_many_ask_at_once_and_keeps_regions_apart(tmp_path):
    tracker = reading.Tracker(tmp_path / "none.duckdb")  # the memo needs no database
    calls, started = [], threading.Event()

    def slow():
        calls.append(1)
        started.wait(5)
        return "value"

    with ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(tracker.memo, ("k",), slow) for _ in range(8)]
        time.sleep(0.2)  # every thread has asked by now; one computes, the others wait for it
        started.set()
        assert [a.result(10) for a in answers] == ["value"] * 8
    assert calls == [1]
    # each region is its own LRU: filling one evicts nothing from another
    for i in range(5):
        tracker.memo((i,), lambda i=i: i, region="small", size=2)
    assert tracker.memo(("k",), lambda: "again") == "value"
    assert tracker.memo((0,), lambda: "recomputed", region="small", size=2) == "recomputed"
    # a failed computation is not kept, and does not block the next caller
    with pytest.raises(ZeroDivisionError):
        tracker.memo(("bad",), lambda: 1 / 0)
    assert tracker.memo(("bad",), lambda: "fine") == "fine"
    tracker.close()  # and what it kept goes with it
    assert tracker.memo(("k",), lambda: "after close") == "after close"


@pytest.mark.fast
def test_one_population_value_parsed_once():
    p = Population.of(["NeurIPS", "nips", "icml"], [2021, 2019, 2021], "top2", "hq")
    assert p == Population(("icml", "neurips"), (2019, 2021), "top2", "hq")
    assert p.label == "icml+neurips 2019-2021 top2 (headquarters)"
    assert p.with_(tier="top20").tier == "top20" and p.tier == "top2"
    assert Population.of(None, None).label == "neurips all years top20"
    with pytest.raises(UserError, match="unknown venue"):
        Population.of(["cvpr"])
    for bad in ({"tier": "top5"}, {"place": "moon"}, {"venues": ()}):
        with pytest.raises(UserError) as caught:
            Population(**bad)
        assert "--" not in str(caught.value)  # worded in the domain, not in one interface's flags


@pytest.mark.realdata
def test_the_population_selects_what_sql_selects(full_db):
    p = Population.of(["neurips"], [2021], "top2")
    where, params = p.where()
    with reading.Tracker(full_db) as tracker, tracker.reader() as con:
        people = con.execute(f"SELECT count(DISTINCT a.person_id) FROM authorships a WHERE {where}", params).fetchone()[0]
    assert people == query(full_db, "SELECT count(DISTINCT person_id) FROM authorships WHERE venue = 'neurips' "
                                    "AND year = 2021 AND accepted AND tier = 'top2'")[0][0] > 0


def _modules() -> list[tuple[str, ast.Module]]:
    return [(".".join(path.relative_to(SOURCE.parent).with_suffix("").parts), ast.parse(path.read_text("utf-8")))
            for path in sorted(SOURCE.rglob("*.py"))]


@pytest.mark.fast
def test_no_module_imports_another_modules_private_names():
    offences = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                offences += [f"{name}: from {node.module} import {a.name}" for a in node.names
                             if a.name.startswith("_") and a.name != "__version__" and node.module != "__future__"]
    assert offences == []


@pytest.mark.fast
def test_no_connection_is_kept_in_module_state():
    # module-level names bound to a mutable container or a connection-like value are state
    # that outlives the object that should own it
    offences = []
    for name, tree in _modules():
        for node in tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                value = node.value
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if isinstance(value, ast.Call) and getattr(value.func, "attr", getattr(value.func, "id", "")) in (
                        "connect", "Lock", "RLock", "local"):
                    offences.append(f"{name}: {names}")
                if isinstance(value, ast.Constant) and value.value is None and any(n.startswith("_") for n in names):
                    offences.append(f"{name}: {names} = None (a global set later)")
            if isinstance(node, ast.Global):
                offences.append(f"{name}: global {node.names}")
    assert offences == []
