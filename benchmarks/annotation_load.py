"""Load test: annotators saving through the API while the database is rebuilt and the
server is killed (kill -9) and restarted; readers measured meanwhile.

    python benchmarks/annotation_load.py [--db FILE] [--clients 10] [--seconds 60] [--json]

Each client is its own annotator (a user with a token) and saves entries for people of a
sample as fast as it can, keeping the version it was given. At 15% of the run the
database is rebuilt by `talent-tracker build` (the same command that made it, read from
its `build_info`) while the server runs; at 60% the server is killed with SIGKILL and
started again. Clients retry until it answers, re-reading their version when a save's
outcome is unknown. A reader asks GET /api/meta, an analysis and an estimate all along; their latency
is reported for the time annotators save (requests cut by the kill are errors, not
latencies), with an estimate from the sample, which every save changes.

Afterwards every acknowledged save must be in the workspace: per annotator, the audit
log's saves are at least the acknowledged ones and equal the sum of the final versions,
and every acknowledged version is at most the final one. And the server must show the
new build without having been restarted for it (`built_at` changes before the kill).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
COUNTRIES = ["US", "CN", "GB", "DE", "FR", "CA", "IN", "KR", "JP", "CH"]


def start_server(db: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "serve", "--db", str(db), "--port", str(port),
                             "--annotate"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/meta", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def rebuild_command(db: Path) -> list[str]:
    """The build that made `db`, from its build_info."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        settings = json.loads(con.execute("SELECT value FROM build_info WHERE key = 'settings'").fetchone()[0])
    finally:
        con.close()
    command = [sys.executable, "-m", "talent_tracker.cli", "build", "--data", settings["data"], "--db", str(db),
               "--source", settings["source"]]
    for venue in settings["venues"]:
        command += ["--venue", venue]
    if settings["years"]:
        command += ["--years", settings["years"]]
    if settings.get("universities"):
        command += ["--universities", settings["universities"]]
    return command


async def annotator(base: str, token: str, people: list[str], deadline: float, acked: list, seed: int) -> None:
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http:
        sent = 0
        while time.perf_counter() < deadline:
            person = rng.choice(people)
            sent += 1  # every save says something new: a save that changes nothing writes no version
            body = {"version": versions.get(person, 0), "work_country": rng.choice(COUNTRIES),
                    "origin_country": rng.choice(COUNTRIES), "notes": f"load {seed} save {sent}"}
            try:
                response = await http.post(f"/api/annotations/{person}", json=body)
            except httpx.HTTPError:
                versions.pop(person, None)  # outcome unknown: read it back before writing again
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 200:
                versions[person] = response.json()["version"]
                acked.append((person, versions[person]))
            elif response.status_code == 409:
                versions.pop(person, None)
            if person not in versions:
                try:
                    versions[person] = (await http.get(f"/api/annotations/{person}")).json()["version"]
                except (httpx.HTTPError, ValueError, KeyError):
                    await asyncio.sleep(0.2)


