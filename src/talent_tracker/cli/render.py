"""Terminal rendering, and nothing else: the consoles (`out`, `err`), tables that wrap or
fold a long cell rather than cut it, progress bars, and the one-line messages (`say`,
`warn`, `note`, `error`, `fail`). Data is printed as plain text with no control character,
never as rich markup. `consoles()` rebinds `out` and `err` at the start of every run (each
invocation has its own COLUMNS and streams): other modules reach them at call time as
`render.out` / `render.err`, never by importing the names, which would keep a stale console.
"""

from __future__ import annotations

import os
import re

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from talent_tracker.records import Skip

# The width tables are laid out for when the output is not a terminal and COLUMNS is unset.
WIDTH = 100
MISSING = "-"  # a value that is not known (None): never shown as 0


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


def consoles() -> None:
    """The consoles of this invocation: stdout as wide as the terminal (or COLUMNS), WIDTH
    columns when it is a file or a pipe; stderr never folded (one message, one line)."""
    global out, err
    notes.clear()
    out = _Console()
    if not out.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        out = _Console(width=WIDTH)
    err = _Console(stderr=True, soft_wrap=True)


out: Console
err: Console
notes: list[str] = []  # old spellings used by this invocation (deprecated)
consoles()


def cell(value) -> Text:
    """A table cell shown as it is (data is never rich markup)."""
    return Text("" if value is None else _printable(str(value)))


def row(table: Table, *values) -> None:
    table.add_row(*map(cell, values))


def table(title: str, columns, right=(), ratios: dict[str, int] | None = None, **options) -> Table:
    """A table whose cells wrap, and fold a word too long for the column, rather than
    being cut short with "…"; `right`: the columns of numbers; `ratios`: columns of long
    text sharing the width left by the others (the table then spans the console)."""
    ratios = ratios or {}
    table = Table(title=Text(_printable(title)) if title else None, expand=bool(ratios), **options)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold",
                         ratio=ratios.get(column))
    return table


def show(*renderables, wide: bool = False) -> None:
    """Print; `wide`: at the renderables' natural width, even past the terminal's."""
    if not wide:
        out.print(*renderables)
        return
    options = out.options.update(max_width=10**6)
    width = max([out.width, *(Measurement.get(out, options, r).maximum for r in renderables)])
    _Console(width=width).print(*renderables)


class BarProgress:
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


def bars(description: str) -> Progress:
    """Progress bars on a terminal; nothing at all when stderr is a file or a pipe."""
    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                    transient=True, disable=not err.is_terminal)


def deprecated(old: str, new: str) -> None:
    """Note an old spelling that was used: once the command is done, one line on stderr; if
    it fails, on its error's line (an error stays one line)."""
    notes.append(f"{old} is deprecated: use {new} (same values)")


def error(message: str) -> None:
    noted = "".join(f"; note: {note}" for note in notes)
    notes.clear()
    err.print(f"[red]error:[/] {escape(one_line(message) + noted)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> None:
    error(message)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(one_line(message))}", highlight=False, soft_wrap=True)


def say(message: str) -> None:
    """A message: one line, however long (as on stderr)."""
    out.print(Text(message), soft_wrap=True)


def note(message: str) -> None:
    """A note under a table, wrapped to the console's width."""
    out.print(Text(message))


def one_line(message: str) -> str:
    return " ".join(str(message).split())
