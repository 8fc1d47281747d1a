"""Benchmark: how a build grows with its input, for the same people and for new people.

    python benchmarks/build_scaling.py [--data DIR] [--copies 1,2,4] [--folder nips]

The NeurIPS paper lists (`--folder`) are copied k times as k venues (a venues file gives
each copy NeurIPS' labels): `exact` copies hold the same researchers k times over, so
every name block of the people model is k times larger; `renamed` copies give every
author of copy i a new surname and OpenReview id, so the people are new and the blocks
keep their size. Each build runs in a fresh process; the table gives its wall time and
peak memory (the process and its workers), and both as multiples of one copy. Issue 26
asks for 4 exact copies within 4.5x the memory and 5x the time of one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import resource, sys, time
from pathlib import Path
from talent_tracker.build.pipeline import build
start = time.perf_counter()
result = build(Path(sys.argv[1]), Path(sys.argv[2]), venues_file=Path(sys.argv[3]))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(seconds, max(peak, worker), result.authorships)
"""


def _renamed(record: dict, copy: int) -> dict:
    """The record with every author's surname and OpenReview id marked as copy `copy`'s."""
    record = dict(record)
    field = "author" if "author" in record else "authors"
    names = record.get(field)
    if isinstance(names, str) and names:
        separator = ";" if ";" in names else ", "
        record[field] = separator.join(f"{n.strip()}x{copy}" if n.strip() else n for n in names.split(separator))
    ids = record.get("authorids")
    if isinstance(ids, str) and ids:
        record["authorids"] = ";".join(f"{i}x{copy}" if i.startswith("~") else i for i in ids.split(";"))
    return record


def prepare(source: Path, target: Path, folder: str, k: int, kind: str) -> Path:
    """A data folder of k copies of `source/folder` as venues copy1..copyk, and its venues file."""
    venues = []
    for copy in range(1, k + 1):
        out = target / "paperlists" / f"copy{copy}"
        out.mkdir(parents=True)
        for path in sorted((source / folder).glob(f"{folder}*.json*")):
            year = path.name[len(folder):].split(".")[0]
            records = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
            if kind == "renamed":
                records = [_renamed(r, copy) if isinstance(r, dict) else r for r in records]
            (out / f"copy{copy}{year}.json").write_text(json.dumps(records), "utf-8")
        venues.append(f'[copy{copy}]\nname = "Copy {copy}"\nfolder = "copy{copy}"\n'
                      'accepted = ["Oral", "Spotlight", "Poster", "Accept"]\noral = ["Oral"]\n'
                      'not_accepted = ["Reject", "Withdraw", "Desk Reject", "Journal"]\ntracks = ["main"]\n'
                      'note = "a copy of the NeurIPS lists (benchmarks/build_scaling.py)"\n')
    venues_file = target / "venues.toml"
    venues_file.write_text("\n".join(venues), "utf-8")
    return venues_file


def measure(source: Path, folder: str, k: int, kind: str) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        venues_file = prepare(source, Path(tmp), folder, k, kind)
        out = subprocess.run([sys.executable, "-c", BUILD, str(Path(tmp) / "paperlists"), str(Path(tmp) / "b.duckdb"),
                              str(venues_file)], capture_output=True, text=True, check=True).stdout
    seconds, peak, authorships = out.split()
    return float(seconds), float(peak), int(authorships)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "paperlists")
    parser.add_argument("--copies", default="1,2,4", help="comma-separated k")
    parser.add_argument("--folder", default="nips", help="the venue folder to copy")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    copies = sorted({int(k) for k in args.copies.split(",")} | {1})  # multiples are of one copy
    rows = []
    for kind in ("exact", "renamed"):
        base = None
        for k in copies:
            seconds, peak, authorships = measure(args.data, args.folder, k, kind)
            base = base or (seconds, peak)  # k = 1 comes first
            rows.append({"kind": kind, "copies": k, "authorships": authorships, "seconds": round(seconds, 1),
                         "peak_mib": round(peak), "time_x": round(seconds / base[0], 2),
                         "memory_x": round(peak / base[1], 2)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'kind':8} {'copies':>6} {'authorships':>12} {'seconds':>8} {'peak MiB':>9} {'time x':>7} {'memory x':>9}")
    for r in rows:
        print(f"{r['kind']:8} {r['copies']:>6} {r['authorships']:>12,} {r['seconds']:>8} {r['peak_mib']:>9,} "
              f"{r['time_x']:>7} {r['memory_x']:>9}")


if __name__ == "__main__":
    main()
