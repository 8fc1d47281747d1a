"""The published tracker's figures beside this tracker's own, for the same population.

The Global AI Talent Tracker published headline percentages for two editions (2020 on
NeurIPS 2019, 2023 on NeurIPS 2022): `published/macropolo_tracker.csv` in the data
folder, kept in the database by a build of that folder (table `published_figures`).
Each row is put beside the tracker's figure for the same venue, year, tier and measure:

- `work country` (a country, or a region as in region_groups.csv): the share of people
  by the country of their employer's headquarters (the published tracker placed people
  by their employer), among the people with one, with its coverage;
- `origin country`, `origin of those working in the US`, `work abroad`: from annotated
  samples of that population (estimates.py), with intervals;

and says what differs in the definitions, or why the tracker has no figure yet (no
affiliations for that edition, no annotated sample of that population). Nothing here
is a target: the published figures come from samples of a few hundred people, at the
time of the study; the tracker's from every author's affiliation at publication.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from . import analyses, estimates, regions
from .errors import UserError
from .limits import MAX_SHEET_BYTES, read_text
from .store import Tracker, reader, tracker_of

COLUMNS = ("edition", "population", "tier", "measure", "category", "percent", "note", "source")
FILE = Path("published") / "macropolo_tracker.csv"
_POPULATION = re.compile(r"^(?P<venue>\w+) (?P<year>\d{4}) ")

DIFFERENCES = {
    "work country": ("Published: the employer at the time of the study, from a sample of authors. Here: the "
                     "headquarters country of the employer each author's latest paper of that edition names "
                     "(for NeurIPS 2022, the schedule profile of October 2022), over every author with one."),
    "origin country": ("Both: the country of the undergraduate degree. Published: a hand-annotated sample. Here: "
                       "this tracker's annotated sample of the same population."),
    "origin of those working in the US": ("Published: origins of the sampled authors who work in the US. Here: the "
                                          "same from this tracker's annotated sample (work country from careers)."),
    "work abroad (work country differs from origin)": ("Published: share of sampled authors working outside their "
                                                       "origin country. Here: the same from this tracker's "
                                                       "annotated sample."),
}


def read_published(path: Path) -> list[dict]:
    """The published figures file: one dict per row, `percent` a number."""
    text = read_text(Path(path), MAX_SHEET_BYTES, "published figures file")
    reader_ = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader_.fieldnames or ()) != COLUMNS:
        raise UserError(f"{path}: expected the columns {','.join(COLUMNS)}")
    rows = []
    for line, row in enumerate(reader_, start=2):
        try:
            rows.append({**row, "edition": int(row["edition"]), "percent": float(row["percent"])})
        except (TypeError, ValueError):
            raise UserError(f"{path} line {line}: edition and percent must be numbers") from None
    return rows


def published_in_db(db: Path) -> list[dict]:
    with reader(db, with_workspace=False) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_catalog = 'build'").fetchall()}
        if "published_figures" not in present:
            return []
        cursor = con.execute("SELECT * FROM build.published_figures ORDER BY edition, population, measure, percent DESC")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


def compare(db: Tracker | Path, published: Path | None = None) -> dict:
    db = tracker_of(db)  # one reader for the many figures compared
    rows = read_published(published) if published else published_in_db(db)
    if not rows:
        raise UserError(f"{db}: no published figures in this database: build it with --data the data folder as a "
                        "whole (it holds published/macropolo_tracker.csv), or pass --published FILE")
    with reader(db, with_workspace=False) as con:
        built = {(v, y) for v, y in con.execute("SELECT venue, year FROM venue_years").fetchall()}
    cache: dict = {}
    figures = [_compare_row(db, row, built, cache) for row in rows]
    available = sum(1 for f in figures if f["tracker"] is not None)
    return {"figures": figures, "available": available, "total": len(figures)}


def _compare_row(db: Path, row: dict, built: set, cache: dict) -> dict:
    found = _POPULATION.match(row["population"])
    out = {k: row[k] for k in COLUMNS if k != "percent"} | {"published": row["percent"], "tracker": None,
                                                            "low": None, "high": None, "method": "unavailable",
                                                            "coverage": 0.0, "people": None, "status": "",
                                                            "differences": DIFFERENCES.get(row["measure"], "")}
    if not (len(row["category"]) == 2 and row["category"].isupper()) and row["category"] != "all":
        # the published tracker does not say which countries its regions hold
        out["differences"] += (f" {row['category']} here is the group of that name in region_groups.csv "
                               "(its countries as in regions.csv); the published definition is not stated.")
    if found is None:
        out["status"] = "not available: the population is not one of a venue and year"
        return out
    venue, year = found["venue"].lower(), int(found["year"])
    if (venue, year) not in built:
        out["status"] = f"not available: {venue} {year} is not in this database"
        return out
    f = analyses.filters_of([venue], [year], row["tier"], "hq")
    measure = row["measure"]
    try:
        if measure == "work country":
            _work_share(db, f, row["category"], out, cache)
        elif measure in ("origin country", "origin of those working in the US",
                         "work abroad (work country differs from origin)"):
            _from_sample(db, f, measure, row["category"], out, cache)
        else:
            out["status"] = f"not available: no figure of the measure {measure!r}"
    except UserError as exc:
        no_sample = "no sample of it exists" in str(exc) or "has a known value yet" in str(exc)
        out["status"] = (f"not available yet: no annotated sample of {f.label.replace(' (headquarters)', '')} "
                         "(talent-tracker sample, then annotate)" if no_sample else f"not available yet: {exc}")
    return out


def _members(category: str) -> tuple[str, ...]:
    """A country code, or a region group (`Europe`) as its countries."""
    if len(category) == 2 and category.isupper():
        return (category,)
    return regions.group(category)


def _work_share(db: Path, f, category: str, out: dict, cache: dict) -> None:
    key = ("work", f)
    if key not in cache:
        cache[key] = analyses.work_countries(db, f)
    result = cache[key]
    out["coverage"], out["method"] = result.coverage, result.method
    out["people"] = result.sample_size
    if not result.sample_size:
        out["status"] = ("not available: no affiliations for this edition in the data (the list has names and "
                         "status only)")
        out["method"] = "unavailable"
        return
    members = set(_members(category))
    share = sum(r[3] for r in result.rows if r[0] in members)
    out["tracker"] = round(100 * share, 1)
    out["status"] = "comparable" if result.method == "exact" else f"partial: {result.coverage:.0%} of people known"


def _from_sample(db: Path, f, measure: str, category: str, out: dict, cache: dict) -> None:
    by = "flow" if measure != "origin country" else "origin"
    key = ("estimate", f, by)
    if key not in cache:
        cache[key] = estimates.estimate(db, list(f.venues), list(f.years), f.tier, by)
    data = cache[key]
    sample = data["sample"]
    out["method"] = "sample" if sample else "exact"
    out["coverage"] = round(sample["known"] / sample["people"], 4) if sample and sample["people"] else 1.0
    members = set(_members(category)) if category != "all" else set()
    figures = data["figures"]
    if measure == "origin country":
        picked = [r for r in figures if r["group"] in members]
        out["tracker"] = round(100 * sum(r["share"] for r in picked), 1)
        if len(members) == 1 and picked:  # a region's interval is not the sum of its countries'
            out["low"], out["high"] = round(100 * picked[0]["share_low"], 1), round(100 * picked[0]["share_high"], 1)
    else:
        paths = [(r["group"].split(" -> "), r["estimate"]) for r in figures]
        if measure.startswith("origin of those working in the US"):
            in_us = [(s, e) for s, e in paths if s[2] == "US"]
            total = sum(e for _, e in in_us) or 1
            out["tracker"] = round(100 * sum(e for s, e in in_us if s[0] in members) / total, 1)
        else:
            total = sum(e for _, e in paths) or 1
            out["tracker"] = round(100 * sum(e for s, e in paths if s[0] != s[2]) / total, 1)
    out["people"] = figures[0]["sample_size"] if figures else 0
    out["status"] = "comparable (estimated from a sample)" if sample else "comparable"
