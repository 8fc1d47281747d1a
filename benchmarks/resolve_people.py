"""Benchmark: resolve every authorship in ../shared/data to a person.

    python benchmarks/resolve_people.py [--shared ../shared/data] [--backend duckdb|spark]

Builds the paper lists and the conference CSV into temporary databases, gathers every
authorship (with its resolved institution and its paper's title), and times person
resolution over all of them at once, by stage (features, the model's predictions on the
backend, linking), plus the `persons` table. With `--backend spark` the predictions run
on a local Spark session; its start-up is timed apart.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from talent_tracker.build.pipeline import build
from talent_tracker.people import linkage
from talent_tracker.people.clusters import link, mentions_of, persons_table
from talent_tracker.store.reading import Tracker

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--backend", choices=linkage.BACKENDS, default="duckdb")
    args = parser.parse_args()
    universities = args.shared / "world-universities" / "world_universities_and_domains.json.gz"
    authorships, papers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for source, data in (("paperlists", args.shared / "paperlists"), ("conference-csv", args.shared / "conference-csv")):
            db = Path(tmp) / f"{source}.duckdb"
            build(data, db, source=source, universities=universities)
            with Tracker(db) as tracker, tracker.reader(with_workspace=False) as con:
                authorships.append(con.sql("SELECT * EXCLUDE (person_id) FROM authorships").to_arrow_table())
                papers.append(con.sql("SELECT venue, year, paper_id, title FROM papers").to_arrow_table())
    authorships, papers = pa.concat_tables(authorships), pa.concat_tables(papers)
    mentions = mentions_of(authorships, papers)
    model = linkage.Model.load()
    report = {"authorships": authorships.num_rows, "backend": args.backend}
    if args.backend == "spark":
        started = time.perf_counter()
        linkage.spark_session()
        report["spark_start_seconds"] = round(time.perf_counter() - started, 2)
    start = time.perf_counter()
    table = linkage.features(mentions)
    report["features_seconds"] = round(time.perf_counter() - start, 2)
    started = time.perf_counter()
    edges = linkage.predict(table, model, model.threshold, args.backend)
    report["predict_seconds"] = round(time.perf_counter() - started, 2)
    report["pairs_linked"] = len(edges[0])
    started = time.perf_counter()
    ids = link(mentions, edges, model.threshold)
    report["link_seconds"] = round(time.perf_counter() - started, 2)
    report["resolve_seconds"] = round(time.perf_counter() - start, 2)
    persons = persons_table(authorships.append_column("person_id", pa.array(ids)))
    report["persons"] = persons.num_rows
    report["with_persons_table_seconds"] = round(time.perf_counter() - start, 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
