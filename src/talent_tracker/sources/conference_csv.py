"""Source `conference-csv`: one row per author, `Conference,Year,Title,Author,Affiliation`.

Every row belongs to an accepted paper (the scrape lists only accepted papers) and
there is no decision label, so no oral tier. A paper is a run of consecutive rows with
the same conference, year and title; authors keep the order of the rows.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path

from ..errors import UserError
from ..records import Authorship, Paper, Skip
from ..venues import Venue, Venues
from .ids import content_id, make_unique
from .text import clean

SOURCE = "conference-csv"
COLUMNS = ("Conference", "Year", "Title", "Author", "Affiliation")
FILE_NAMES = ("papers.csv.gz", "papers.csv")
_NO_AFFILIATION = {"none", "null", "n/a", "na", "-", "(organization)"}

Report = Callable[[Skip], None]


def locate(data: Path) -> Path:
    """The CSV file given as itself, inside DIR, or inside DIR/conference-csv."""
    if data.is_file():
        return data
    for folder in (data, data / "conference-csv"):
        for name in FILE_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise UserError(f"{data}: no {' or '.join(FILE_NAMES)} found for source conference-csv")


def read(
    path: Path,
    venues: Venues,
    wanted: list[Venue] | None,
    years: list[int] | None,
    report: Report,
) -> list[Paper]:
    label = path.name
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        report(Skip(label, "file", "malformed file", f"cannot be read ({exc})"))
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[: len(COLUMNS)]] != list(COLUMNS):
        report(Skip(label, "file", "malformed file",
                    f"expected the columns {','.join(COLUMNS)}, found {','.join(header or [])!r}"))
        return []
    wanted_keys = {v.key for v in wanted} if wanted else None
    papers: list[Paper] = []
    current: Paper | None = None
    unknown: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        where = f"line {line}"
        if len(row) < len(COLUMNS):
            report(Skip(label, "record", "row has too few columns", f"{len(row)} of {len(COLUMNS)}", record=where))
            continue
        conference, year_text, title, author, affiliation = (clean(v) for v in row[: len(COLUMNS)])
        venue = venues.by_csv_name(conference)
        if venue is None:
            unknown[conference] = unknown.get(conference, 0) + 1
            continue
        try:
            year = int(year_text)
        except ValueError:
            report(Skip(label, "record", "year is not a number", repr(year_text), venue.key, record=where))
            continue
        if (wanted_keys is not None and venue.key not in wanted_keys) or (years is not None and year not in years):
            continue
        if not title:
            report(Skip(label, "record", "missing title", "", venue.key, year, where))
            continue
        if current is None or (current.venue, current.year, current.title) != (venue.key, year, title):
            current = Paper(
                venue=venue.key, year=year, paper_id=content_id(venue.key, year, title), title=title,
                track=None, status=None, source=SOURCE, source_file=label, record=where,
                listed_as_accepted=True,
            )
            papers.append(current)
        if not author:
            report(Skip(label, "field", "empty author name", "", venue.key, year, where))
            continue
        if affiliation.casefold() in _NO_AFFILIATION:
            affiliation = ""  # the scrape writes a missing affiliation as the word `None`
        current.authors.append(
            Authorship(position=len(current.authors) + 1, name=author, affiliation=affiliation or None,
                       alignment="positional" if affiliation else None)
        )
    for conference, rows in sorted(unknown.items()):
        report(Skip(label, "record", "unknown venue", f"Conference {conference!r}", count=rows))
    return make_unique(papers)
