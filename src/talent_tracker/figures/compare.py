"""The published tracker's figures beside this tracker's own, for the same population.

The Global AI Talent Tracker published headline percentages for two editions (2020 on
NeurIPS 2019, 2023 on NeurIPS 2022): `published/macropolo_tracker.csv` in the data
folder, kept in the database by a build of that folder (table `published_figures`).
Each row is put beside the tracker's figure for the same venue, year, tier and measure,
with its interval, the difference in points, and what differs in the definitions:

- `work country` (a country, or a region as in region_groups.csv): exact, from every
  author's latest paper of the edition, placed at their employer's headquarters (the
  published tracker placed people by employer), with the bounds the authors without an
  affiliation leave;
- `origin country`: estimated from an annotated sample of that population (estimates.py);
- sub-groups (`origin of those working in the US`, `graduate country of those with origin
  CN`, `work country of those with origin IN`): domain estimates from that sample;
- `work abroad`: the share of the sampled people whose work country is not their origin;

and says why the tracker has no figure where it has none (no affiliations for that
edition, no annotated sample of that population), with the command that would give one.
For the top 2% it says which papers make that tier here and how many people they have.
Nothing here is a target: the published figures come from samples of a few hundred people,
at the time of the study.
"""

from __future__ import annotations

import re
from pathlib import Path

from talent_tracker import regions
from talent_tracker.errors import UserError
from talent_tracker.figures import estimates, stats
from talent_tracker.population import Population
from talent_tracker.sources.published import COLUMNS, read_published
from talent_tracker.store.reading import Tracker, rows

_POPULATION = re.compile(r"^(?P<venue>\w+) (?P<year>\d{4}) ")
# sub-group measures: "<stage> country of those with origin CN", "origin of those working in the US"
_WITHIN = re.compile(r"^(?P<by>origin|graduate|work)(?: country)? of those (?:with origin (?P<origin>[A-Z]{2})|"
                     r"working in the (?P<work>[A-Z]{2}))$")
ABROAD = "work abroad (work country differs from origin)"

DIFFERENCES = {
    "work country": ("Published: the employer at the time of the study, from a sample of authors. Here: the "
                     "headquarters country of the employer each author's latest paper of that edition names "
                     "(for NeurIPS 2022, the schedule profile of October 2022), over every author with one; "
                     "the interval is the range the authors without an affiliation leave."),
    "origin country": ("Both: the country of the undergraduate degree. Published: a hand-annotated sample. Here: "
                       "this tracker's annotated sample of the same population."),
    "within": ("Published: a share within a sub-group of their sample. Here: the same share within this tracker's "
               "annotated sample, with an interval that accounts for how many of the sample are in the sub-group."),
    ABROAD: ("Published: share of sampled authors working outside their origin country. Here: the same from this "
             "tracker's annotated sample (origin and current employer as analysts found them)."),
}


def published_in_db(tracker: Tracker) -> list[dict]:
    with tracker.reader(with_workspace=False) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_catalog = 'build'").fetchall()}
        if "published_figures" not in present:
            return []
        return rows(con, "SELECT * FROM build.published_figures ORDER BY edition, population, measure, percent DESC")


def compare(tracker: Tracker, published: Path | None = None) -> dict:
    rows = read_published(published) if published else published_in_db(tracker)
    if not rows:
        raise UserError(f"{tracker}: no published figures in this database: build it with --data the data folder as a "
                        "whole (it holds published/macropolo_tracker.csv), or pass --published FILE")
    with tracker.reader(with_workspace=False) as con:
        built = {(v, y) for v, y in con.execute("SELECT venue, year FROM venue_years").fetchall()}
    cache: dict = {}
    figures = [_compare_row(tracker, row, built, cache) for row in rows]
    available = sum(1 for f in figures if f["tracker"] is not None)
    return {"figures": figures, "available": available, "total": len(figures)}


