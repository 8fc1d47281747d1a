"""The tracker's pages and the data they show, without a web framework: the server (app.py)
and the static site (publish.py) both build their pages from here."""

from __future__ import annotations

import json
from pathlib import Path

from talent_tracker.errors import UserError
from talent_tracker.figures.analyses import year_coverage
from talent_tracker.figures.compare import compare
from talent_tracker.population import Population
from talent_tracker.store import reading

HERE = Path(__file__).resolve().parent

PAGES = {
    "overview": ("/", "Overview", ["work_countries", "work_regions", "work_sectors", "tier_comparison",
                                   "paper_countries"]),
    "flows": ("/flows", "Flows", ["flows", "retention", "net_flows", "us_origin_mix", "origin_countries",
                                  "graduate_countries"]),
    "map": ("/map", "World map", ["map"]),
    "trends": ("/trends", "Trends", ["editions", "trends"]),
    "institutions": ("/institutions", "Institutions", ["top_institutions", "top_institutions_asia"]),
    "countries": ("/countries/US", "Country profiles", ["country"]),
    "compare": ("/compare", "Compare", ["compare"]),
    "methodology": ("/methodology", "Methodology", []),
}


def comparison(tracker: reading.Tracker) -> dict:
    """The published figures beside this tracker's (compare.py), once per build and workspace generation."""
    def compute() -> dict:
        try:
            return compare(tracker)
        except UserError as exc:
            return {"figures": [], "available": 0, "total": 0, "unavailable": str(exc)}
    return tracker.memo(("compare", tracker.build_stamp(), tracker.workspace_generation()), compute)


def meta_of(tracker: reading.Tracker) -> dict:
    """Venues, years, tiers and samples in the database, and when it was built."""
    def build_meta() -> dict:
        with tracker.reader(with_workspace=False) as con:
            rows = con.execute("SELECT venue, year, oral_known FROM venue_years ORDER BY venue, year").fetchall()
            built = con.execute("SELECT value FROM build_info WHERE key = 'built_at'").fetchone()
            # the share of each edition's top 20% with a work country: the pages open on the
            # latest edition that has one for most people
            located = {(venue, y): k / n for venue in {r[0] for r in rows}
                       for y, n, k in year_coverage(con, Population((venue,), (), "top20", "lab")) if n}
        venues: dict[str, list] = {}
        for venue, year, oral in rows:
            venues.setdefault(venue, []).append({"year": year, "oral_known": oral,
                                                 "located": round(located.get((venue, year), 0.0), 4)})
        return {"venues": venues, "tiers": ["top20", "top2"], "built_at": built[0] if built else None}

    workspace = tracker.workspace()
    samples = [r["sample_id"] for r in workspace.rows(
        "SELECT sample_id FROM sample_designs ORDER BY created_at DESC")] if workspace else []
    return {**tracker.memo(("meta", tracker.build_stamp()), build_meta), "samples": samples}


def safe_json(data) -> str:
    """JSON to embed in a <script> element: `<` escaped so no text can close the element."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
