"""Benchmark: resolve every authorship in ../shared/data to a person.

    python benchmarks/resolve_people.py [--shared ../shared/data]

Builds the paper lists and the conference CSV into temporary databases, gathers every
authorship (with its resolved institution), and times `resolve_people` over all of them
at once, plus the `persons` table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from talent_tracker.build import build
from talent_tracker.people import mentions_of, persons_table, resolve_people

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    universities = args.shared / "world-universities" / "world_universities_and_domains.json.gz"
    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, data in (("paperlists", args.shared / "paperlists"), ("conference-csv", args.shared / "conference-csv")):
            db = Path(tmp) / f"{source}.duckdb"
            build(data, db, source=source, universities=universities)
            con = duckdb.connect(str(db), read_only=True)
            tables.append(con.sql("SELECT * EXCLUDE (person_id) FROM authorships").to_arrow_table())
            con.close()
    authorships = pa.concat_tables(tables)
    start = time.perf_counter()
    ids = resolve_people(mentions_of(authorships))
    resolved = time.perf_counter() - start
    persons = persons_table(authorships.append_column("person_id", pa.array(ids)))
    print(json.dumps({"authorships": authorships.num_rows, "persons": persons.num_rows,
                      "resolve_seconds": round(resolved, 2),
                      "with_persons_table_seconds": round(time.perf_counter() - start, 2)}, indent=2))


if __name__ == "__main__":
    main()