def _compare_row(tracker: Tracker, row: dict, built: set, cache: dict) -> dict:
    found = _POPULATION.match(row["population"])
    measure = row["measure"]
    kind = "within" if _WITHIN.match(measure) else measure
    out = {k: row[k] for k in COLUMNS if k != "percent"} | {
        "published": row["percent"], "tracker": None, "low": None, "high": None, "difference": None,
        "method": "unavailable", "coverage": 0.0, "people": None, "population_size": None, "status": "",
        "flag": None, "differences": DIFFERENCES.get(kind, ""), "tier_definition": ""}
    if not _is_country(row["category"]) and row["category"] != "all":
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
    f = Population.of([venue], [year], row["tier"], "hq")
    if row["tier"] == "top2":
        out["tier_definition"] = _cached(cache, ("tier", f), lambda: _top2_definition(tracker, f))
    try:
        data, figure = _tracker_figure(tracker, f, measure, row["category"], cache)
    except UserError as exc:
        out["status"] = f"not available yet: {exc}"
        return out
    if figure is None:
        out["status"] = _no_figure(data, measure, f)
        out["method"], out["coverage"] = data["method"], data.get("coverage") or 0.0
        return out
    out.update(method=data["method"], coverage=data.get("coverage") or 0.0, population_size=data["population_size"],
               people=(data["domain"]["sampled"] if data.get("domain") else
                       (data["sample"] or {}).get("annotated", data.get("known"))),
               low=round(100 * figure["share_low"], 1), high=round(100 * figure["share_high"], 1),
               flag=figure.get("flag"))
    if figure.get("flag"):
        out["status"] = f"too uncertain to show: {figure['flag']}"
        return out
    out["tracker"] = round(100 * figure["share"], 1)
    out["difference"] = round(out["tracker"] - row["percent"], 1)
    sampled = data["sample"] is not None
    out["status"] = ("comparable (estimated from a sample)" if sampled else
                     "comparable" if (data.get("coverage") or 0) >= 0.95 else
                     f"partial: {data['coverage']:.0%} of people have a value")
    return out


def _is_country(category: str) -> bool:
    return len(category) == 2 and category.isupper()


def _cached(cache: dict, key, compute):
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _tracker_figure(tracker: Tracker, f: Population, measure: str, category: str, cache: dict) -> tuple[dict, dict | None]:
    """The estimate behind a published measure, and its row for the category (None: no figure)."""
    merge = {} if _is_country(category) or category == "all" else dict.fromkeys(regions.group(category), category)
    label = category
    within = _WITHIN.match(measure)
    venues, years = list(f.venues), list(f.years)
    if measure == "work country":
        data = _cached(cache, ("work", f, category), lambda: estimates.estimate(
            tracker, venues, years, f.tier, "work", method="exact", place="hq", merge=merge))
    elif measure == "origin country":
        data = _cached(cache, ("origin", f, category), lambda: estimates.estimate(
            tracker, venues, years, f.tier, "origin", merge=merge))
        if data["method"] == "exact":
            return data, None  # direct evidence alone is not the published measure
    elif within:
        sub = ("origin", within["origin"]) if within["origin"] else ("work", within["work"])
        data = _cached(cache, ("within", f, within["by"], sub, category), lambda: estimates.estimate(
            tracker, venues, years, f.tier, within["by"], within=sub, method="sample", merge=merge))
    elif measure == ABROAD:
        data = _cached(cache, ("flow", f), lambda: estimates.estimate(tracker, venues, years, f.tier, "flow"))
        if data["method"] == "exact" or not data.get("abroad"):
            return data, None
        return data, data["abroad"]
    else:
        raise UserError(f"no figure of the measure {measure!r}")
    figure = next((r for r in data["figures"] if r["group"] == label), None)
    if figure is None and data["method"] != "exact" and data.get("sample"):
        # nobody sampled in the category: a figure of zero, with its interval
        n = data["sample"]["annotated"] if not within else data["domain"]["sampled"]
        figure = _zero(n, data, level=data["level"])
    return data, figure


def _zero(n: int, data: dict, level: float) -> dict:
    """The row of a category no sampled person is in: 0%, with the exact upper bound."""
    N = data["population_size"]
    high = stats.count_interval(0, n, N, level)[1] / N if n else 1.0
    return {"share": 0.0, "share_low": 0.0, "share_high": round(high, 4),
            "flag": stats.too_uncertain(n, 0.0, 0.0, high)}


def _no_figure(data: dict, measure: str, f: Population) -> str:
    if data["method"] == "exact" and measure == "work country" and not data.get("known"):
        return "not available: no affiliations for this edition in the data (the list has names and status only)"
    if data["method"] == "exact":
        stages = ("origin",) if measure == "origin country" else ("origin", "work")
        return f"not available yet: {estimates.needs_sample(f.with_(place='lab'), stages)}"
    return "not available: no sampled person in this category yet"


def _top2_definition(tracker: Tracker, f: Population) -> str:
    """Which papers make the top 2% of that edition here, how many, and how many people."""
    where, params = f.where()
    with tracker.reader(with_workspace=False) as con:
        statuses = con.execute("SELECT oral_statuses FROM venue_years WHERE venue = ? AND year = ?",
                               [f.venues[0], f.years[0]]).fetchone()
        papers, people = con.execute(f"SELECT count(DISTINCT (a.venue, a.year, a.paper_id)), "
                                     f"count(DISTINCT a.person_id) FROM authorships a WHERE {where}",
                                     params).fetchone()
    labels = " or ".join(repr(s) for s in (statuses[0] if statuses else [])) or "no label"
    return (f"Top 2% here: the {papers:,} papers of {f.venues[0]} {f.years[0]} labelled {labels} in the paper list "
            f"(main track), with {people:,} people.")