async def reader(base: str, deadline: float, latencies: dict, errors: list, built: list, venue: str, year: str) -> None:
    # meta and a build-only analysis (cached per build), and an estimate from the sample,
    # which every save changes, so it is computed afresh each time
    paths = {"meta": "/api/meta", "analysis": f"/api/analyses/work_countries?venue={venue}&years={year}",
             "estimate": f"/api/analyses/origin_countries?venue={venue}&years={year}"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while time.perf_counter() < deadline:
            for name, path in paths.items():
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    errors.append(f"{name}: {type(exc).__name__}")
                    await asyncio.sleep(0.2)
                    continue
                latencies[name].append(time.perf_counter() - started)
                if name == "meta":
                    stamp = response.json().get("built_at")
                    if not built or built[-1][1] != stamp:
                        built.append((time.perf_counter(), stamp))
            await asyncio.sleep(0.02)


def run(db: Path, clients: int, seconds: float, kill: bool = True, rebuild: bool = True) -> dict:
    from talent_tracker.annotations import add_user
    from talent_tracker.store.workspace import open_workspace, path_for

    workspace = open_workspace(db)
    people = [r["person_id"] for r in workspace.rows("SELECT DISTINCT person_id FROM samples ORDER BY 1 LIMIT 50")]
    if not people:
        raise SystemExit("the database has no sample: draw one with talent-tracker sample")
    tokens = {f"load{i}": add_user(workspace, f"load{i}", "annotator", "benchmark") for i in range(clients)}
    before = workspace.rows("SELECT count(*) AS n FROM audit_log WHERE action = 'save'")[0]["n"]
    design = workspace.rows("SELECT venues, years FROM sample_designs ORDER BY created_at DESC LIMIT 1")[0]
    venue, year = json.loads(design["venues"])[0], str(json.loads(design["years"])[0])
    workspace.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = start_server(db, port)
    acked: dict[str, list] = {name: [] for name in tokens}
    latencies: dict[str, list] = {"meta": [], "analysis": [], "estimate": []}
    read_errors: list[str] = []
    built: list = []
    events: dict = {"restart_seconds": [], "rebuild": None}
    deadline = time.perf_counter() + seconds
    command = rebuild_command(db)

    async def rebuild_midway() -> None:
        await asyncio.sleep(seconds * 0.15)
        started = time.perf_counter()
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
        events["rebuild"] = {"exit_code": done.returncode, "seconds": round(time.perf_counter() - started, 1),
                             "finished_at": time.perf_counter(), "stderr": done.stderr[-300:]}

    async def kill_midway() -> None:
        nonlocal server
        await asyncio.sleep(seconds * 0.6)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        killed = time.perf_counter()
        events["killed_at"] = killed
        server = await asyncio.to_thread(start_server, db, port)
        events["restart_seconds"].append(round(time.perf_counter() - killed, 2))

    async def main() -> None:
        tasks = [annotator(base, token, people, deadline, acked[name], i) for i, (name, token) in enumerate(tokens.items())]
        tasks.append(reader(base, deadline, latencies, read_errors, built, venue, year))
        await asyncio.gather(*tasks, *([rebuild_midway()] if rebuild else []), *([kill_midway()] if kill else []))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    server.terminate()
    server.wait(10)

    # read what was kept, as another process would, from the workspace file itself
    con = sqlite3.connect(f"file:{path_for(db)}?mode=ro", uri=True)
    report = {"clients": clients, "seconds": round(elapsed, 1), "killed_and_restarted": kill,
              "restart_seconds": events["restart_seconds"], "acknowledged_saves": sum(len(v) for v in acked.values()),
              "problems": []}
    audit_saves = 0
    for name, saves in acked.items():
        logged = con.execute("SELECT count(*) FROM audit_log WHERE action = 'save' AND actor = ?", [name]).fetchone()[0]
        final = dict(con.execute("SELECT person_id, version FROM submissions WHERE annotator = ?", [name]).fetchall())
        audit_saves += logged
        if logged < len(set(saves)):
            report["problems"].append(f"{name}: {len(saves)} acknowledged but {logged} in the audit log")
        if sum(final.values()) != logged:
            report["problems"].append(f"{name}: versions add up to {sum(final.values())}, the audit log has {logged}")
        lost = [(p, v) for p, v in saves if final.get(p, 0) < v]
        if lost:
            report["problems"].append(f"{name}: {len(lost)} acknowledged versions missing, e.g. {lost[0]}")
    con.close()
    report["audit_log_saves"] = audit_saves
    report["audit_log_saves_before"] = before
    report["saves_per_second"] = round(report["acknowledged_saves"] / elapsed, 1)
    if rebuild:
        rebuilt = events["rebuild"] or {}
        report["rebuild"] = {k: rebuilt.get(k) for k in ("exit_code", "seconds")}
        if rebuilt.get("exit_code") != 0:
            report["problems"].append(f"the rebuild failed: {rebuilt.get('stderr')}")
        # the new build showed in the running server, before the kill restarted it
        shown = [t for t, _ in built[1:] if t < events.get("killed_at", float("inf"))]
        report["rebuild"]["shown_without_restart"] = bool(shown)
        if not shown:
            report["problems"].append("the server did not show the new build before it was restarted")
    for name, values in latencies.items():
        if values:
            ordered = sorted(values)
            report[f"read_{name}_ms"] = {"requests": len(values), "p50": round(statistics.median(ordered) * 1000, 1),
                                         "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
                                         "max": round(ordered[-1] * 1000, 1)}
    report["read_errors"] = len(read_errors)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--no-rebuild", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from talent_tracker.annotations.samples import save
            from talent_tracker.build.pipeline import build
            from talent_tracker.figures.sampling import draw
            from talent_tracker.store.reading import Tracker

            db = Path(tmp) / "annotate.duckdb"
            shared = ROOT.parent / "shared" / "data"
            build(shared / "paperlists", db, venue_names=["neurips"], years="2021",
                  universities=shared / "world-universities" / "world_universities_and_domains.json.gz")
            with Tracker(db) as tracker:
                save(tracker, draw(tracker, ["neurips"], [2021], "top20", 100, "person", 7), Path(tmp) / "sheet.csv")
        print(json.dumps(run(db, args.clients, args.seconds, not args.no_kill, not args.no_rebuild), indent=2))


if __name__ == "__main__":
    main()
