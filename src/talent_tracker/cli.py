"""The `talent-tracker` command: argument handling and display only; the work is elsewhere.

Everything printed from data (names, titles, statuses, file names) goes out as plain
text, never as rich markup: `[/]` in a title is shown, not interpreted. Every error the
user can fix, in arguments, inputs or outputs, is one line on stderr and exit code 2
(`main` makes typer's own usage errors one line too).
"""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__, store
from .build import BuildResult, build as run_build, skip_summary
from .errors import UserError
from .limits import MAX_SHEET_BYTES, MAX_SHEET_ROWS, read_text
from .records import Skip

app = typer.Typer(
    name="talent-tracker",
    help="Where the world's top AI researchers come from, train and work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
if not out.is_terminal:
    # piped or redirected: do not squeeze the wide summary tables into 80 columns
    out = Console(width=220)
err = Console(stderr=True, soft_wrap=True)  # one message, one line: never folded

DbOption = Annotated[Path, typer.Option("--db", help="The DuckDB database file (its workspace sits beside it).")]


def _cell(value) -> Text:
    """A table cell shown as it is (data is never rich markup)."""
    return Text("" if value is None else str(value))


def _row(table: Table, *values) -> None:
    table.add_row(*map(_cell, values))


class _BarProgress:
    """Rich progress bars for a build, and one line per skipped file as it happens."""

    def __init__(self, bars: Progress):
        self.bars = bars
        self.task = None

    def start(self, total: int, what: str) -> None:
        if self.task is not None:
            self.bars.update(self.task, visible=False)
        self.task = self.bars.add_task(what, total=total)

    def advance(self, label: str) -> None:
        self.bars.advance(self.task)

    def skip(self, skip: Skip) -> None:
        if skip.scope == "file":
            self.bars.console.print(f"[yellow]skipped[/] {escape(skip.source_file)}: {escape(skip.reason)}"
                                    f"{': ' + escape(skip.detail) if skip.detail else ''}", highlight=False)


def _bars(description: str) -> Progress:
    """Progress bars on a terminal; nothing at all when stderr is a file or a pipe."""
    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                    transient=True, disable=not err.is_terminal)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/] {escape(_one_line(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(_one_line(message))}", highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    out.print(Text(message))


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


@app.command()
def build(
    data: Annotated[Path, typer.Option("--data", help="The data folder as a whole (e.g. ../shared/data), or just its paper lists or CSV.")],
    db: DbOption = Path(store.DEFAULT_DB),
    source: Annotated[str, typer.Option("--source", help="paperlists or conference-csv.")] = "paperlists",
    venue: Annotated[Optional[list[str]], typer.Option("--venue", help="Venue to build (repeatable): neurips, icml, iclr.")] = None,
    years: Annotated[Optional[str], typer.Option("--years", help="Years, e.g. 2019, 2010-2019 or 2010-2012,2019.")] = None,
    venues_file: Annotated[Optional[Path], typer.Option("--venues", help="TOML file overriding the venue/tier mapping.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail, leaving the database unchanged, if any file, record or label is skipped.")] = False,
    universities: Annotated[Optional[Path], typer.Option("--universities", help="World-universities list (JSON or .json.gz); default: the copy `fetch --universities` keeps.")] = None,
    people_overrides: Annotated[Optional[Path], typer.Option("--people-overrides", help="CSV of analysts' same/different-person decisions.")] = None,
    profiles: Annotated[Optional[Path], typer.Option("--profiles", help="Folder of OpenReview profile JSON files (career history).")] = None,
    people_backend: Annotated[str, typer.Option("--people-backend", help="Where the people model runs: duckdb (embedded) or spark.")] = "duckdb",
    people_model: Annotated[Optional[Path], typer.Option("--people-model", help="A people model from `people train` (default: the packaged one).")] = None,
) -> None:
    """Build the database from conference data (atomically: a failed build changes nothing)."""
    try:
        with _bars("{task.description}") as bars:
            result = run_build(data, db, source, venue, years, venues_file, strict, _BarProgress(bars),
                               universities=universities, people_overrides=people_overrides, profiles=profiles,
                               people_backend=people_backend, people_model=people_model)
    except UserError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; the previous database is unchanged", 130)
    _print_build(result)


def _print_build(result: BuildResult) -> None:
    for warning in result.warnings:
        _warn(warning)
    _say(f"built {result.db}: {result.papers:,} papers ({result.accepted:,} accepted), "
         f"{result.authorships:,} authorships in {result.seconds:.1f}s")
    counts = skip_summary(result.skips)
    if counts:
        table = Table(title="Skipped or merged (details: talent-tracker summary, table `skips`)")
        table.add_column("scope")
        table.add_column("reason")
        table.add_column("count", justify="right")
        for (scope, reason), count in sorted(counts.items()):
            _row(table, scope, reason, f"{count:,}")
        out.print(table)


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="Table to export: papers, authorships, skips, ...")],
    db: DbOption = Path(store.DEFAULT_DB),
    fmt: Annotated[str, typer.Option("--format", help="csv, parquet or json.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", help="File to write (required).")] = None,
) -> None:
    """Export one table (of the database or its workspace) as CSV, Parquet or JSON."""
    if output is None:
        _fail("--output FILE is required")
    try:
        rows = store.export_table(db, table, fmt, output)
    except UserError as exc:
        _fail(str(exc))
    _say(f"wrote {rows:,} rows of {table} to {output}")


