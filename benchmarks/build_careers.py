"""Benchmark: what building careers adds, on all of ../shared/data/paperlists.

    python benchmarks/build_careers.py [--shared ../shared/data]

Builds the paper lists once, then times the careers stage on every authorship: the facts
from job titles and the affiliation trail, and writing them with the `career_stages` view.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from talent_tracker.build.pipeline import build
from talent_tracker.careers.derive import facts_from_authorships
from talent_tracker.stages import CAREER_STAGES_SQL
from talent_tracker.store.schema import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "full.duckdb"
        build(args.shared / "paperlists", db,
              universities=args.shared / "world-universities" / "world_universities_and_domains.json.gz")
        con = duckdb.connect(str(db), read_only=True)
        authorships = con.sql("SELECT * FROM authorships").to_arrow_table()
        con.close()
        start = time.perf_counter()
        facts = facts_from_authorships(authorships)
        inferred = time.perf_counter() - start
        out = duckdb.connect(str(Path(tmp) / "careers.duckdb"))
        out.register("facts", pa.Table.from_pylist(facts, schema=SCHEMAS["careers"]))
        out.execute("CREATE TABLE careers AS SELECT * FROM facts")
        out.execute(CAREER_STAGES_SQL)
        chosen = out.execute("SELECT count(*) FROM career_stages").fetchone()[0]
        out.close()
        total = time.perf_counter() - start
    print(json.dumps({"authorships": authorships.num_rows, "facts": len(facts), "chosen_stages": chosen,
                      "facts_seconds": round(inferred, 2), "total_seconds": round(total, 2)}, indent=2))


if __name__ == "__main__":
    main()
