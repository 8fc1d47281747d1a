"""Source `conference-csv`: one row per author, `Conference,Year,Title,Author,Affiliation`.

Every row belongs to an accepted paper (the scrape lists only accepted papers) and
there is no decision label, so no oral tier. A paper is a run of consecutive rows with
the same conference, year and title; authors keep the order of the rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from talent_tracker import limits
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_AUTHORS, TooLarge, clip
from talent_tracker.records import Authorship, Paper, Skip
from talent_tracker.sources.ids import content_id, make_unique
from talent_tracker.sources.text import clean
from talent_tracker.venues import Venue, Venues

SOURCE = "conference-csv"
COLUMNS = ("Conference", "Year", "Title", "Author", "Affiliation")
FILE_NAMES = ("papers.csv.gz", "papers.csv")
_NO_AFFILIATION = {"none", "null", "n/a", "na", "-", "(organization)"}
# a field past this is a broken file (a row is read whole before it can be cut short)
csv.field_size_limit(limits.MAX_RECORD_BYTES)

Report = Callable[[Skip], None]


def locate(data: Path) -> Path:
    """The CSV file given as itself, inside DIR, or inside DIR/conference-csv."""
    if data.exists() and not data.is_dir():
        return data
    for folder in (data, data / "conference-csv"):
        for name in FILE_NAMES:
            if (folder / name).exists():
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
    papers: list[Paper] = []
    pending: list[Skip] = []  # reported once the whole file has been read
    try:
        with limits.bounded_stream(path, limits.MAX_SOURCE_BYTES, "CSV file") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            _read_rows(csv.reader(text), label, venues, wanted, years, papers, pending.append)
    except (TooLarge, OSError, UnicodeDecodeError, csv.Error, *limits.GZIP_ERRORS) as exc:
        detail = (str(exc) if isinstance(exc, (TooLarge, csv.Error))
                  else f"not UTF-8 text ({exc.reason})" if isinstance(exc, UnicodeDecodeError)
                  else f"not a complete gzip file ({exc})" if isinstance(exc, limits.GZIP_ERRORS)
                  else f"cannot be read ({exc.strerror or exc})")
        report(Skip(label, "file", "malformed file", detail))
        return []
    for skip in pending:
        report(skip)
    return make_unique(papers)


def _read_rows(reader, label: str, venues: Venues, wanted, years, papers: list[Paper], report: Report) -> None:
    header = next(reader, None)
    if header is None or [h.strip() for h in header[: len(COLUMNS)]] != list(COLUMNS):
        raise csv.Error(f"expected the columns {','.join(COLUMNS)}, found {','.join(header or [])[:200]!r}")
    wanted_keys = {v.key for v in wanted} if wanted else None
    current: Paper | None = None
    unknown: dict[str, int] = {}
    too_many: dict[int, int] = {}  # paper index -> authors dropped
    for line, row in enumerate(reader, start=2):
        if line > limits.MAX_CSV_ROWS + 1:
            raise TooLarge(f"more than {limits.MAX_CSV_ROWS:,} rows")
        where = f"line {line}"
        if len(row) < len(COLUMNS):
            report(Skip(label, "record", "row has too few columns", f"{len(row)} of {len(COLUMNS)}", record=where))
            continue
        values = [clip(clean(v)) for v in row[: len(COLUMNS)]]
        if any(cut for _, cut in values):
            report(Skip(label, "field", f"value longer than {limits.MAX_FIELD_CHARS:,} characters cut short",
                        record=where, count=sum(cut for _, cut in values)))
        conference, year_text, title, author, affiliation = (v for v, _ in values)
        venue = venues.by_csv_name(conference)
        if venue is None:
            unknown[conference] = unknown.get(conference, 0) + 1
            continue
        try:
            year = int(year_text)
        except ValueError:
            report(Skip(label, "record", "year is not a number", repr(year_text[:50]), venue.key, record=where))
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
        if len(current.authors) >= MAX_AUTHORS:
            too_many[len(papers) - 1] = too_many.get(len(papers) - 1, 0) + 1
            continue
        if affiliation.casefold() in _NO_AFFILIATION:
            affiliation = ""  # the scrape writes a missing affiliation as the word `None`
        current.authors.append(
            Authorship(position=len(current.authors) + 1, name=author, affiliation=affiliation or None,
                       alignment="positional" if affiliation else None,
                       affiliation_source="list" if affiliation else None)
        )
    for index, dropped in too_many.items():
        paper = papers[index]
        report(Skip(label, "field", f"paper has more than {MAX_AUTHORS:,} authors: the first {MAX_AUTHORS:,} kept",
                    paper.title[:200], paper.venue, paper.year, paper.record, dropped))
    for conference, rows in sorted(unknown.items())[:100]:
        report(Skip(label, "record", "unknown venue", f"Conference {conference[:100]!r}", count=rows))
    if len(unknown) > 100:
        report(Skip(label, "record", "unknown venue", f"{len(unknown) - 100:,} more unknown conference names",
                    count=sum(rows for _, rows in sorted(unknown.items())[100:])))
