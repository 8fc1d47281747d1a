"""The `talent-tracker` command: argument handling and display only; the work is elsewhere.

Everything printed from data (names, titles, statuses, file names) goes out as plain
text, never as rich markup: `[/]` in a title is shown, not interpreted. Every error the
user can fix, in arguments, inputs or outputs, is one line on stderr and exit code 2,
typer's own usage errors included, however the command is run (`_App.main`, app.py).

Layout: every table fits 100 columns without cutting a cell (long text wraps, a word
that does not fit folds, never "…"); `summary --wide` shows every column at its natural
width. Options have one spelling across commands (`--years`, `--venue`, `--tier`,
`--db`, `--output`, `--format`, `--json`); the choices of an option are listed by
`--help` and checked by typer.

This module assembles the command line and is its entry point (`main`: the installed
script and `python -m talent_tracker.cli`). The root app and the options the commands
share are in app.py, the terminal rendering in render.py, and the commands in one module
per group, each registering its commands as it is imported.
"""

from __future__ import annotations

from talent_tracker import __version__
from talent_tracker.cli import render
from talent_tracker.cli.app import app

# The command modules, imported in the order `--help` lists their commands (typer lists
# commands in the order they were registered, then the groups): keep it.
# isort: off
from talent_tracker.cli import data  # build, export, summary, venues, resolve, fetch
from talent_tracker.cli import annotation  # the groups users, careers, profiles
from talent_tracker.cli import figures  # person, sample, estimate, interval
from talent_tracker.cli import web  # serve, publish
from talent_tracker.cli import report  # report, compare
from talent_tracker.cli import people  # evaluate-people; the group people (overrides, train)
# isort: on

COMMAND_MODULES = (data, annotation, figures, web, report, people)


@app.command()
def version() -> None:
    """Print the version."""
    render.out.print(__version__)


def main() -> None:
    """The `talent-tracker` script (errors are one line and exit code 2: see _App.main)."""
    app()


if __name__ == "__main__":
    main()
