"""Benchmark: build all of ../shared/data/paperlists, against merely parsing it.

    python benchmarks/build_paperlists.py [--data DIR] [--repeat 3]

Prints the wall time and peak memory of a full build (institution resolution included), the time to decompress and
parse the same files with the standard library (gzip + json), and their ratio. Each
is the best of --repeat runs, in fresh processes so that caches and peak memory do
not carry over, the two taken in turn.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PARSE_ONLY = """
import gzip, json, sys, time
from pathlib import Path
files = sorted(Path(sys.argv[1]).glob("*/*.json*"))
start = time.perf_counter()
for f in files:
    opener = gzip.open if f.suffix == ".gz" else open
    with opener(f, "rb") as handle:
        json.loads(handle.read())
print(time.perf_counter() - start)
"""

BUILD = """
import resource, sys, time
from pathlib import Path
from talent_tracker.build.pipeline import build
start = time.perf_counter()
result = build(Path(sys.argv[1]), Path(sys.argv[2]), universities=Path(sys.argv[3]) if len(sys.argv) > 3 else None)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(seconds, peak, worker, result.papers, result.authorships)
"""


def run(code: str, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
    return [float(x) for x in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "paperlists")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--universities", type=Path,
                        default=ROOT.parent / "shared" / "data" / "world-universities" / "world_universities_and_domains.json.gz")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    # parse and build in turn: a slower spell of a shared machine falls on both, not on one
    parses, builds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            parses.append(run(PARSE_ONLY, str(args.data))[0])
            builds.append(run(BUILD, str(args.data), str(Path(tmp) / "bench.duckdb"), str(args.universities)))
    parse = min(parses)
    seconds, _, _, papers, authorships = min(builds)
    figures = {
        "files": len(sorted(args.data.glob("*/*.json*"))), "papers": int(papers), "authorships": int(authorships),
        "parse_only_seconds": round(parse, 3), "build_seconds": round(seconds, 3),
        "ratio": round(seconds / parse, 2), "build_peak_memory_mib": round(max(b[1] for b in builds), 1),
        "largest_worker_peak_memory_mib": round(max(b[2] for b in builds), 1),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
