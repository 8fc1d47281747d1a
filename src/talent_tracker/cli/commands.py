"""The `talent-tracker` command: argument handling and display only; the work is elsewhere.

Everything printed from data (names, titles, statuses, file names) goes out as plain
text, never as rich markup: `[/]` in a title is shown, not interpreted. Every error the
user can fix, in arguments, inputs or outputs, is one line on stderr and exit code 2,
typer's own usage errors included, however the command is run (`_App.main`).

Layout: every table fits 100 columns without cutting a cell (long text wraps, a word
that does not fit folds, never "…"); `summary --wide` shows every column at its natural
width. Options have one spelling across commands (`--years`, `--venue`, `--tier`,
`--db`, `--output`, `--format`, `--json`); the choices of an option are listed by
`--help` and checked by typer.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from talent_tracker import __version__
from talent_tracker.build.pipeline import BuildResult, skip_summary
from talent_tracker.build.pipeline import build as run_build
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_SHEET_BYTES, MAX_SHEET_ROWS, read_text
from talent_tracker.records import Skip
from talent_tracker.store import database, exports, reading
from talent_tracker.store.schema import DEFAULT_DB

# The width tables are laid out for when the output is not a terminal and COLUMNS is unset.
WIDTH = 100
# Rows of one report table shown in the terminal (`report --json` has them all).
REPORT_ROWS = 25
MISSING = "-"  # a value that is not known (None): never shown as 0

# The choices of options, as typer shows and checks them. They are the back end's own
# (tests/test_cli_layout.py checks each against it), spelled out here so that `--help`
# does not import the modules behind them.
Tier = Literal["top20", "top2"]  # population.TIERS
Place = Literal["lab", "hq"]  # population.PLACES
By = Literal["origin", "graduate", "work", "flow"]  # estimates.BY
Method = Literal["exact", "assisted", "sample"]  # estimates.METHODS
Unit = Literal["person", "person-year"]  # population.UNITS
Design = Literal["person", "paper", "stratified", "predicted-origin"]  # sampling.DESIGNS
Stage = Literal["origin", "graduate", "work"]  # sampling.check_sheet
ExportFormat = Literal["csv", "parquet", "json"]  # exports.export_table
Role = Literal["annotator", "reviewer", "admin"]  # annotations.ROLES
Source = Literal["paperlists", "conference-csv"]  # build.SOURCES
Backend = Literal["duckdb", "spark"]  # linkage.BACKENDS


def _flags(params: list) -> list:
    """Boolean flags shown as flags (`--json`), not as `--json <bool>`."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    def get_params(self, ctx):
        return _flags(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx):
        return _flags(super().get_params(ctx))


