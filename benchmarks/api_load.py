"""Benchmark: API latency under 20 concurrent clients, on a database of all ../shared/data.

    python benchmarks/api_load.py [--db FILE] [--clients 20] [--seconds 30]

Builds the paper lists (with institutions and people) unless --db is given, starts
`talent-tracker serve` in its own process, asks every analysis once per filter setting to
warm the cache the way a visitor's first clicks would, then has each client request a
random mix for --seconds: analyses and country profiles with random filters, people
searched by a random fragment of a real name (`/api/persons?q=`), a person
(`/api/persons/{id}`, from a pool of --people real people, each asked once while warming
up) and institutions searched or filtered (`/api/institutions`). Prints the latency
percentiles, overall and per kind of request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
ANALYSES = ["work_countries", "work_sectors", "top_institutions", "top_institutions_asia", "trends", "editions", "net_flows",
            "tier_comparison", "origin_countries", "graduate_countries", "flows", "map"]


KINDS = ("analysis", "country", "persons", "person", "institutions")


def settings() -> list[dict]:
    out = []
    for venue in ("neurips", "icml", "iclr"):
        for years in (None, "2018", "2019", "2021", "2010-2019"):
            for tier in ("top20", "top2"):
                out.append({"venue": venue, "tier": tier, **({"years": years} if years else {})})
    return out


def pools(base: str, people: int, seed: int = 0) -> dict:
    """Real names, people and institutions to ask for, read from the API itself: name
    fragments (a name's word, or 3-6 letters of it), person ids, institution countries and
    name fragments."""
    rng = random.Random(seed)
    first = httpx.get(f"{base}/api/persons", params={"per_page": 500}, timeout=60).json()
    pages = max(1, -(-first["total"] // 500))
    rows = list(first["rows"])
    for page in rng.sample(range(2, pages + 1), min(5, pages - 1)):
        rows += httpx.get(f"{base}/api/persons", params={"per_page": 500, "page": page}, timeout=60).json()["rows"]
    names = [r["display_name"] for r in rows if r["display_name"]]
    fragments = []
    for name in rng.sample(names, min(2000, len(names))):
        words = [w for w in name.split() if len(w) >= 3]
        if words and rng.random() < 0.5:
            fragments.append(rng.choice(words))
        elif len(name) >= 3:
            size = rng.randint(3, min(6, len(name)))
            start = rng.randrange(0, len(name) - size + 1)
            fragments.append(name[start:start + size])
    institutions = httpx.get(f"{base}/api/institutions", params={"per_page": 500}, timeout=60).json()["rows"]
    return {
        "fragments": fragments,
        "people": [r["person_id"] for r in rng.sample(rows, min(people, len(rows)))],
        "countries": sorted({r["country"] for r in institutions if r["country"]}),
        "institution_words": sorted({w for r in institutions for w in (r["name"] or "").split() if len(w) >= 4}),
    }


def request_of(rng: random.Random, kind: str, options: list[dict], pool: dict) -> tuple[str, dict]:
    if kind == "analysis":
        return f"/api/analyses/{rng.choice(ANALYSES)}", rng.choice(options)
    if kind == "country":
        return f"/api/countries/{rng.choice(['US', 'CN', 'GB'])}", rng.choice(options)
    if kind == "persons":
        params = {"q": rng.choice(pool["fragments"])}
        if rng.random() < 0.3:
            params.update(rng.choice(options))
        return "/api/persons", params
    if kind == "person":
        return f"/api/persons/{quote(rng.choice(pool['people']), safe='')}", {}
    if rng.random() < 0.5:
        return "/api/institutions", {"q": rng.choice(pool["institution_words"])}
    return "/api/institutions", {"country": rng.choice(pool["countries"]),
                                 **({"sector": "industry"} if rng.random() < 0.5 else {})}


async def client(base: str, deadline: float, latencies: dict[str, list[float]], errors: list[int], seed: int,
                 pool: dict) -> None:
    rng = random.Random(seed)
    options = settings()
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.perf_counter() < deadline:
            kind = rng.choice(KINDS)
            path, params = request_of(rng, kind, options, pool)
            start = time.perf_counter()
            response = await http.get(path, params=params)
            latencies[kind].append(time.perf_counter() - start)
            if response.status_code >= 500 or (kind != "analysis" and response.status_code != 200):
                errors.append(response.status_code)


async def load(base: str, clients: int, seconds: float, pool: dict) -> tuple[dict[str, list[float]], list[int]]:
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    errors: list[int] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client(base, deadline, latencies, errors, i, pool) for i in range(clients)))
    return latencies, errors


def percentiles(latencies: list[float]) -> dict:
    latencies = sorted(latencies)
    if not latencies:
        return {"requests": 0}
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "p50_ms": round(pct(0.50), 1), "p95_ms": round(pct(0.95), 1),
            "p99_ms": round(pct(0.99), 1), "mean_ms": round(statistics.mean(latencies) * 1000, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--people", type=int, default=500, help="people in the pool /api/persons/{id} asks for")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from talent_tracker.build.pipeline import build

            db = Path(tmp) / "full.duckdb"
            shared = ROOT.parent / "shared" / "data"
            build(shared / "paperlists", db,
                  universities=shared / "world-universities" / "world_universities_and_domains.json.gz")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "serve", "--db", str(db),
                                   "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/api/meta", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            warm = time.perf_counter()
            for option in settings():
                for name in ANALYSES:
                    httpx.get(f"{base}/api/analyses/{name}", params=option, timeout=60)
                for code in ("US", "CN", "GB"):
                    httpx.get(f"{base}/api/countries/{code}", params=option, timeout=60)
            for option in settings():
                httpx.get(f"{base}/api/persons", params=option, timeout=60)
            pool = pools(base, args.people)
            for person in pool["people"]:
                httpx.get(f"{base}/api/persons/{quote(person, safe='')}", timeout=60)
            warmed = time.perf_counter() - warm
            latencies, errors = asyncio.run(load(base, args.clients, args.seconds, pool))
        finally:
            server.terminate()
            server.wait(10)
    every = [x for kind in KINDS for x in latencies[kind]]
    print(json.dumps({
        "clients": args.clients, "seconds": args.seconds,
        "requests_per_second": round(len(every) / args.seconds, 1), "server_errors": len(errors),
        **percentiles(every), "warm_up_seconds": round(warmed, 1),
        "by_kind": {kind: percentiles(latencies[kind]) for kind in KINDS},
    }, indent=2))


if __name__ == "__main__":
    main()
