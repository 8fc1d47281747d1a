"""Benchmark: resolve every authorship in ../shared/data to institution, country, sector.

    python benchmarks/resolve_affiliations.py [--shared ../shared/data]

Reads every authorship's affiliation and e-mail domain from the paper lists and the
conference CSV (through the project's own sources), then times loading the resolver
(registry, world-universities list, place tables) and resolving all of them in one
process, with an empty cache. Prints counts, seconds and resolution coverage.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb

from talent_tracker.build.pipeline import build
from talent_tracker.institutions import load_resolver, places

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    universities = args.shared / "world-universities" / "world_universities_and_domains.json.gz"
    pairs: list[tuple[str | None, str | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, data in (("paperlists", args.shared / "paperlists"), ("conference-csv", args.shared / "conference-csv")):
            db = Path(tmp) / f"{source}.duckdb"
            build(data, db, source=source, universities=universities)
            con = duckdb.connect(str(db), read_only=True)
            pairs += con.execute("SELECT affiliation, email_domain FROM authorships").fetchall()
            con.close()
    for table in (places.city_names, places.country_names, places.region_names, places._all_places):
        table.cache_clear()  # time the place tables too, as a fresh process would
    start = time.perf_counter()
    resolver, _ = load_resolver(universities)
    resolver.warm()
    loaded = time.perf_counter() - start
    results = [resolver.resolve(text, domain) for text, domain in pairs if text or domain]
    seconds = time.perf_counter() - start
    figures = {
        "authorships": len(pairs),
        "with_affiliation_or_domain": len(results),
        "distinct_queries": len({p for p in pairs if p[0] or p[1]}),
        "load_seconds": round(loaded, 2),
        "total_seconds": round(seconds, 2),
        "with_country": sum(1 for r in results if r.country),
        "with_institution": sum(1 for r in results if r.institution_id),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
