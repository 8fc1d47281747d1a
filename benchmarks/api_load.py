"""Benchmark: API latency under 20 concurrent clients, on a database of all ../shared/data.

    python benchmarks/api_load.py [--db FILE] [--clients 20] [--seconds 30]

Builds the paper lists (with institutions and people) unless --db is given, starts
`talent-tracker serve` in its own process, asks every analysis once per filter setting to
warm the cache the way a visitor's first clicks would, then has each client request a
random mix of analyses and filters for --seconds, and prints the latency percentiles.
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

import httpx

ROOT = Path(__file__).resolve().parents[1]
ANALYSES = ["work_countries", "work_sectors", "top_institutions", "top_institutions_asia", "trends", "editions", "net_flows",
            "tier_comparison", "origin_countries", "graduate_countries", "flows", "map"]


def settings() -> list[dict]:
    out = []
    for venue in ("neurips", "icml", "iclr"):
        for years in (None, "2018", "2019", "2021", "2010-2019"):
            for tier in ("top20", "top2"):
                out.append({"venue": venue, "tier": tier, **({"years": years} if years else {})})
    return out


async def client(base: str, deadline: float, latencies: list[float], errors: list[int], seed: int) -> None:
    rng = random.Random(seed)
    options = settings()
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.perf_counter() < deadline:
            path = rng.choice([f"/api/analyses/{rng.choice(ANALYSES)}", f"/api/countries/{rng.choice(['US', 'CN', 'GB'])}"])
            start = time.perf_counter()
            response = await http.get(path, params=rng.choice(options))
            latencies.append(time.perf_counter() - start)
            if response.status_code >= 500:
                errors.append(response.status_code)


async def load(base: str, clients: int, seconds: float) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    errors: list[int] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client(base, deadline, latencies, errors, i) for i in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from talent_tracker.build import build

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
            warmed = time.perf_counter() - warm
            latencies, errors = asyncio.run(load(base, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(10)
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(json.dumps({
        "clients": args.clients, "seconds": args.seconds, "requests": len(latencies),
        "requests_per_second": round(len(latencies) / args.seconds, 1), "server_errors": len(errors),
        "p50_ms": round(pct(0.50), 1), "p95_ms": round(pct(0.95), 1), "p99_ms": round(pct(0.99), 1),
        "mean_ms": round(statistics.mean(latencies) * 1000, 1), "warm_up_seconds": round(warmed, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