@app.command()
def summary(
    db: DbOption = Path(store.DEFAULT_DB),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Per venue and year: papers, accepted papers, authorships, names, tiers, skips and why."""
    from .summary import summarise

    try:
        data = summarise(db)
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    table = Table(title=Text(f"talent-tracker summary of {db}"))
    columns = [
        ("venue", "venue"), ("year", "year"), ("papers", "papers"), ("accepted", "accepted_papers"),
        ("top2 papers", "top2_papers"), ("authorships", "authorships"),
        ("accepted authorships", "accepted_authorships"), ("distinct names", "distinct_author_names"),
        ("people", "distinct_people"),
        ("top2", "top2_authorships"), ("top20", "top20_authorships"), ("with affiliation", "with_affiliation"),
        ("with country", "with_country"), ("country %", "country_coverage_pct"), ("with sector", "with_sector"),
        ("skipped", "records_skipped"), ("labels not counted", "not_counted_labels"),
        ("merged", "duplicates_merged"), ("field values", "field_values_skipped"),
    ]
    for title, _ in columns:
        table.add_column(title, justify="left" if title == "venue" else "right")
    for row in data["venue_years"]:
        cells = []
        for _, key in columns:
            value = row[key]
            if key == "top2_authorships" and not row["oral_known"]:
                cells.append("n/a")
            else:
                cells.append(f"{value:,}" if isinstance(value, int) and key != "year"
                             else "" if value is None else str(value))
        _row(table, *cells)
    out.print(table)
    people = Table(title="Accepted authors: people counted once per year and summed (person-years), and once overall")
    for title in ("venue", "years", "person-years", "person-years 2010-2019", "distinct people"):
        people.add_column(title, justify="left" if title == "venue" else "right")
    for row in data["people"]:
        _row(people, row["venue"], f"{row['first_year']}-{row['last_year']}", f"{row['person_years']:,}",
             f"{row['person_years_2010_2019']:,}", f"{row['distinct_people']:,}")
    out.print(people)
    careers = Table(title="Career facts per stage and source (people: share of all persons)")
    for title in ("stage", "source", "facts", "people", "people %"):
        careers.add_column(title, justify="left" if title in ("stage", "source") else "right")
    for row in data["careers"]:
        _row(careers, row["stage"], row["source"], f"{row['facts']:,}", f"{row['people']:,}", row["people_pct"])
    out.print(careers)
    if data["skips"]:
        reasons = Table(title="What was skipped, not counted or merged, and why")
        for title in ("venue", "year", "scope", "reason", "count", "example"):
            reasons.add_column(title, overflow="fold")
        for row in data["skips"]:
            example = row["example_file"] + (f": {row['example_detail']}" if row["example_detail"] else "")
            _row(reasons, row["venue"], row["year"] or "", row["scope"], row["reason"], f"{row['count']:,}",
                 example[:100])
        out.print(reasons)


@app.command()
def venues(
    venue: Annotated[Optional[list[str]], typer.Option("--venue", help="Only these venues.")] = None,
    years: Annotated[Optional[str], typer.Option("--years", help="Years to show, e.g. 2018-2023.")] = None,
    venues_file: Annotated[Optional[Path], typer.Option("--venues", help="TOML file overriding the mapping.")] = None,
) -> None:
    """Show which labels count as accepted and as oral (top2), per venue and year, and why."""
    from .venues import load_venues
    from .years import parse_years

    try:
        catalogue = load_venues(venues_file)
        chosen = [catalogue.get(v) for v in venue] if venue else list(catalogue)
        year_list = parse_years(years) if years else None
    except UserError as exc:
        _fail(str(exc))
    table = Table(title="Decision labels per venue and year")
    for title in ("venue", "years", "accepted", "oral (top2)", "tracks", "note"):
        table.add_column(title, overflow="fold")
    for v in chosen:
        shown = year_list or sorted({y for years_set, _ in v.years for y in years_set} | {0})
        for year in shown:
            rule = v.rule(year) if year else v.rule(-1)
            _row(table, v.key, str(year) if year else "default", ", ".join(rule.labels["accepted"]),
                 ", ".join(rule.labels["oral"]) or "n/a (no oral label)", ", ".join(rule.labels["tracks"]),
                 rule.notes[-1] if rule.notes else "")
    out.print(table)


@app.command()
def resolve(
    text: Annotated[Optional[str], typer.Argument(help="Affiliation text to resolve.")] = None,
    domain: Annotated[Optional[str], typer.Option("--domain", help="The author's e-mail domain.")] = None,
    file: Annotated[Optional[Path], typer.Option("--file", help="One affiliation per line, optionally TAB and an e-mail domain.")] = None,
    universities: Annotated[Optional[Path], typer.Option("--universities", help="World-universities list (JSON or .json.gz).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per query.")] = False,
) -> None:
    """Resolve affiliations (and e-mail domains) to institution, country and sector."""
    from .institutions import load_resolver

    if text is None and file is None and domain is None:
        _fail("give an affiliation TEXT, --domain D or --file F")
    try:
        resolver, warning = load_resolver(universities)
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
    except UserError as exc:
        _fail(str(exc))
    if warning:
        _warn(warning)
    results = [resolver.resolve(q, d) for q, d in queries]
    if as_json:
        for result in results:
            sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        return
    table = Table(title="Resolved affiliations")
    for title in ("query", "institution_id", "institution", "country", "sector", "method", "confidence"):
        table.add_column(title, overflow="fold")
    for r in results:
        _row(table, r.query, r.institution_id, r.institution, r.country, r.sector, r.method,
             f"{r.confidence:.2f}" if r.confidence is not None else "")
    out.print(table)


@app.command()
def fetch(
    venue: Annotated[Optional[list[str]], typer.Option("--venue", help="Venue to fetch (repeatable); default all.")] = None,
    years: Annotated[Optional[str], typer.Option("--years", help="Years, e.g. 2018-2021; default every pinned year.")] = None,
    cache: Annotated[Path, typer.Option("--cache", help="Cache folder; build with --data CACHE.")] = Path("talent-tracker-data"),
    ref: Annotated[str, typer.Option("--ref", help="`pinned` (the tested versions), a branch or a commit.")] = "pinned",
    universities: Annotated[bool, typer.Option("--universities", help="Also fetch the world-universities list.")] = False,
    only_universities: Annotated[bool, typer.Option("--only-universities", help="Fetch only the world-universities list.")] = False,
) -> None:
    """Download the public Paper Copilot lists (resumable, retried, checksummed) into a cache."""
    from .fetch import fetch_paperlists, fetch_universities
    from .venues import load_venues
    from .years import parse_years

    try:
        catalogue = load_venues()
        chosen = [catalogue.get(v) for v in venue] if venue else list(catalogue)
        year_list = parse_years(years) if years else None
    except UserError as exc:
        _fail(str(exc))
    if year_list is None and ref != "pinned":
        _fail("--years is required with --ref other than pinned")

    with _bars("fetching") as bars:
        task = bars.add_task("fetching", total=None)

        def show(result) -> None:
            colour = {"downloaded": "green", "cached": "blue", "failed": "red"}[result.status]
            size = f" ({result.bytes:,} bytes)" if result.bytes else ""
            bars.console.print(f"[{colour}]{result.status}[/] {escape(str(result.path))}{size} "
                               f"{escape(result.detail or '')}", highlight=False)
            bars.advance(task)

        results = [] if only_universities else fetch_paperlists(chosen, year_list, cache, ref=ref, on_file=show)
        if universities or only_universities:
            results.append(fetch_universities(cache))
            show(results[-1])
    failed = [r for r in results if r.status == "failed"]
    _say(f"{len(results) - len(failed)} of {len(results)} lists ready in {cache}"
         f"; build with: talent-tracker build --data {cache}")
    if failed:
        raise typer.Exit(1)


users_app = typer.Typer(help="Annotation accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option("--role", help="annotator, reviewer or admin.")] = "annotator",
    db: DbOption = Path(store.DEFAULT_DB),
) -> None:
    """Create a user (or renew their token) and print the token: it is shown only once.

    Works while the server runs (the workspace takes concurrent writers); a new token
    ends the user's signed-in sessions."""
    from .annotate import add_user
    from .workspace import cli_actor, open_workspace

    try:
        with store.reader(db):
            pass  # the database must exist: its workspace sits beside it
        token = add_user(open_workspace(db), name, role, cli_actor())
    except UserError as exc:
        _fail(str(exc))
    sys.stdout.write(token + "\n")
    err.print(Text(f"{name} ({role}): keep this token; it is stored only as a hash"))


careers_app = typer.Typer(help="Career annotations: import analysts' sheets.", no_args_is_help=True)
app.add_typer(careers_app, name="careers")


@careers_app.command("import")
def careers_import(
    sheet: Annotated[Path, typer.Argument(help="Annotation sheet (CSV).")],
    db: DbOption = Path(store.DEFAULT_DB),
    universities: Annotated[Optional[Path], typer.Option("--universities", help="World-universities list for resolving institutions.")] = None,
) -> None:
    """Validate an annotation sheet and import its good rows (bad rows are reported, not imported)."""
    from .annotations import import_sheet
    from .institutions import load_resolver

    try:
        resolver, warning = load_resolver(universities)
        report = import_sheet(db, sheet, resolver)
    except UserError as exc:
        _fail(str(exc))
    if warning:
        _warn(warning)
    for problem in report.problems:
        err.print(f"[yellow]not imported:[/] {escape(_one_line(f'{sheet.name} {problem}'))}", highlight=False)
    _say(f"{sheet}: {report.rows} rows; {report.imported} stage entries imported or changed, "
         f"{report.unchanged} unchanged; {len(report.problems)} problems")
    if report.problems:
        raise typer.Exit(1)


profiles_app = typer.Typer(help="Profiles: career evidence from OpenReview, ORCID and OpenAlex.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("fetch")
def profiles_fetch(
    db: DbOption,
    offline: Annotated[bool, typer.Option("--offline", help="Use only what is cached; report the rest as missing.")] = False,
    sources: Annotated[str, typer.Option("--sources", help="Comma-separated: openreview, orcid, openalex.")] = "openreview,orcid,openalex",
    openreview_token: Annotated[Optional[str], typer.Option("--openreview-token", envvar="OPENREVIEW_TOKEN", help="OpenReview API token (sent as a Bearer token; guests may be refused).")] = None,
    openalex_key: Annotated[Optional[str], typer.Option("--openalex-key", envvar="OPENALEX_API_KEY", help="OpenAlex API key (raises its daily budget).")] = None,
    mailto: Annotated[Optional[str], typer.Option("--mailto", help="Contact e-mail sent to OpenAlex.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N people (a trial run).")] = None,
) -> None:
    """Fetch the public profiles of the database's people into NAME.profiles/ (cached, resumable); the next build uses them."""
    from .profiles.fetch import Progress as FetchProgress, fetch_profiles

    class Bars(FetchProgress):
        def __init__(self, bars: Progress):
            self.bars, self.task = bars, None

        def start(self, total: int, what: str) -> None:
            if self.task is not None:
                self.bars.update(self.task, visible=False)
            self.task = self.bars.add_task(what, total=total)

        def advance(self, count: int = 1) -> None:
            self.bars.advance(self.task, count)

    chosen = [s.strip() for s in sources.split(",") if s.strip()]
    try:
        with _bars("{task.description}") as bars:
            summary = fetch_profiles(db, limit, sources=chosen, offline=offline, openreview_token=openreview_token,
                                     openalex_key=openalex_key, mailto=mailto, progress=Bars(bars))
    except UserError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; what was fetched is cached: run the command again to continue", 130)
    for tally in summary.tallies.values():
        skipped = sum(tally.skipped.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in tally.skipped.most_common(3))
        _say(f"{tally.source}: {tally.requested:,} requested, {tally.fetched:,} fetched, {tally.cached:,} from cache, "
             f"{tally.not_found:,} not found, {tally.failed:,} failed"
             + (f", {tally.missing:,} not in the cache (offline)" if tally.missing else "")
             + f"; {tally.records:,} records, {skipped:,} skipped" + (f" ({reasons})" if skipped else ""))
        for reason in tally.errors:
            _warn(f"{tally.source}: {reason}")
    _say(f"{summary.people:,} people; {summary.sent:,} requests sent, {summary.hits:,} answers from the cache; "
         f"records in {summary.folder}; the next `talent-tracker build --db {db}` uses them")
    if summary.incomplete:
        raise typer.Exit(1)


people_app = typer.Typer(help="People: analysts' decisions on who is whom.", no_args_is_help=True)
app.add_typer(people_app, name="people")
overrides_app = typer.Typer(help="Same/different-person decisions, kept in the workspace and applied by every build.",
                            no_args_is_help=True)
people_app.add_typer(overrides_app, name="overrides")


@overrides_app.command("import")
def overrides_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns decision,authorship_a,authorship_b,note.")],
    db: DbOption = Path(store.DEFAULT_DB),
) -> None:
    """Keep analysts' same/different decisions in the workspace (the next build applies them)."""
    from .people import import_overrides, load_overrides
    from .workspace import open_workspace

    try:
        with store.reader(db):
            pass
        rows = load_overrides(file)
        changed = import_overrides(open_workspace(db), rows, str(file))
    except UserError as exc:
        _fail(str(exc))
    _say(f"{file}: {len(rows)} decisions, {changed} new or changed; run `talent-tracker build` to apply them")


@overrides_app.command("list")
def overrides_list(
    db: DbOption = Path(store.DEFAULT_DB),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The decisions kept in the workspace."""
    from .workspace import open_workspace

    try:
        with store.reader(db):
            pass
        rows = open_workspace(db).rows("SELECT * FROM person_overrides ORDER BY created_at, authorship_a")
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title="People overrides (workspace)")
    for title in ("decision", "authorship_a", "authorship_b", "note", "by", "at"):
        table.add_column(title, overflow="fold")
    for r in rows:
        _row(table, r["decision"], r["authorship_a"], r["authorship_b"], r["note"], r["actor"], r["created_at"])
    out.print(table)


@app.command()
def person(
    person_id: Annotated[str, typer.Argument(help="A person_id (e.g. ~Yoshua_Bengio1 or p-...).")],
    db: DbOption = Path(store.DEFAULT_DB),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A person's papers, affiliations and career facts with their sources."""
    from .profile import person_report

    try:
        data = person_report(db, person_id)
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    p = data["person"]
    out.print(Text.assemble((p["display_name"] or "", "bold"),
                            f" ({p['person_id']}): {p['n_papers']} papers, {p['first_year']}-{p['last_year']}, "
                            f"{', '.join(p['venues'])}; also written "
                            f"{', '.join(v for v in p['name_variants'] if v != p['display_name']) or '-'}"))
    stages = Table(title="Career: the fact used per stage (precedence: annotation, profile, job title, affiliation)")
    facts = Table(title="All career facts")
    for table in (stages, facts):
        for title in ("stage", "institution", "country", "sector", "years", "source", "evidence"):
            table.add_column(title, overflow="fold")
    for table, rows in ((stages, data["career_stages"]), (facts, data["careers"])):
        for f in rows:
            years = f"{f['start_year'] or ''}-{f['end_year'] or ''}".strip("-")
            _row(table, f["stage"], f["institution"], f["country"], f["sector"], years, f["source"], f["evidence"])
    papers = Table(title="Papers")
    for title in ("venue", "year", "tier", "title", "affiliation", "job title", "institution", "country"):
        papers.add_column(title, overflow="fold")
    for r in data["papers"]:
        _row(papers, r["venue"], r["year"], r["tier"] or "-", r["title"], r["affiliation"], r["job_title"],
             r["institution"], r["country"])
    out.print(stages, facts, papers)


@app.command()
def sample(
    db: DbOption = Path(store.DEFAULT_DB),
    venue: Annotated[Optional[list[str]], typer.Option("--venue", help="Venue (repeatable).")] = None,
    year: Annotated[Optional[str], typer.Option("--year", help="Year(s): 2019, 2010-2019, 2010-2012,2019.")] = None,
    tier: Annotated[str, typer.Option("--tier", help="top20 (all accepted) or top2 (oral).")] = "top20",
    size: Annotated[int, typer.Option("--size", help="People (person, stratified) or papers (paper) to draw.")] = 400,
    design: Annotated[str, typer.Option("--design", help="person, paper, stratified (by tier) or predicted-origin.")] = "person",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same sample.")] = 7,
    output: Annotated[Optional[Path], typer.Option("--output", help="Annotation sheet to write (CSV; required).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing sheet (it may hold annotations).")] = False,
    check: Annotated[Optional[str], typer.Option("--check", help="Not a sample: list the --size people whose predicted origin, graduate or work country is least certain, first.")] = None,
) -> None:
    """Draw a reproducible sample of a population and write it as an annotation sheet.

    The sample and its sheet are recorded together or not at all. With --check STAGE the
    sheet lists the least certain predictions first instead; it is not a sample and is
    never used for estimates."""
    from .sampling import check_sheet, draw, save
    from .years import parse_years

    if output is None:
        _fail("--output SHEET.csv is required")
    if check is not None:
        try:
            people = check_sheet(db, venue or [], parse_years(year) if year else [], tier, check, size, output,
                                 overwrite)
        except UserError as exc:
            _fail(str(exc))
        _say(f"{people} people whose predicted {check} is least certain, first; sheet written to {output} "
             "(not a sample: not used for estimates)")
        return
    try:
        drawn = draw(db, venue or [], parse_years(year) if year else [], tier, size, design, seed)
        people = save(db, drawn, output, overwrite)
    except UserError as exc:
        _fail(str(exc))
    _say(f"sample {drawn.sample_id}: {people} people of {drawn.population_size:,} in "
         f"{drawn.population.label}; sheet written to {output}")


@app.command()
def estimate(
    db: DbOption = Path(store.DEFAULT_DB),
    venue: Annotated[Optional[list[str]], typer.Option("--venue", help="Venue (repeatable).")] = None,
    year: Annotated[Optional[str], typer.Option("--year", help="Year(s): 2019, 2010-2019, 2010-2012,2019.")] = None,
    tier: Annotated[str, typer.Option("--tier", help="top20 (all accepted) or top2 (oral).")] = "top20",
    by: Annotated[str, typer.Option("--by", help="origin, graduate, work or flow.")] = "origin",
    sample_id: Annotated[Optional[str], typer.Option("--sample", help="Sample id (default: the latest of this population).")] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level, strictly between 0 and 1.")] = 0.95,
    method: Annotated[Optional[str], typer.Option("--method", help="exact, assisted or sample (default: exact when everyone is known, else assisted from a person sample with predictions, else sample).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Population figures by country with intervals: exact counts when all are known, else
    model-assisted or sample estimates; a too uncertain figure is flagged, not shown."""
    from .estimates import estimate as run_estimate
    from .years import parse_years

    try:
        result = run_estimate(db, venue or [], parse_years(year) if year else [], tier, by, sample_id, level, method)
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    source = (f"sample {result['sample']['sample_id']} ({result['sample']['design']}), method {result['method']}"
              if result["sample"] else "every member known: exact counts")
    table = Table(title=Text(f"{result['population']}, by {by}: {source}; {result['level']:.0%} intervals"))
    for title in ("group", "estimate", "interval", "share", "share interval", "n", "N", "method"):
        table.add_column(title, justify="left" if title in ("group", "method") else "right")
    for r in result["figures"]:
        if r.get("flag"):  # too uncertain: the interval only, never a point figure scaled up
            _row(table, r["group"], "too uncertain", f"{r['low']:,.0f}-{r['high']:,.0f}", "",
                 f"{r['share_low']:.1%}-{r['share_high']:.1%}", f"{r['sample_size']:,}",
                 f"{r['population_size']:,}", f"{r['method']}: {r['flag']}")
            continue
        _row(table, r["group"], f"{r['estimate']:,.0f}", f"{r['low']:,.0f}-{r['high']:,.0f}", f"{r['share']:.1%}",
             f"{r['share_low']:.1%}-{r['share_high']:.1%}", f"{r['sample_size']:,}", f"{r['population_size']:,}",
             r["method"])
    out.print(table)
    if result.get("retention"):
        retention = Table(title="Retention: share of each origin country's people who work there")
        for title in ("origin", "retention", "interval", "sampled from origin", "stayed", "method"):
            retention.add_column(title, justify="left" if title in ("origin", "method") else "right")
        for r in result["retention"]:
            _row(retention, r["origin"], "too uncertain" if r.get("flag") else f"{r['retention']:.1%}",
                 f"{r['low']:.1%}-{r['high']:.1%}", r["origin_sampled"], r["stayed"],
                 f"{r['method']}: {r['flag']}" if r.get("flag") else r["method"])
        out.print(retention)


@app.command()
def serve(
    db: DbOption = Path(store.DEFAULT_DB),
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    annotate: Annotated[bool, typer.Option("--annotate", help="Also serve the annotation workflow (saves go to the workspace).")] = False,
    universities: Annotated[Optional[Path], typer.Option("--universities", help="World-universities list, for the institution autocomplete and validation.")] = None,
    blind: Annotated[bool, typer.Option("--blind", help="Annotators do not see each other's entries or settled values until review.")] = False,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", help="A name clients reach the server by (repeatable; loopback names are always allowed).")] = None,
) -> None:
    """Serve the interactive tracker and its JSON API. A build of the same database may run
    meanwhile: the server shows the new build as soon as it is in place."""
    import uvicorn

    from .web.app import create_app
    from .web.security import allowed_hosts

    hosts = allowed_hosts(host, allow_host)
    try:
        application = create_app(db, annotate=annotate, universities=universities, blind=blind, hosts=hosts)
        _check_port(host, port)
    except UserError as exc:
        _fail(str(exc))
    if host in ("0.0.0.0", "::") and not allow_host:
        _warn("listening on every interface, but only loopback names are accepted: add --allow-host NAME")
    _say(f"talent-tracker at http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(application, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    """One line now, rather than a server log later, if the address cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except (OSError, OverflowError) as exc:
        raise UserError(f"cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc})") from None


@app.command()
def publish(
    db: DbOption = Path(store.DEFAULT_DB),
    output: Annotated[Path, typer.Option("--output", help="Folder to write the static site to.")] = Path("site"),
) -> None:
    """Write the tracker as a static site (open DIR/index.html from disk or any static host)."""
    from .web.publish import publish as run_publish

    try:
        with _bars("publishing") as bars:
            task = bars.add_task("publishing", total=None)
            counts = run_publish(db, output, lambda done, total: bars.update(task, completed=done, total=total))
    except UserError as exc:
        _fail(str(exc))
    _say(f"published {counts['pages']} pages and {counts['data_files']:,} data files "
         f"({counts['filter_settings']} filter settings) to {output}; open {output / 'index.html'}")


@app.command()
def report(
    db: DbOption = Path(store.DEFAULT_DB),
    venue: Annotated[Optional[list[str]], typer.Option("--venue", help="Venue (repeatable); default neurips.")] = None,
    years: Annotated[Optional[str], typer.Option("--years", help="Years, e.g. 2019 or 2010-2019; default all.")] = None,
    tier: Annotated[str, typer.Option("--tier", help="top20 or top2.")] = "top20",
    place: Annotated[str, typer.Option("--place", help="Work country of the lab, or of its headquarters: lab or hq.")] = "lab",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The headline findings for a venue, years and tier, as tables in the terminal."""
    from . import analyses
    from .years import parse_years

    names = ["work_countries", "work_regions", "work_sectors", "paper_countries", "top_institutions",
             "top_institutions_asia", "tier_comparison", "origin_countries", "graduate_countries", "flows"]
    try:
        f = analyses.filters_of(venue, parse_years(years) if years else [], tier, place)
        results = {name: analyses.ANALYSES[name](db, f) for name in names}
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps({k: v.as_dict() for k, v in results.items()}, indent=2) + "\n")
        return
    for name, result in results.items():
        coverage = f", coverage {result.coverage:.1%}" if result.coverage is not None else ""
        table = Table(title=Text(f"{result.title} — {result.filters} ({result.method}{coverage})"),
                      title_justify="left")
        for column in result.columns:
            table.add_column(column)
        for row in result.rows[:25]:
            _row(table, *[f"{v:.3f}" if isinstance(v, float) else ("" if v is None else v) for v in row])
        if not result.rows:
            table.add_column("not available")
            _row(table, "; ".join(result.notes) or "no data")
        out.print(table)
        for note in result.notes[:5] if result.rows else []:
            _say(f"  {note}")


@app.command()
def compare(
    db: DbOption = Path(store.DEFAULT_DB),
    published: Annotated[Optional[Path], typer.Option("--published", help="Published figures CSV (default: the ones the database was built with).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The published tracker's figures beside this tracker's own for the same population."""
    from .compare import compare as run_compare

    try:
        result = run_compare(db, published)
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    table = Table(title=f"Published figures beside the tracker's ({result['available']} of {result['total']} "
                        "with a figure here)")
    for title in ("edition", "population", "tier", "measure", "category", "published %", "tracker %", "interval",
                  "coverage", "status"):
        table.add_column(title, justify="right" if title.endswith("%") or title == "coverage" else "left",
                         overflow="fold")
    for f in result["figures"]:
        interval = f"{f['low']:g}-{f['high']:g}" if f["low"] is not None else ""
        tracker = f"{f['tracker']:g}" if f["tracker"] is not None else "-"
        _row(table, f["edition"], f["population"], f["tier"], f["measure"], f["category"], f"{f['published']:g}",
             tracker, interval, f"{f['coverage']:.0%}", f["status"])
    out.print(table)


@app.command("evaluate-people")
def evaluate_people(
    db: DbOption = Path(store.DEFAULT_DB),
    backend: Annotated[str, typer.Option("--backend", help="duckdb (embedded) or spark.")] = "duckdb",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cross-validate person resolution against OpenReview ids: per venue-year with ids, trained
    and tuned on the others, scored on it with its ids hidden."""
    from .people_eval import evaluate

    try:
        report = evaluate(db, backend)
    except UserError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    table = Table(title="Person resolution, venue-year cross-validation against OpenReview ids")
    for title in ("held out", "trained on", "threshold", "authorships", "precision", "recall", "F1",
                  "shared-name F1", "true people", "predicted", "error"):
        table.add_column(title, justify="left" if title in ("held out", "trained on") else "right")
    for fold in report["folds"]:
        _row(table, fold["held_out"], ", ".join(fold["trained_on"]), f"{fold['threshold']:g}",
             f"{fold['authorships']:,}", f"{fold['precision']:.4f}", f"{fold['recall']:.4f}", f"{fold['f1']:.4f}",
             f"{fold['shared_f1']:.4f}", f"{fold['true_people']:,}", f"{fold['predicted_people']:,}",
             f"{fold['people_error']:+.2%}")
    out.print(table)
    present = ", ".join(f"{s['venue_year']} F1 {s['f1']:.4f}" for s in report["ids_present"])
    _say(f"with every id visible (the shipped model): {present}")


@people_app.command("train")
def people_train(
    db: DbOption = Path(store.DEFAULT_DB),
    output: Annotated[Path, typer.Option("--output", help="Model file to write (the packaged one is src/talent_tracker/people_model.json).")] = Path("people_model.json"),
) -> None:
    """Train the people model on the venue-years with OpenReview ids and tune its threshold
    (a build then only predicts and clusters: build --people-model FILE)."""
    from .people_eval import train_model

    try:
        store.check_output_file(output)
        model = train_model(db)
        model.save(output)
    except UserError as exc:
        _fail(str(exc))
    best = next(g for g in model.provenance["tuning"] if g["threshold"] == model.threshold)
    scores = "; ".join(f"{s['venue_year']} F1 {s['f1']:.4f}, shared-name F1 {s['shared_f1']:.4f}, people "
                       f"{s['people_error']:+.2%}" for s in best["scores"])
    _say(f"trained on {', '.join(model.provenance['trained_on'])}: links at match weight {model.threshold:g} "
         f"({scores}, on the training venue-years with their ids hidden); written to {output}")


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    """Run the command; usage errors, and errors of the machine (disk full, permission
    denied), are one line and exit code 2 like every other error."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # typer's own (vendored click) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(exc.format_message() + "\n")
            code = 0
        else:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            err.print(f"[red]error:[/] {escape(_one_line(exc.format_message()) + hint)}", highlight=False,
                      soft_wrap=True)
            code = getattr(exc, "exit_code", 2)
    except typer.Abort:
        err.print("[red]error:[/] interrupted", highlight=False)
        code = 130
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            code = 1
        else:
            where = f": {exc.filename}" if exc.filename else ""
            err.print(f"[red]error:[/] {escape(_one_line((exc.strerror or str(exc)) + where))}", highlight=False,
                      soft_wrap=True)
            code = 2
    except duckdb.IOException as exc:
        err.print(f"[red]error:[/] {escape(_one_line(str(exc)))}", highlight=False, soft_wrap=True)
        code = 2
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
