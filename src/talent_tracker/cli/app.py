"""The root `talent-tracker` app and what its commands share: the typer classes that show
flags as flags and `_App.main`, the one place that turns an error (UserError, a usage
error, an error of the machine) into one line on stderr and exit code 2; and the option
types and helpers that give an option one spelling and one set of choices across
commands (`--db`, `--json`, `--venue`, `--years`, `--tier`, `--universities`, ...). The
command modules register their commands on `app` or on sub-typers made with `Typer`.
"""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import duckdb
import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from talent_tracker.cli import render
from talent_tracker.errors import UserError
from talent_tracker.store import reading

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


class Group(TyperGroup):
    def get_params(self, ctx):
        return _flags(super().get_params(ctx))


class _App(Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run a command with the consoles of this invocation (its COLUMNS, its streams);
        its errors (UserError), usage errors, and errors of the machine (disk full,
        permission denied) are one line and exit code 2, however the command is run (the installed
        script, `python -m`, typer's CliRunner)."""
        render.consoles()
        try:
            code = super().main(args, "talent-tracker", complete_var, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # typer's own (vendored click) usage errors
            if type(exc).__name__ == "NoArgsIsHelpError":
                sys.stdout.write(exc.format_message() + "\n")
                code = 0
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
                render.error(_usage_message(exc.format_message()) + hint)
                code = getattr(exc, "exit_code", 2)
        except UserError as exc:  # a command's input or output is wrong: the one place that says so
            render.error(str(exc))
            code = 2
        except typer.Abort:
            render.error("interrupted")
            code = 130
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                code = 1
            else:
                where = f": {exc.filename}" if exc.filename else ""
                render.error((exc.strerror or str(exc)) + where)
                code = 2
        except duckdb.IOException as exc:
            render.error(str(exc))
            code = 2
        for note in render.notes:
            render.err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


class Typer(typer.Typer):
    """typer.Typer whose commands show flags as flags."""

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or _Command, **kwargs)


def _usage_message(message: str) -> str:
    # typer words a wrong choice "Invalid value for '--tier': Value error, 'x' is not one of ..."
    return message.replace(": Value error, ", ": ")


app = Typer(
    name="talent-tracker",
    help="Where the world's top AI researchers come from, train and work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_App,
)

DbOption = Annotated[Path, typer.Option(
    "--db", metavar="FILE", help="The database (its workspace sits beside it).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
YEARS_HELP = "Years: 2019, 2010-2019 or 2010-2012,2019"
# the spelling of --years before it was one across commands: still read, with a note
OldYearOption = Annotated[Optional[str], typer.Option("--year", hidden=True, help="Deprecated: --years.")]
TierOption = Annotated[Tier, typer.Option("--tier", help="top20: authors of accepted papers; top2: authors of oral papers.")]
UniversitiesOption = Annotated[Optional[Path], typer.Option(
    "--universities", metavar="FILE", help="World-universities list (JSON or .json.gz); default: the one the "
    "database was built with, else the copy `fetch --universities` keeps.")]


def venues_option(default: str):
    return typer.Option("--venue", metavar="VENUE", show_default=False,
                        help=f"Venue (repeatable: --venue neurips --venue icml): neurips, icml or iclr; {default}.")


def years_option(default: str):
    return typer.Option("--years", metavar="YEARS", show_default=False, help=f"{YEARS_HELP}; {default}.")


def years_of(years: str | None, old: str | None = None) -> list[int]:
    """The years of --years (or of the deprecated --year, with a one-line note)."""
    from talent_tracker.years import parse_years

    if old is not None:
        if years is not None:
            render.fail("give --years only (--year is its old spelling)")
        render.deprecated("--year", "--years")
        years = old
    return parse_years(years) if years else []


def universities_of(universities: Path | None, db: Path | None) -> Path | None:
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


def population_args(venue: list[str] | None, years: str | None, old_year: str | None) -> tuple[list[str], list[int]]:
    """The venues and years of a sample's or an estimate's population, both required."""
    year_list = years_of(years, old_year)
    if not venue:
        render.fail("choose at least one --venue (e.g. --venue neurips)")
    if not year_list:
        render.fail("choose --years (e.g. 2019 or 2010-2019)")
    return venue, year_list
