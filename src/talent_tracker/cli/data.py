"""Commands that make and show the data: `build` (the database from conference data),
`export` (one table to a file), `summary` (per venue and year), `venues` (which decision
labels count), `resolve` (affiliations to institutions) and `fetch` (the public lists).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from talent_tracker.build.pipeline import BuildResult, skip_summary
from talent_tracker.build.pipeline import build as run_build
from talent_tracker.cli import render
from talent_tracker.cli.app import (
    Backend,
    DbOption,
    ExportFormat,
    JsonOption,
    Source,
    UniversitiesOption,
    app,
    universities_of,
    venues_option,
    years_of,
    years_option,
)
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_SHEET_BYTES, MAX_SHEET_ROWS, read_text
from talent_tracker.store import exports, reading
from talent_tracker.store.schema import DEFAULT_DB


@app.command()
def build(
    data: Annotated[Path, typer.Option("--data", metavar="DIR", help="The data folder as a whole (e.g. ../shared/data), or just its paper lists, or the conference CSV.")],
    db: DbOption = Path(DEFAULT_DB),
    source: Annotated[Source, typer.Option("--source", help="The kind of data: Paper Copilot paper lists, or the one-row-per-author conference CSV.")] = "paperlists",
    venue: Annotated[Optional[list[str]], venues_option("default: every venue in the data")] = None,
    years: Annotated[Optional[str], years_option("default: every year in the data")] = None,
    venues_file: Annotated[Optional[Path], typer.Option("--venues", metavar="FILE", help="TOML file overriding the venue/tier mapping (default: the packaged venues.toml).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail, leaving the database unchanged, if any file, record or label is skipped.")] = False,
    universities: Annotated[Optional[Path], typer.Option("--universities", metavar="FILE", help="World-universities list (JSON or .json.gz); default: the data folder's world-universities/, else the copy `fetch --universities` keeps.")] = None,
    people_overrides: Annotated[Optional[Path], typer.Option("--people-overrides", metavar="FILE", help="CSV of analysts' same/different-person decisions, imported into the workspace first.")] = None,
    profiles: Annotated[Optional[Path], typer.Option("--profiles", metavar="DIR", help="Folder of OpenReview profile JSON files (career history).")] = None,
    people_backend: Annotated[Backend, typer.Option("--people-backend", help="Where the people model runs: duckdb (embedded) or spark.")] = "duckdb",
    people_model: Annotated[Optional[Path], typer.Option("--people-model", metavar="FILE", help="A people model from `people train` (default: the packaged one).")] = None,
    resolution: Annotated[Optional[Path], typer.Option("--resolution", metavar="FILE", help="TOML overriding how closely affiliations must match institutions: max_words, fuzzy_cutoff, [confidence] (default: the packaged resolution.toml).")] = None,
) -> None:
    """Build the database from conference data (atomically: a failed build changes nothing)."""
    years_of(years)  # a wrong --years is one line before anything is read
    try:
        with render.bars("{task.description}") as bars:
            result = run_build(data, db, source=source, venue_names=venue, years=years, venues_file=venues_file,
                               strict=strict, progress=render.BarProgress(bars), universities=universities, people_overrides=people_overrides, profiles=profiles,
                               people_backend=people_backend, people_model=people_model, resolution=resolution)
    except KeyboardInterrupt:
        render.fail("interrupted; the previous database is unchanged", 130)
    _print_build(result)


def _print_build(result: BuildResult) -> None:
    for warning in result.warnings:
        render.warn(warning)
    render.say(f"built {result.db}: {result.papers:,} papers ({result.accepted:,} accepted), "
               f"{result.authorships:,} authorships in {result.seconds:.1f}s")
    counts = skip_summary(result.skips)
    if counts:
        table = render.table("Skipped or merged (details: talent-tracker summary, table `skips`)",
                             ("scope", "reason", "count"), right=("count",))
        for (scope, reason), count in sorted(counts.items()):
            render.row(table, scope, reason, f"{count:,}")
        render.out.print(table)
    if result.agreement:
        table = render.table("Where two sources give an author an affiliation: the first is used (table "
                             "`affiliation_agreement`)", ("venue", "year", "used", "compared", "pairs",
                                                          "same institution", "same country"),
                             right=("pairs", "same institution", "same country"))
        for a in result.agreement:
            render.row(table, a["venue"], str(a["year"]), a["source_used"], a["source_compared"], f"{a['pairs']:,}",
                       _share(a["same_institution"], a["institution_pairs"]), _share(a["same_country"], a["country_pairs"]))
        render.out.print(table)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%} of {whole:,}" if whole else render.MISSING


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="Table to export: papers, authorships, persons, careers, skips, ... (see the README's Tables).")],
    db: DbOption = Path(DEFAULT_DB),
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv, parquet, or json (an array of objects).")] = "csv",
    output: Annotated[Path, typer.Option("--output", metavar="FILE", show_default=False, help="File to write.")] = ...,
) -> None:
    """Export one table (of the database or its workspace) as CSV, Parquet or JSON."""
    with reading.Tracker(db) as tracker:
        rows = exports.export_table(tracker, table, fmt, output)
    render.say(f"wrote {rows:,} rows of {table} to {output}")


# summary's per venue-year table: (header, key), the columns shown by default first
SUMMARY_COLUMNS = [
    ("venue", "venue"), ("year", "year"), ("papers", "papers"), ("accepted", "accepted_papers"),
    ("top2 papers", "top2_papers"), ("authorships", "authorships"),
    ("accepted authorships", "accepted_authorships"), ("distinct names", "distinct_author_names"),
    ("people", "distinct_people"),
    ("top2", "top2_authorships"), ("top20", "top20_authorships"), ("with affiliation", "with_affiliation"),
    ("with country", "with_country"), ("country %", "country_coverage_pct"), ("with sector", "with_sector"),
    ("skipped", "records_skipped"), ("labels not counted", "not_counted_labels"),
    ("merged", "duplicates_merged"), ("field values", "field_values_skipped"),
]
# what fits 100 columns: the papers, their authors and people, how many are placed, what was skipped
SUMMARY_SHOWN = ("venue", "year", "papers", "accepted", "top2 papers", "accepted authorships", "people",
                 "country %", "skipped")


def _summary_value(row: dict, key: str) -> str:
    value = row[key]
    if key in ("top2_papers", "top2_authorships") and not row["oral_known"]:
        return "n/a"  # no oral label that year: not zero
    if value is None:
        return render.MISSING
    return f"{value:,}" if isinstance(value, int) and key != "year" else str(value)


def _shorter(text: str, limit: int) -> str:
    """At most about `limit` characters, cut after a word and marked as cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " [...]"