class _App(_Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run a command with the consoles of this invocation (its COLUMNS, its streams);
        its errors (UserError), usage errors, and errors of the machine (disk full,
        permission denied) are one line and exit code 2, however the command is run (the installed
        script, `python -m`, typer's CliRunner)."""
        _consoles()
        try:
            code = super().main(args, "talent-tracker", complete_var, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # typer's own (vendored click) usage errors
            if type(exc).__name__ == "NoArgsIsHelpError":
                sys.stdout.write(exc.format_message() + "\n")
                code = 0
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
                _error(_usage_message(exc.format_message()) + hint)
                code = getattr(exc, "exit_code", 2)
        except UserError as exc:  # a command's input or output is wrong: the one place that says so
            _error(str(exc))
            code = 2
        except typer.Abort:
            _error("interrupted")
            code = 130
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                code = 1
            else:
                where = f": {exc.filename}" if exc.filename else ""
                _error((exc.strerror or str(exc)) + where)
                code = 2
        except duckdb.IOException as exc:
            _error(str(exc))
            code = 2
        for note in _notes:
            err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


class _Typer(typer.Typer):
    """typer.Typer whose commands show flags as flags."""

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)


def _usage_message(message: str) -> str:
    # typer words a wrong choice "Invalid value for '--tier': Value error, 'x' is not one of ..."
    return message.replace(": Value error, ", ": ")


app = _Typer(
    name="talent-tracker",
    help="Where the world's top AI researchers come from, train and work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_App,
)


# what data may not send to a terminal: C0 and C1 controls but tab and newline (escape
# sequences set the window title, write the clipboard, clear the screen) and the
# bidirectional overrides (they reorder what is shown)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _printable(text: str) -> str:
    return _CONTROLS.sub("\ufffd", text)


class _Console(Console):
    """A console that prints no control character of the data, to a terminal or a pipe:
    strings (markup, table cells) show one as U+FFFD; any that reaches the output in a
    renderable built elsewhere is dropped there (rich's own styles and cursor moves are
    made apart from the text, so they stay)."""

    def render_str(self, text: str, **options) -> Text:
        return super().render_str(_printable(text), **options)

    def render(self, renderable, options=None):
        for segment in super().render(renderable, options):
            if segment.control is None and _CONTROLS.search(segment.text):
                segment = Segment(_CONTROLS.sub("", segment.text), segment.style)
            yield segment


def _consoles() -> None:
    """The consoles of this invocation: stdout as wide as the terminal (or COLUMNS), WIDTH
    columns when it is a file or a pipe; stderr never folded (one message, one line)."""
    global out, err
    _notes.clear()
    out = _Console()
    if not out.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        out = _Console(width=WIDTH)
    err = _Console(stderr=True, soft_wrap=True)


out: Console
err: Console
_notes: list[str] = []  # old spellings used by this invocation (_deprecated)
_consoles()

DbOption = Annotated[Path, typer.Option(
    "--db", metavar="FILE", help="The database (its workspace sits beside it).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
YEARS_HELP = "Years: 2019, 2010-2019 or 2010-2012,2019"
# the spelling of --years before it was one across commands: still read, with a note
OldYearOption = Annotated[Optional[str], typer.Option("--year", hidden=True, help="Deprecated: --years.")]


def _venues_option(default: str):
    return typer.Option("--venue", metavar="VENUE", show_default=False,
                        help=f"Venue (repeatable: --venue neurips --venue icml): neurips, icml or iclr; {default}.")


def _years_option(default: str):
    return typer.Option("--years", metavar="YEARS", show_default=False, help=f"{YEARS_HELP}; {default}.")


def _years(years: str | None, old: str | None = None) -> list[int]:
    """The years of --years (or of the deprecated --year, with a one-line note)."""
    from talent_tracker.years import parse_years

    if old is not None:
        if years is not None:
            _fail("give --years only (--year is its old spelling)")
        _deprecated("--year", "--years")
        years = old
    return parse_years(years) if years else []


def _cell(value) -> Text:
    """A table cell shown as it is (data is never rich markup)."""
    return Text("" if value is None else _printable(str(value)))


def _row(table: Table, *values) -> None:
    table.add_row(*map(_cell, values))


def _table(title: str, columns, right=(), ratios: dict[str, int] | None = None, **options) -> Table:
    """A table whose cells wrap, and fold a word too long for the column, rather than
    being cut short with "…"; `right`: the columns of numbers; `ratios`: columns of long
    text sharing the width left by the others (the table then spans the console)."""
    ratios = ratios or {}
    table = Table(title=Text(_printable(title)) if title else None, expand=bool(ratios), **options)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold",
                         ratio=ratios.get(column))
    return table


def _print(*renderables, wide: bool = False) -> None:
    """Print; `wide`: at the renderables' natural width, even past the terminal's."""
    if not wide:
        out.print(*renderables)
        return
    options = out.options.update(max_width=10**6)
    width = max([out.width, *(Measurement.get(out, options, r).maximum for r in renderables)])
    _Console(width=width).print(*renderables)


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


def _deprecated(old: str, new: str) -> None:
    """Note an old spelling that was used: once the command is done, one line on stderr; if
    it fails, on its error's line (an error stays one line)."""
    _notes.append(f"{old} is deprecated: use {new} (same values)")


def _error(message: str) -> None:
    notes = "".join(f"; note: {note}" for note in _notes)
    _notes.clear()
    err.print(f"[red]error:[/] {escape(_one_line(message) + notes)}", highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    _error(message)
    raise typer.Exit(code)


def _warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(_one_line(message))}", highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    """A message: one line, however long (as on stderr)."""
    out.print(Text(message), soft_wrap=True)


def _note(message: str) -> None:
    """A note under a table, wrapped to the console's width."""
    out.print(Text(message))


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


@app.command()
def build(
    data: Annotated[Path, typer.Option("--data", metavar="DIR", help="The data folder as a whole (e.g. ../shared/data), or just its paper lists, or the conference CSV.")],
    db: DbOption = Path(DEFAULT_DB),
    source: Annotated[Source, typer.Option("--source", help="The kind of data: Paper Copilot paper lists, or the one-row-per-author conference CSV.")] = "paperlists",
    venue: Annotated[Optional[list[str]], _venues_option("default: every venue in the data")] = None,
    years: Annotated[Optional[str], _years_option("default: every year in the data")] = None,
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
    _years(years)  # a wrong --years is one line before anything is read
    try:
        with _bars("{task.description}") as bars:
            result = run_build(data, db, source=source, venue_names=venue, years=years, venues_file=venues_file,
                               strict=strict, progress=_BarProgress(bars), universities=universities, people_overrides=people_overrides, profiles=profiles,
                               people_backend=people_backend, people_model=people_model, resolution=resolution)
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
        table = _table("Skipped or merged (details: talent-tracker summary, table `skips`)",
                       ("scope", "reason", "count"), right=("count",))
        for (scope, reason), count in sorted(counts.items()):
            _row(table, scope, reason, f"{count:,}")
        out.print(table)


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
    _say(f"wrote {rows:,} rows of {table} to {output}")


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
        return MISSING
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
    table = _table(f"talent-tracker summary of {db}", [title for title, _ in columns],
                   right=[title for title, _ in columns if title != "venue"])
    for row in data["venue_years"]:
        _row(table, *(_summary_value(row, key) for _, key in columns))
    people = _table("Accepted authors: people counted once per year and summed (person-years), and once overall",
                    ("venue", "years", "person-years", "person-years 2010-2019", "distinct people"),
                    right=("years", "person-years", "person-years 2010-2019", "distinct people"))
    for row in data["people"]:
        _row(people, row["venue"], f"{row['first_year']}-{row['last_year']}", f"{row['person_years']:,}",
             f"{row['person_years_2010_2019']:,}", f"{row['distinct_people']:,}")
    careers = _table("Career facts per stage and source (people: share of all persons)",
                     ("stage", "source", "facts", "people", "people %"), right=("facts", "people", "people %"))
    for row in data["careers"]:
        _row(careers, row["stage"], row["source"], f"{row['facts']:,}", f"{row['people']:,}",
             MISSING if row["people_pct"] is None else row["people_pct"])
    _print(table, wide=wide)
    if not wide:
        hidden = ", ".join(title for title, _ in SUMMARY_COLUMNS if title not in SUMMARY_SHOWN)
        _note(f"  Not shown (--wide or --json): {hidden}. country %: of the authorships with an affiliation "
              "or e-mail domain, those with a country.")
    _print(people, careers, wide=wide)
    if data["skips"]:
        reasons = _table("What was skipped, not counted or merged, and why",
                         ("venue", "year", "scope", "reason", "count", "example"), right=("count",))
        for row in data["skips"]:
            example = row["example_file"] + (f": {row['example_detail']}" if row["example_detail"] else "")
            _row(reasons, row["venue"], row["year"] or "", row["scope"], row["reason"], f"{row['count']:,}",
                 _shorter(example, 200))
        _print(reasons, wide=wide)


@app.command()
def venues(
    venue: Annotated[Optional[list[str]], _venues_option("default: every venue")] = None,
    years: Annotated[Optional[str], _years_option("default: the default rule and every year with its own")] = None,
    venues_file: Annotated[Optional[Path], typer.Option("--venues", metavar="FILE", help="TOML file overriding the venue/tier mapping (default: the packaged venues.toml).")] = None,
) -> None:
    """Show which labels count as accepted and as oral (top2), per venue and year, and why."""
    from talent_tracker.venues import load_venues

    year_list = _years(years) or None
    catalogue = load_venues(venues_file)
    chosen = [catalogue.get(v) for v in venue] if venue else list(catalogue)
    table = _table("Decision labels per venue and year", ("venue", "years", "accepted", "oral (top2)", "tracks",
                                                          "note"))
    for v in chosen:
        shown = year_list or sorted({y for years_set, _ in v.years for y in years_set} | {0})
        for year in shown:
            rule = v.rule(year) if year else v.rule(-1)
            _row(table, v.key, str(year) if year else "default", ", ".join(rule.labels["accepted"]),
                 ", ".join(rule.labels["oral"]) or "n/a (no oral label)", ", ".join(rule.labels["tracks"]),
                 rule.notes[-1] if rule.notes else "")
    out.print(table)


UniversitiesOption = Annotated[Optional[Path], typer.Option(
    "--universities", metavar="FILE", help="World-universities list (JSON or .json.gz); default: the one the "
    "database was built with, else the copy `fetch --universities` keeps.")]


def _universities(universities: Path | None, db: Path | None) -> Path | None:
    """The world-universities list: the one given, else the one the database's build used
    (found there once, from its data folder), else the copy `fetch --universities` keeps;
    None when there is none, and only then does the resolver warn that it has the registry
    alone."""
    from talent_tracker.institutions.registry import default_universities_path

    if universities is not None:
        return universities
    if db is not None and Path(db).is_file():
        try:
            with reading.Tracker(db) as tracker, tracker.reader(with_workspace=False) as con:
                row = con.execute("SELECT value FROM build_info WHERE key = 'settings'").fetchone()
            used = json.loads(row[0]).get("universities") if row else None
        except (UserError, duckdb.Error, ValueError, AttributeError):
            used = None  # not a database (yet): the command says so itself if it needs one
        if used and Path(used).is_file():
            return Path(used)
    cached = default_universities_path()
    return cached if cached.is_file() else None


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
        _fail("give an affiliation TEXT, --domain DOMAIN or --file FILE")
    resolver, warning = load_resolver(_universities(universities, db))
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
        _warn(warning)
    results = [resolver.resolve(q, d) for q, d in queries]
    if as_json:
        for result in results:
            sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        return
    table = _table("Resolved affiliations", ("query", "institution_id", "institution", "country", "sector", "method",
                                             "confidence"), right=("confidence",))
    for r in results:
        _row(table, r.query, r.institution_id, r.institution, r.country, r.sector, r.method,
             f"{r.confidence:.2f}" if r.confidence is not None else "")
    out.print(table)


@app.command()
def fetch(
    venue: Annotated[Optional[list[str]], _venues_option("default: every venue")] = None,
    years: Annotated[Optional[str], _years_option("default: every pinned year (required with another --ref)")] = None,
    cache: Annotated[Path, typer.Option("--cache", metavar="DIR", help="Cache folder; build with --data DIR.")] = Path("talent-tracker-data"),
    ref: Annotated[str, typer.Option("--ref", metavar="REF", help="`pinned` (the versions this project was tested on), a branch or a commit.")] = "pinned",
    universities: Annotated[bool, typer.Option("--universities", help="Also fetch the world-universities list.")] = False,
    only_universities: Annotated[bool, typer.Option("--only-universities", help="Fetch only the world-universities list.")] = False,
) -> None:
    """Download the public Paper Copilot lists (resumable, retried, checksummed) into a cache."""
    from talent_tracker.sources.download import fetch_paperlists, fetch_universities
    from talent_tracker.venues import load_venues

    year_list = _years(years) or None
    catalogue = load_venues()
    chosen = [catalogue.get(v) for v in venue] if venue else list(catalogue)
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


users_app = _Typer(cls=_Group, help="Annotation accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role, typer.Option("--role", help="annotator: annotates; reviewer: also reviews; admin: also exports.")] = "annotator",
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Create a user (or renew their token) and print the token: it is shown only once.

    Works while the server runs (the workspace takes concurrent writers); a new token
    ends the user's signed-in sessions."""
    from talent_tracker.annotations import add_user
    from talent_tracker.store.workspace import cli_actor

    with reading.Tracker(db) as tracker:
        with tracker.reader():
            pass  # the database must exist: its workspace sits beside it
        token = add_user(tracker.workspace(create=True), name, role, cli_actor())
    sys.stdout.write(token + "\n")
    err.print(Text(f"{name} ({role}): keep this token; it is stored only as a hash"))


careers_app = _Typer(cls=_Group, help="Career annotations: import analysts' sheets.", no_args_is_help=True)
app.add_typer(careers_app, name="careers")


@careers_app.command("import")
def careers_import(
    sheet: Annotated[Path, typer.Argument(help="Annotation sheet (CSV).")],
    db: DbOption = Path(DEFAULT_DB),
    annotator: Annotated[Optional[str], typer.Option("--annotator", metavar="NAME", show_default=False, help="Whose entries the sheet's rows are (a web user's name merges them with that user's entries); default: cli:<your login>.")] = None,
    universities: UniversitiesOption = None,
) -> None:
    """Validate an annotation sheet and import its good rows as the analyst's entries (bad
    rows are reported, not imported). Nobody else's entries change: where they differ, the
    stage awaits a reviewer's decision."""
    from talent_tracker.annotations import import_sheet
    from talent_tracker.institutions import load_resolver

    resolver, warning = load_resolver(_universities(universities, db))
    with reading.Tracker(db) as tracker:
        report = import_sheet(tracker, sheet, resolver, annotator=annotator)
    if warning:
        _warn(warning)
    for problem in report.problems:
        err.print(f"[yellow]not imported:[/] {escape(_one_line(f'{sheet.name} {problem}'))}", highlight=False)
    _say(f"{sheet}: {report.rows} rows; {report.imported} stage entries imported or changed, "
         f"{report.unchanged} people unchanged; {len(report.problems)} problems")
    if report.problems:
        raise typer.Exit(1)


@careers_app.command("history")
def careers_history(
    person_id: Annotated[str, typer.Argument(help="Person id (see `person`).")],
    db: DbOption = Path(DEFAULT_DB),
    stage: Annotated[Optional[Stage], typer.Option("--stage", show_default=False, help="Only this stage.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every change to a person's annotations, oldest first: each analyst's saves and sheet
    imports, and reviewers' decisions, with the values before and after."""
    from talent_tracker.annotations.workflow import history

    with reading.Tracker(db) as tracker:
        workspace = tracker.workspace()
        changes = history(workspace.connection(), person_id) if workspace is not None else []
    changes = [c for c in changes if stage is None or c["stage"] == stage]
    if as_json:
        sys.stdout.write(json.dumps(changes, indent=2) + "\n")
        return
    if not changes:
        _say(f"no annotation of {person_id} yet")
        return
    table = _table(f"Annotations of {person_id}: every change, oldest first",
                   ("when", "who", "stage", "before", "after", "how"))
    for c in changes:
        if c["action"] == "decide":
            how, who = f"review: took {c['annotator']}'s value", c["actor"]
        else:
            how = f"{c['action']} v{c['version']} ({c['via']})"
            who = c["annotator"] if c["actor"] == c["annotator"] else f"{c['annotator']} (by {c['actor']})"
        _row(table, c["at"][:19].replace("T", " "), who, c["stage"], c["before"] or MISSING, c["after"] or MISSING, how)
    out.print(table)


profiles_app = _Typer(cls=_Group, help="Profiles: career evidence from OpenReview, ORCID and OpenAlex.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("fetch")
def profiles_fetch(
    db: DbOption = Path(DEFAULT_DB),
    offline: Annotated[bool, typer.Option("--offline", help="Use only what is cached; report the rest as missing.")] = False,
    sources: Annotated[str, typer.Option("--sources", metavar="LIST", help="Comma-separated, of openreview, orcid and openalex.")] = "openreview,orcid,openalex",
    openreview_token: Annotated[Optional[str], typer.Option("--openreview-token", envvar="OPENREVIEW_TOKEN", help="OpenReview API token (sent as a Bearer token; guests may be refused).")] = None,
    openalex_key: Annotated[Optional[str], typer.Option("--openalex-key", envvar="OPENALEX_API_KEY", help="OpenAlex API key (raises its daily budget).")] = None,
    mailto: Annotated[Optional[str], typer.Option("--mailto", metavar="EMAIL", help="Contact e-mail sent to OpenAlex.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", metavar="N", min=1, help="Only the first N people (a trial run); default: everyone.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", metavar="N", min=0, help="Send no request after N minutes (what was fetched is cached: run again to resume); default: no limit.")] = None,
) -> None:
    """Fetch the public profiles of the database's people into NAME.profiles/ (cached, resumable); the next build uses them."""
    from talent_tracker.careers.profiles.fetch import Progress as FetchProgress
    from talent_tracker.careers.profiles.fetch import fetch_profiles

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
        with _bars("{task.description}") as bars, reading.Tracker(db) as tracker:
            summary = fetch_profiles(tracker, limit, sources=chosen, offline=offline, openreview_token=openreview_token,
                                     openalex_key=openalex_key, mailto=mailto, progress=Bars(bars),
                                     max_seconds=None if max_minutes is None else max_minutes * 60)
    except KeyboardInterrupt:
        _fail("interrupted; what was fetched is cached: run the command again to continue", 130)
    for tally in summary.tallies.values():
        skipped = sum(tally.skipped.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in tally.skipped.most_common(3))
        _say(f"{tally.source}: {tally.requested:,} requested, {tally.fetched:,} fetched, {tally.cached:,} from cache, "
             f"{tally.not_found:,} not found, {tally.failed:,} failed"
             + (f", {tally.missing:,} not in the cache (offline)" if tally.missing else "")
             + (f", {tally.out_of_time:,} not asked (out of time)" if tally.out_of_time else "")
             + f"; {tally.records:,} records, {skipped:,} skipped" + (f" ({reasons})" if skipped else ""))
        for reason in tally.errors:
            _warn(f"{tally.source}: {reason}")
    _say(f"{summary.people:,} people; {summary.sent:,} requests sent, {summary.hits:,} answers from the cache; "
         f"records in {summary.folder}; the next `talent-tracker build --db {db}` uses them")
    for reason in summary.stopped:
        _warn(reason)
    if summary.incomplete:
        raise typer.Exit(1)


people_app = _Typer(cls=_Group, help="People: analysts' decisions on who is whom.", no_args_is_help=True)
app.add_typer(people_app, name="people")
overrides_app = _Typer(cls=_Group, help="Same/different-person decisions, kept in the workspace and applied by every build.",
                            no_args_is_help=True)
people_app.add_typer(overrides_app, name="overrides")


@overrides_app.command("import")
def overrides_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns decision,authorship_a,authorship_b,note.")],
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Keep analysts' same/different decisions in the workspace (the next build applies them)."""
    from talent_tracker.annotations.overrides import import_overrides
    from talent_tracker.people.clusters import load_overrides

    rows = load_overrides(file)
    with reading.Tracker(db) as tracker:
        with tracker.reader():
            pass  # the database must exist: its workspace sits beside it
        changed = import_overrides(tracker.workspace(create=True), rows, str(file))
    _say(f"{file}: {len(rows)} decisions, {changed} new or changed; run `talent-tracker build` to apply them")


@overrides_app.command("list")
def overrides_list(
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """The decisions kept in the workspace."""
    with reading.Tracker(db) as tracker:
        with tracker.reader():
            pass  # the database must exist: its workspace sits beside it
        rows = tracker.workspace(create=True).rows("SELECT * FROM person_overrides ORDER BY created_at, authorship_a")
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = _table("People overrides (workspace)", ("decision", "authorship_a", "authorship_b", "note", "by", "at"))
    for r in rows:
        _row(table, r["decision"], r["authorship_a"], r["authorship_b"], r["note"], r["actor"], r["created_at"])
    out.print(table)


def _place(institution: str | None, *where: str | None) -> str:
    """`Institution (CC, sector)`, or what is known of it."""
    known = ", ".join(w for w in where if w)
    if institution:
        return f"{institution} ({known})" if known else institution
    return known


@app.command()
def person(
    person_id: Annotated[str, typer.Argument(help="A person_id (e.g. ~Yoshua_Bengio1 or p-...).")],
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """A person's papers, affiliations and career facts with their sources."""
    from talent_tracker.figures.person import person_report

    with reading.Tracker(db) as tracker:
        data = person_report(tracker, person_id)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    p = data["person"]
    out.print(Text.assemble((p["display_name"] or "", "bold"),
                            f" ({p['person_id']}): {p['n_papers']} papers, {p['first_year']}-{p['last_year']}, "
                            f"{', '.join(p['venues'])}; also written "
                            f"{', '.join(v for v in p['name_variants'] if v != p['display_name']) or '-'}"))
    career_columns = ("stage", "institution", "years", "source", "evidence")
    ratios = {"institution": 2, "evidence": 3}
    stages = _table("Career: the fact used per stage (an analyst's entry first; work: the latest, then the better "
                    "source; origin, graduate: the better source, then the latest)",
                    career_columns, ratios=ratios)
    facts = _table("All career facts", career_columns, ratios=ratios)
    for table, rows in ((stages, data["career_stages"]), (facts, data["careers"])):
        for f in rows:
            years = f"{f['start_year'] or ''}-{f['end_year'] or ''}".strip("-")
            _row(table, f["stage"], _place(f["institution"], f["country"], f["sector"]), years, f["source"],
                 f["evidence"])
    with_titles = any(r["job_title"] for r in data["papers"])
    papers = _table("Papers", ("paper", "tier", "title", "affiliation", "institution")
                    + (("job title",) if with_titles else ()),
                    ratios={"title": 3, "affiliation": 2, "institution": 2, "job title": 1})
    for r in data["papers"]:
        _row(papers, f"{r['venue']} {r['year']}", r["tier"] or MISSING, r["title"], r["affiliation"],
             _place(r["institution"], r["country"]), *((r["job_title"],) if with_titles else ()))
    out.print(stages, facts, papers)


TierOption = Annotated[Tier, typer.Option("--tier", help="top20: authors of accepted papers; top2: authors of oral papers.")]


def _population_args(venue: list[str] | None, years: str | None, old_year: str | None) -> tuple[list[str], list[int]]:
    """The venues and years of a sample's or an estimate's population, both required."""
    year_list = _years(years, old_year)
    if not venue:
        _fail("choose at least one --venue (e.g. --venue neurips)")
    if not year_list:
        _fail("choose --years (e.g. 2019 or 2010-2019)")
    return venue, year_list


@app.command()
def sample(
    db: DbOption = Path(DEFAULT_DB),
    venue: Annotated[Optional[list[str]], _venues_option("required")] = None,
    years: Annotated[Optional[str], _years_option("required")] = None,
    tier: TierOption = "top20",
    size: Annotated[int, typer.Option("--size", min=1, help="People (designs person, stratified, predicted-origin) or papers (paper) to draw; with --check, people to list.")] = 400,
    design: Annotated[Design, typer.Option("--design", metavar="DESIGN", help="person (people at random), paper (papers, with all their authors), stratified (within the tiers) or predicted-origin (within predicted origin countries).")] = "person",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same sample.")] = 7,
    output: Annotated[Path, typer.Option("--output", metavar="FILE", show_default=False, help="Annotation sheet to write (CSV).")] = ...,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing sheet (it may hold annotations).")] = False,
    check: Annotated[Optional[Stage], typer.Option("--check", show_default=False, help="Not a sample: list the --size people whose predicted origin, graduate or work country is least certain, first.")] = None,
    unit: Annotated[Unit, typer.Option("--unit", help="Draw people, or person-years (a person once per year of the range in which they had an accepted paper; design person).")] = "person",
    old_year: OldYearOption = None,
) -> None:
    """Draw a reproducible sample of a population and write it as an annotation sheet.

    The sample and its sheet are recorded together or not at all. With --check STAGE the
    sheet lists the least certain predictions first instead; it is not a sample and is
    never used for estimates."""
    from talent_tracker.annotations.samples import save
    from talent_tracker.figures.sampling import check_sheet, draw

    venues, year_list = _population_args(venue, years, old_year)
    if check is not None:
        with reading.Tracker(db) as tracker:
            people = check_sheet(tracker, venues, year_list, tier, check, size, output, overwrite)
        _say(f"{people} people whose predicted {check} is least certain, first; sheet written to {output} "
             "(not a sample: not used for estimates)")
        return
    with reading.Tracker(db) as tracker:
        drawn = draw(tracker, venues, year_list, tier, size, design, seed, unit)
        people = save(tracker, drawn, output, overwrite)
    if unit == "person-year":
        _say(f"sample {drawn.sample_id}: {len(drawn.people):,} person-years of {drawn.population_size:,} in "
             f"{drawn.population.label} ({people:,} people); sheet written to {output}")
        return
    _say(f"sample {drawn.sample_id}: {people} people of {drawn.population_size:,} in "
         f"{drawn.population.label}; sheet written to {output}")


@app.command()
def estimate(
    db: DbOption = Path(DEFAULT_DB),
    venue: Annotated[Optional[list[str]], _venues_option("required")] = None,
    years: Annotated[Optional[str], _years_option("required")] = None,
    tier: TierOption = "top20",
    by: Annotated[By, typer.Option("--by", help="Country of origin (undergraduate), graduate school or work, or the origin -> graduate -> work flow.")] = "origin",
    within: Annotated[Optional[str], typer.Option("--within", metavar="STAGE=CC", show_default=False, help="A sub-group, e.g. origin=CN: of the China-educated, the share by --by (from a sample).")] = None,
    unit: Annotated[Unit, typer.Option("--unit", help="Count people once, or once per year of the range (person-year).")] = "person",
    place: Annotated[Place, typer.Option("--place", help="Exact work counts: the lab's country, or its organisation's headquarters'.")] = "lab",
    sample_id: Annotated[Optional[str], typer.Option("--sample", metavar="ID", help="Sample id; default: the latest sample of this population.")] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level of the intervals, strictly between 0 and 1.")] = 0.95,
    method: Annotated[Optional[Method], typer.Option("--method", show_default=False, help="Default: assisted or sample when the population's sample has analysts' values for the stage, else exact (counts of what the data says, with bounds for the rest).")] = None,
    as_json: JsonOption = False,
    old_year: OldYearOption = None,
) -> None:
    """Population figures by country, with intervals and what they rest on.

    Exact counts of what the data itself says (work at publication; direct evidence of
    origin or graduate school) with bounds for the people without a value; or estimates
    from an annotated sample, whose truth is only what analysts entered. A figure too
    uncertain to show is flagged, never drawn."""
    from talent_tracker.figures.estimates import estimate as run_estimate

    venues, year_list = _population_args(venue, years, old_year)
    if not 0 < level < 1:
        _fail(f"--level must lie strictly between 0 and 1, not {level:g}")
    with reading.Tracker(db) as tracker:
        result = run_estimate(tracker, venues, year_list, tier, by, sample_id, level, method, within, unit, place)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    _print_estimate(result)


def _print_estimate(result: dict) -> None:
    sample = result["sample"]
    units = "person-years" if result["unit"] == "person-year" else "people"
    if sample:
        source = (f"sample {sample['sample_id']} ({sample['design']}), method {result['method']}: "
                  f"{sample['annotated']:,} of {sample['drawn']:,} drawn have an analyst's value")
    else:
        source = f"exact counts: {result['known']:,} of {result['population_size']:,} {units} have a value"
    within = result.get("within")
    group = f" of those with {within['stage']} {within['country']}" if within else ""
    share = "share of the sub-group" if within else "share"
    table = _table(f"{result['population']}, by {result['by']}{group}: {source}; {result['level']:.0%} intervals",
                   ("group", units, "interval", share, "share interval", "n", "N", "method"),
                   right=(units, "interval", share, "share interval", "n", "N"))
    for r in result["figures"]:
        n = r.get("domain_sampled", r["sample_size"])
        figure, ratio = (MISSING, MISSING) if r.get("flag") else (f"{r['estimate']:,}", f"{r['share']:.1%}")
        _row(table, r["group"], figure, f"{r['low']:,}–{r['high']:,}", ratio,
             f"{r['share_low']:.1%}–{r['share_high']:.1%}", f"{n:,}" if n is not None else "",
             f"{r['population_size']:,}", f"{r['method']}: too uncertain, {r['flag']}" if r.get("flag") else r["method"])
    out.print(table)
    _note(f"  Measures the {result['measure']}.")
    if sample:
        stages = ", ".join(f"{s} {c['annotated']}" for s, c in sample["stages"].items())
        _note(f"  Sample: {sample['drawn']:,} drawn; {sample['annotated']:,} with an analyst's value, "
              f"{sample['undetermined']:,} could not be determined, {sample['awaiting_review']:,} await a reviewer, "
              f"{sample['not_annotated']:,} not annotated (non-response: {sample['nonresponse']:.0%}, set aside). "
              f"Annotated per stage: {stages}.")
    elif result["unknown"]:
        _note(f"  {result['unknown']:,} {units} have no value: each interval runs from the count to the count plus "
              "all of them; shares are of those with a value.")
    for note in result.get("notes", []):
        _note(f"  {note}")
    if result.get("retention"):
        retention = _table("Retention: share of each origin country's people who work there",
                           ("origin", "retention", "interval", "sampled from origin", "stayed", "method"),
                           right=("retention", "interval", "sampled from origin", "stayed"))
        for r in result["retention"]:
            _row(retention, r["origin"], MISSING if r.get("flag") else f"{r['retention']:.1%}",
                 f"{r['low']:.1%}–{r['high']:.1%}", r["origin_sampled"], r["stayed"],
                 f"too uncertain, {r['flag']}" if r.get("flag") else r["method"])
        out.print(retention)
    if result.get("net"):
        net = _table("Net flow: people working in the country from elsewhere, minus people from it working elsewhere",
                     ("country", "net", "interval", "in (sampled)", "out (sampled)", "method"),
                     right=("net", "interval", "in (sampled)", "out (sampled)"))
        for r in result["net"]:
            _row(net, r["country"], MISSING if r["flag"] else f"{r['net']:+,}", f"{r['low']:+,}–{r['high']:+,}",
                 r["in_sampled"], r["out_sampled"], f"too uncertain, {r['flag']}" if r["flag"] else r["method"])
        out.print(net)
    if result.get("abroad"):
        r = result["abroad"]
        shown = "too uncertain" if r["flag"] else f"{r['share']:.1%} ({r['estimate']:,} {units})"
        _note(f"Working outside their origin country: {shown}, interval {r['share_low']:.1%}–{r['share_high']:.1%}.")


@app.command()
def interval(
    population: Annotated[int, typer.Option("--population", min=1, max=10**9, metavar="N", help="Population size N (people, or person-years).")] = ...,
    sample_size: Annotated[int, typer.Option("--sample", min=1, max=10**9, metavar="n", help="Sample size n: the sampled people whose value is known.")] = ...,
    count: Annotated[int, typer.Option("--count", min=0, max=10**9, metavar="k", help="Sampled people with the trait.")] = ...,
    level: Annotated[float, typer.Option("--level", help="Confidence level, strictly between 0 and 1.")] = 0.95,
    as_json: JsonOption = False,
) -> None:
    """The exact hypergeometric interval for a count: of N people, n drawn at random
    without replacement, k with a trait. Prints the estimate N·k/n and its interval."""
    from talent_tracker.figures import stats
    if not 0 < level < 1:
        _fail(f"--level must lie strictly between 0 and 1, not {level:g}")
    est = stats.count_estimate(count, sample_size, population, level)
    figure = round(est.estimate)
    if as_json:
        sys.stdout.write(json.dumps({"population_size": population, "sample_size": sample_size, "count": count,
                                     "level": level, "estimate": figure, "low": est.low, "high": est.high,
                                     "share": est.estimate / population, "share_low": est.low / population,
                                     "share_high": est.high / population, "method": est.method}, indent=2) + "\n")
        return
    out.print(Text(f"{figure:,} ({est.low:,}–{est.high:,})"))
    spread = (f"; {(est.low - est.estimate) / est.estimate:+.1%}/{(est.high - est.estimate) / est.estimate:+.1%} "
              "of the estimate") if est.estimate else ""
    _note(f"{level:.0%} exact hypergeometric interval ({'every member sampled' if est.method == 'exact' else 'Konijn'}): "
          f"{count:,} of {sample_size:,} sampled from {population:,}; share {est.estimate / population:.1%} "
          f"({est.low / population:.1%}–{est.high / population:.1%}){spread}")


@app.command()
def serve(
    db: DbOption = Path(DEFAULT_DB),
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    annotate: Annotated[bool, typer.Option("--annotate", help="Also serve the annotation workflow (saves go to the workspace).")] = False,
    universities: Annotated[Optional[Path], typer.Option("--universities", metavar="FILE", help="World-universities list, for the annotation workflow's institution autocomplete and validation; default: the one the database was built with, else the copy `fetch --universities` keeps.")] = None,
    blind: Annotated[bool, typer.Option("--blind", help="Annotators do not see each other's entries or settled values until review.")] = False,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", metavar="NAME", help="A name clients reach the server by (repeatable; loopback names are always allowed).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Do not log requests (by default one line per request on stdout).")] = False,
) -> None:
    """Serve the interactive tracker and its JSON API, logging one line per request.

    A build of the same database may run meanwhile: the server shows the new build as
    soon as it is in place. A database whose workspace is not beside it is served with a
    warning (every build makes one: its work is elsewhere, or lost)."""
    import uvicorn

    from talent_tracker.web.app import create_app
    from talent_tracker.web.assets import require_assets
    from talent_tracker.web.security import allowed_hosts

    hosts = allowed_hosts(host, allow_host)
    warning = None
    if annotate:
        universities = _universities(universities, db)
        if universities is None:
            from talent_tracker.institutions import load_resolver

            warning = load_resolver(None)[1]
    require_assets()
    application = create_app(db, annotate=annotate, universities=universities, blind=blind, hosts=hosts)
    _check_port(host, port)
    for message in (warning, application.state.workspace_warning):
        if message:
            _warn(message)
    if host in ("0.0.0.0", "::") and not allow_host:
        _warn("listening on every interface, but only loopback names are accepted: add --allow-host NAME")
    _say(f"talent-tracker at http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(application, host=host, port=port, log_config=_server_logging(), log_level=None,
                access_log=not quiet)


def _server_logging() -> dict:
    """uvicorn's logging with its own messages at warning and above (the line above says
    where the server is), and one access line per request on stdout: time, client, request,
    status."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    config["loggers"]["uvicorn.access"]["level"] = "INFO"
    config["formatters"]["access"]["fmt"] = '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s'
    config["formatters"]["access"]["datefmt"] = "%Y-%m-%d %H:%M:%S"
    return config


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
    db: DbOption = Path(DEFAULT_DB),
    output: Annotated[Path, typer.Option("--output", metavar="DIR", help="Folder to write the static site to: new, empty, or a site publish wrote.")] = Path("site"),
) -> None:
    """Write the tracker as a static site (open DIR/index.html from disk or any static host)."""
    from talent_tracker.web.publish import publish as run_publish

    with _bars("publishing") as bars:
        task = bars.add_task("publishing", total=None)
        counts = run_publish(db, output, lambda done, total: bars.update(task, completed=done, total=total))
    _say(f"published {counts['pages']} pages and {counts['data_files']:,} data files "
         f"({counts['filter_settings']} filter settings) to {output}; open {output / 'index.html'}")


REPORT_ANALYSES = ["work_countries", "work_regions", "work_sectors", "paper_countries", "top_institutions",
                   "top_institutions_asia", "tier_comparison", "origin_countries", "graduate_countries", "flows"]


def _report_value(value, column: str) -> str:
    """A report cell: a share to three places, a count with thousands, a missing value as a dash."""
    if value is None:
        return MISSING
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
    venue: Annotated[Optional[list[str]], _venues_option("default: neurips")] = None,
    years: Annotated[Optional[str], _years_option("default: every year")] = None,
    tier: TierOption = "top20",
    place: Annotated[Place, typer.Option("--place", help="Work country of the lab the author names, or of its organisation's headquarters.")] = "lab",
    as_json: JsonOption = False,
) -> None:
    """The headline findings for a venue, years and tier, as tables in the terminal."""
    from talent_tracker.figures import analyses
    year_list = _years(years)
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
    out.print(Text(f"{_report_title(result.title, len(rows))} — {result.filters} ({result.method}{coverage})",
                   style="bold"))
    if not result.rows:
        table = _table("", ["not available"])
        _row(table, "; ".join(result.notes) or "no data")
        out.print(table)
        return
    numeric = {column for i, column in enumerate(result.columns)
               if all(row[i] is None or (isinstance(row[i], (int, float)) and not isinstance(row[i], bool))
                      for row in rows)}
    table = _table("", result.columns, right=numeric)
    for row in rows:
        _row(table, *map(_report_value, row, result.columns))
    out.print(table)
    if len(result.rows) > len(rows):
        _note(f"  The first {len(rows)} of {len(result.rows):,} rows (report --json has them all).")
    if any(value is None for row in rows for value in row):
        _note(f"  {MISSING}: no value (not zero).")
    for note in result.notes[:5]:
        _note(f"  {note}")
    out.print()


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
    out.print(Text(f"Published figures beside the tracker's ({result['available']} of {result['total']} with a "
                   "figure here), by edition, population and measure; percentages, differences in points",
                   style="bold"))
    groups: dict[tuple, list[dict]] = {}
    for f in result["figures"]:
        groups.setdefault((f["edition"], f["population"], f["tier"], f["measure"]), []).append(f)
    for (edition, population, tier, measure), figures in groups.items():
        statuses = {f["status"] for f in figures}
        shared = statuses.pop() if len(statuses) == 1 else None
        out.print()
        out.print(Text(f"{edition} edition — {population} ({tier}), {measure}" + (f": {shared}" if shared else "")))
        columns = ("category", "published %", "tracker %", "interval", "difference", "n", "coverage") + \
            (() if shared else ("status",))
        table = _table("", columns, right=("published %", "tracker %", "interval", "difference", "n", "coverage"))
        for f in figures:
            interval = f"{f['low']:.1f}–{f['high']:.1f}" if f["low"] is not None else ""
            tracker = f"{f['tracker']:.1f}" if f["tracker"] is not None else MISSING
            difference = f"{f['difference']:+.1f}" if f["difference"] is not None else ""
            _row(table, f["category"], f"{f['published']:.1f}", tracker, interval, difference,
                 f"{f['people']:,}" if f["people"] is not None else "", f"{f['coverage']:.0%}",
                 *(() if shared else (f["status"],)))
        out.print(table)
        first = figures[0]
        for note in (first["differences"], first["tier_definition"], first["note"] and f"Published: {first['note']}"):
            if note:
                _note(f"  {note}")


@app.command("evaluate-people")
def evaluate_people(
    db: DbOption = Path(DEFAULT_DB),
    people_backend: Annotated[Backend, typer.Option("--people-backend", help="Where the people model runs: duckdb (embedded) or spark.")] = "duckdb",
    as_json: JsonOption = False,
    old_backend: Annotated[Optional[Backend], typer.Option("--backend", hidden=True, help="Deprecated: --people-backend.")] = None,
) -> None:
    """Cross-validate person resolution against OpenReview ids.

    Per venue-year with ids: trained and tuned on the others, scored on it with its ids
    hidden."""
    from talent_tracker.people.evaluation import evaluate

    if old_backend is not None:
        _deprecated("--backend", "--people-backend")
        people_backend = old_backend
    report = evaluate(db, people_backend)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    columns = ("held out", "trained on", "threshold", "authorships", "precision", "recall", "F1", "shared-name F1",
               "true people", "predicted", "error")
    table = _table("Person resolution, venue-year cross-validation against OpenReview ids", columns,
                   right=columns[2:])
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
    db: DbOption = Path(DEFAULT_DB),
    output: Annotated[Path, typer.Option("--output", metavar="FILE", help="Model file to write (the packaged one is src/talent_tracker/people_model.json).")] = Path("people_model.json"),
) -> None:
    """Train the people model on the venue-years with OpenReview ids and tune its threshold.

    A build then only predicts and clusters: build --people-model FILE."""
    from talent_tracker.people.evaluation import train_model

    database.check_output_file(output)
    model = train_model(db)
    model.save(output)
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
    """The `talent-tracker` script (errors are one line and exit code 2: see _App.main)."""
    app()


if __name__ == "__main__":
    main()
