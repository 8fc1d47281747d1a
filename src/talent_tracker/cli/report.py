"""Commands that show the headline findings as tables in the terminal: `report` (the
analyses of a venue, years and tier) and `compare` (the published tracker's figures
beside this tracker's own).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from talent_tracker.cli import render
from talent_tracker.cli.app import DbOption, JsonOption, Place, TierOption, app, venues_option, years_of, years_option
from talent_tracker.store import reading
from talent_tracker.store.schema import DEFAULT_DB

# Rows of one report table shown in the terminal (`report --json` has them all).
REPORT_ROWS = 25

REPORT_ANALYSES = ["work_countries", "work_regions", "work_sectors", "paper_countries", "top_institutions",
                   "top_institutions_asia", "tier_comparison", "origin_countries", "graduate_countries", "flows"]


def _report_value(value, column: str) -> str:
    """A report cell: a share to three places, a count with thousands, a missing value as a dash."""
    if value is None:
        return render.MISSING
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int) and "year" not in column:
        return f"{value:,}"
    return str(value)


def _report_title(title: str, shown: int) -> str:
    """The analysis's title, its "Top N" saying how many rows are shown (an analysis asks for
    at most N; fewer may have people)."""
    return re.sub(r"^Top \d+(?=\s)", f"Top {shown}", title) if shown else title


@app.command()
def report(
    db: DbOption = Path(DEFAULT_DB),
    venue: Annotated[Optional[list[str]], venues_option("default: neurips")] = None,
    years: Annotated[Optional[str], years_option("default: every year")] = None,
    tier: TierOption = "top20",
    place: Annotated[Place, typer.Option("--place", help="Work country of the lab the author names, or of its organisation's headquarters.")] = "lab",
    as_json: JsonOption = False,
) -> None:
    """The headline findings for a venue, years and tier, as tables in the terminal."""
    from talent_tracker.figures import analyses
    year_list = years_of(years)
    f = analyses.filters_of(venue, year_list, tier, place)
    with reading.Tracker(db) as tracker:  # one reader for every table of the report
        results = {name: analyses.ANALYSES[name](tracker, f) for name in REPORT_ANALYSES}
    if as_json:
        sys.stdout.write(json.dumps({k: v.as_dict() for k, v in results.items()}, indent=2) + "\n")
        return
    for result in results.values():
        _print_result(result)


def _print_result(result) -> None:
    """One analysis: its title on a line of its own (a narrow table would squeeze it), the
    table, and the notes saying what it rests on."""
    coverage = f", coverage {result.coverage:.1%}" if result.coverage is not None else ""
    rows = result.rows[:REPORT_ROWS]
    render.out.print(Text(f"{_report_title(result.title, len(rows))} — {result.filters} ({result.method}{coverage})",
                          style="bold"))
    if not result.rows:
        table = render.table("", ["not available"])
        render.row(table, "; ".join(result.notes) or "no data")
        render.out.print(table)
        return
    numeric = {column for i, column in enumerate(result.columns)
               if all(row[i] is None or (isinstance(row[i], (int, float)) and not isinstance(row[i], bool))
                      for row in rows)}
    table = render.table("", result.columns, right=numeric)
    for row in rows:
        render.row(table, *map(_report_value, row, result.columns))
    render.out.print(table)
    if len(result.rows) > len(rows):
        render.note(f"  The first {len(rows)} of {len(result.rows):,} rows (report --json has them all).")
    if any(value is None for row in rows for value in row):
        render.note(f"  {render.MISSING}: no value (not zero).")
    for note in result.notes[:5]:
        render.note(f"  {note}")
    render.out.print()


@app.command()
def compare(
    db: DbOption = Path(DEFAULT_DB),
    published: Annotated[Optional[Path], typer.Option("--published", metavar="FILE", help="Published figures CSV; default: the ones the database was built with.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The published tracker's figures beside this tracker's own for the same population."""
    from talent_tracker.figures.compare import compare as run_compare

    with reading.Tracker(db) as tracker:
        result = run_compare(tracker, published)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    render.out.print(Text(f"Published figures beside the tracker's ({result['available']} of {result['total']} with a "
                          "figure here), by edition, population and measure; percentages, differences in points",
                          style="bold"))
    groups: dict[tuple, list[dict]] = {}
    for f in result["figures"]:
        groups.setdefault((f["edition"], f["population"], f["tier"], f["measure"]), []).append(f)
    for (edition, population, tier, measure), figures in groups.items():
        statuses = {f["status"] for f in figures}
        shared = statuses.pop() if len(statuses) == 1 else None
        render.out.print()
        render.out.print(Text(f"{edition} edition — {population} ({tier}), {measure}" + (f": {shared}" if shared else "")))
        columns = ("category", "published %", "tracker %", "interval", "difference", "n", "coverage") + \
            (() if shared else ("status",))
        table = render.table("", columns, right=("published %", "tracker %", "interval", "difference", "n", "coverage"))
        for f in figures:
            interval = f"{f['low']:.1f}–{f['high']:.1f}" if f["low"] is not None else ""
            tracker = f"{f['tracker']:.1f}" if f["tracker"] is not None else render.MISSING
            difference = f"{f['difference']:+.1f}" if f["difference"] is not None else ""
            render.row(table, f["category"], f"{f['published']:.1f}", tracker, interval, difference,
                       f"{f['people']:,}" if f["people"] is not None else "", f"{f['coverage']:.0%}",
                       *(() if shared else (f["status"],)))
        render.out.print(table)
        first = figures[0]
        for note in (first["differences"], first["tier_definition"], first["note"] and f"Published: {first['note']}"):
            if note:
                render.note(f"  {note}")