@app.command()
def summary(
    db: DbOption = Path(DEFAULT_DB),
    wide: Annotated[bool, typer.Option("--wide", help="Every column of the per venue-year table, however wide (by default the ones that fit 100 columns).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Per venue and year: papers, accepted papers, authorships, names, tiers, skips and why."""
    from talent_tracker.figures.summary import summarise

    with reading.Tracker(db) as tracker:
        data = summarise(tracker)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    columns = [(title, key) for title, key in SUMMARY_COLUMNS if wide or title in SUMMARY_SHOWN]
    table = render.table(f"talent-tracker summary of {db}", [title for title, _ in columns],
                         right=[title for title, _ in columns if title != "venue"])
    for row in data["venue_years"]:
        render.row(table, *(_summary_value(row, key) for _, key in columns))
    people = render.table("Accepted authors: people counted once per year and summed (person-years), and once overall",
                          ("venue", "years", "person-years", "person-years 2010-2019", "distinct people"),
                          right=("years", "person-years", "person-years 2010-2019", "distinct people"))
    for row in data["people"]:
        render.row(people, row["venue"], f"{row['first_year']}-{row['last_year']}", f"{row['person_years']:,}",
                   f"{row['person_years_2010_2019']:,}", f"{row['distinct_people']:,}")
    careers = render.table("Career facts per stage and source (people: share of all persons)",
                           ("stage", "source", "facts", "people", "people %"), right=("facts", "people", "people %"))
    for row in data["careers"]:
        render.row(careers, row["stage"], row["source"], f"{row['facts']:,}", f"{row['people']:,}",
                   render.MISSING if row["people_pct"] is None else row["people_pct"])
    render.show(table, wide=wide)
    if not wide:
        hidden = ", ".join(title for title, _ in SUMMARY_COLUMNS if title not in SUMMARY_SHOWN)
        render.note(f"  Not shown (--wide or --json): {hidden}. country %: of the authorships with an affiliation "
                    "or e-mail domain, those with a country.")
    render.show(people, careers, wide=wide)
    if data["skips"]:
        reasons = render.table("What was skipped, not counted or merged, and why",
                               ("venue", "year", "scope", "reason", "count", "example"), right=("count",))
        for row in data["skips"]:
            example = row["example_file"] + (f": {row['example_detail']}" if row["example_detail"] else "")
            render.row(reasons, row["venue"], row["year"] or "", row["scope"], row["reason"], f"{row['count']:,}",
                       _shorter(example, 200))
        render.show(reasons, wide=wide)


@app.command()
def venues(
    venue: Annotated[Optional[list[str]], venues_option("default: every venue")] = None,
    years: Annotated[Optional[str], years_option("default: the default rule and every year with its own")] = None,
    venues_file: Annotated[Optional[Path], typer.Option("--venues", metavar="FILE", help="TOML file overriding the venue/tier mapping (default: the packaged venues.toml).")] = None,
) -> None:
    """Show which labels count as accepted and as oral (top2), per venue and year, and why."""
    from talent_tracker.venues import load_venues

    year_list = years_of(years) or None
    catalogue = load_venues(venues_file)
    chosen = [catalogue.get(v) for v in venue] if venue else list(catalogue)
    table = render.table("Decision labels per venue and year", ("venue", "years", "accepted", "oral (top2)", "tracks",
                                                                "note"))
    for v in chosen:
        shown = year_list or sorted({y for years_set, _ in v.years for y in years_set} | {0})
        for year in shown:
            rule = v.rule(year) if year else v.rule(-1)
            render.row(table, v.key, str(year) if year else "default", ", ".join(rule.labels["accepted"]),
                       ", ".join(rule.labels["oral"]) or "n/a (no oral label)", ", ".join(rule.labels["tracks"]),
                       rule.notes[-1] if rule.notes else "")
    render.out.print(table)


@app.command()
def resolve(
    text: Annotated[Optional[str], typer.Argument(help="Affiliation text to resolve.")] = None,
    domain: Annotated[Optional[str], typer.Option("--domain", metavar="DOMAIN", help="The author's e-mail domain.")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", metavar="FILE", help="One affiliation per line, optionally TAB and an e-mail domain.")] = None,
    universities: UniversitiesOption = None,
    db: Annotated[Path, typer.Option("--db", metavar="FILE", help="A database whose build's world-universities list to use (optional: only that list is read from it).")] = Path(DEFAULT_DB),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per query instead of a table.")] = False,
) -> None:
    """Resolve affiliations (and e-mail domains) to institution, country and sector."""
    from talent_tracker.institutions import load_resolver

    if text is None and file is None and domain is None:
        render.fail("give an affiliation TEXT, --domain DOMAIN or --file FILE")
    resolver, warning = load_resolver(universities_of(universities, db))
    queries: list[tuple[str, str | None]] = []
    if text is not None or (domain and file is None):
        queries.append((text or "", domain))
    if file is not None:
        lines = read_text(file, MAX_SHEET_BYTES, "affiliations file").splitlines()
        if len(lines) > MAX_SHEET_ROWS:
            raise UserError(f"{file}: more than {MAX_SHEET_ROWS:,} lines")
        for line in lines:
            if line.strip():
                affiliation, _, line_domain = line.partition("\t")
                queries.append((affiliation.strip(), line_domain.strip() or domain))
    if warning:
        render.warn(warning)
    results = [resolver.resolve(q, d) for q, d in queries]
    if as_json:
        for result in results:
            sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        return
    table = render.table("Resolved affiliations", ("query", "institution_id", "institution", "country", "sector", "method",
                                                   "confidence"), right=("confidence",))
    for r in results:
        render.row(table, r.query, r.institution_id, r.institution, r.country, r.sector, r.method,
                   f"{r.confidence:.2f}" if r.confidence is not None else "")
    render.out.print(table)


@app.command()
def fetch(
    venue: Annotated[Optional[list[str]], venues_option("default: every venue")] = None,
    years: Annotated[Optional[str], years_option("default: every pinned year (required with another --ref)")] = None,
    cache: Annotated[Path, typer.Option("--cache", metavar="DIR", help="Cache folder; build with --data DIR.")] = Path("talent-tracker-data"),
    ref: Annotated[str, typer.Option("--ref", metavar="REF", help="`pinned` (the versions this project was tested on), a branch or a commit.")] = "pinned",
    universities: Annotated[bool, typer.Option("--universities", hidden=True, help="Kept for scripts: the world-universities list is always fetched now.")] = False,
    only_universities: Annotated[bool, typer.Option("--only-universities", help="Fetch only the world-universities list.")] = False,
) -> None:
    """Download every source the build reads (resumable, retried, checksummed) into a cache.

    The Paper Copilot paper lists, its author files, the official NeurIPS 2019 and 2020
    pages, the NeurIPS 2022 schedule and the world-universities list, each at the version
    this project was tested on; --venue and --years choose the venue-years."""
    from talent_tracker.sources.download import fetch_paperlists, fetch_sources, fetch_universities
    from talent_tracker.venues import load_venues

    year_list = years_of(years) or None
    catalogue = load_venues()
    chosen = [catalogue.get(v) for v in venue] if venue else list(catalogue)
    if year_list is None and ref != "pinned":
        render.fail("--years is required with --ref other than pinned")

    with render.bars("fetching") as bars:
        task = bars.add_task("fetching", total=None)

        def show(result) -> None:
            colour = {"downloaded": "green", "cached": "blue", "converted": "green", "failed": "red"}[result.status]
            size = f" ({result.bytes:,} bytes)" if result.bytes else ""
            bars.console.print(f"[{colour}]{result.status}[/] {escape(str(result.path))}{size} "
                               f"{escape(result.detail or '')}", highlight=False)
            bars.advance(task)

        if only_universities:
            results = [fetch_universities(cache)]
            show(results[0])
        else:
            results = fetch_paperlists(chosen, year_list, cache, ref=ref, on_file=show)
            keys = {v.key for v in chosen}
            results += fetch_sources(cache, lambda vy: vy[0] in keys and (year_list is None or vy[1] in year_list),
                                     on_file=show)
    failed = [r for r in results if r.status == "failed"]
    render.say(f"{len(results) - len(failed)} of {len(results)} files ready in {cache}"
               f"; build with: talent-tracker build --data {cache}")
    if failed:
        raise typer.Exit(1)
