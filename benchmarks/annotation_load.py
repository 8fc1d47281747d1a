"""Load test: concurrent annotators saving through the API while the server is killed and restarted.

    python benchmarks/annotation_load.py [--db FILE] [--clients 10] [--seconds 60]

Each client is its own annotator (a user with a token) and saves entries for people of a
sample as fast as it can, keeping the version it was given. Halfway through, the server is
killed with SIGKILL and started again; clients retry until it answers, re-reading their
version when a save's outcome is unknown. Afterwards every acknowledged save must be in the
database: per annotator, the audit log's saves are at least the acknowledged ones and equal
the sum of the final versions, and every acknowledged version is at most the final one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[1]
COUNTRIES = ["US", "CN", "GB", "DE", "FR", "CA", "IN", "KR", "JP", "CH"]


def start_server(db: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "serve", "--db", str(db), "--port", str(port),
                             "--annotate"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/meta", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


async def annotator(base: str, token: str, people: list[str], deadline: float, acked: list, seed: int) -> None:
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=10, headers=headers) as http:
        while time.perf_counter() < deadline:
            person = rng.choice(people)
            body = {"version": versions.get(person, 0), "work_country": rng.choice(COUNTRIES),
                    "origin_country": rng.choice(COUNTRIES), "notes": f"load {seed}"}
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


def run(db: Path, clients: int, seconds: float, kill: bool = True) -> dict:
    from talent_tracker.store import open_for_update
    from talent_tracker.annotate import add_user

    with open_for_update(db) as con:
        people = [r[0] for r in con.execute("SELECT DISTINCT person_id FROM samples ORDER BY 1 LIMIT 50").fetchall()]
        tokens = {f"load{i}": add_user(con, f"load{i}", "annotator") for i in range(clients)}
        before = con.execute("SELECT count(*) FROM audit_log WHERE action = 'save'").fetchone()[0]
    if not people:
        raise SystemExit("the database has no sample: draw one with talent-tracker sample")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    server = start_server(db, port)
    acked: dict[str, list] = {name: [] for name in tokens}
    deadline = time.perf_counter() + seconds
    restarts = []

    async def chaos() -> None:
        nonlocal server
        await asyncio.sleep(seconds / 2)
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        killed = time.perf_counter()
        server = await asyncio.to_thread(start_server, db, port)
        restarts.append(round(time.perf_counter() - killed, 2))

    async def main() -> None:
        tasks = [annotator(base, token, people, deadline, acked[name], i) for i, (name, token) in enumerate(tokens.items())]
        await asyncio.gather(*tasks, *([chaos()] if kill else []))

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    server.terminate()
    server.wait(10)
    con = duckdb.connect(str(db), read_only=True)
    report = {"clients": clients, "seconds": round(elapsed, 1), "killed_and_restarted": kill,
              "restart_seconds": restarts, "acknowledged_saves": sum(len(v) for v in acked.values()), "problems": []}
    audit_saves = 0
    for name, saves in acked.items():
        logged = con.execute("SELECT count(*) FROM audit_log WHERE action = 'save' AND actor = ?", [name]).fetchone()[0]
        final = dict(con.execute("SELECT person_id, version FROM submissions WHERE annotator = ?", [name]).fetchall())
        audit_saves += logged
        if logged < len(saves):
            report["problems"].append(f"{name}: {len(saves)} acknowledged but {logged} in the audit log")
        if sum(final.values()) != logged:
            report["problems"].append(f"{name}: versions add up to {sum(final.values())}, the audit log has {logged}")
        lost = [(p, v) for p, v in saves if final.get(p, 0) < v]
        if lost:
            report["problems"].append(f"{name}: {len(lost)} acknowledged versions missing, e.g. {lost[0]}")
    report["audit_log_saves"] = audit_saves
    report["audit_log_saves_before"] = before
    report["saves_per_second"] = round(report["acknowledged_saves"] / elapsed, 1)
    report["integrity"] = con.execute("PRAGMA database_size").fetchall() is not None
    con.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from talent_tracker.build import build
            from talent_tracker.sampling import draw, save

            db = Path(tmp) / "annotate.duckdb"
            shared = ROOT.parent / "shared" / "data"
            build(shared / "paperlists", db, venue_names=["neurips"], years="2021",
                  universities=shared / "world-universities" / "world_universities_and_domains.json.gz")
            save(db, draw(db, ["neurips"], [2021], "top20", 100, "person", 7))
        print(json.dumps(run(db, args.clients, args.seconds), indent=2))


if __name__ == "__main__":
    main()
