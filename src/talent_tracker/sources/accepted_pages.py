"""Source `neurips-accepted`: authors' affiliations from the official NeurIPS 2019 and 2020
accepted-papers pages.

The NeurIPS 2019 and 2020 paper lists carry names and status only. The conference's own
"Accepted Papers" pages list each paper as one `<p>`: `<b>Title</b><br><i>Name
(Affiliation) &middot; Name (Affiliation) ...</i>`, the affiliation as the author entered
it. This module reads those entries (HTML entities decoded, spaces squeezed, authors split
on the middle dot); listings.py merges them onto the papers of the list by title, then by
author list (`LISTINGS`). A `<p>` without a bold title and an italic author line (the
page's own text) is not an entry.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from talent_tracker import limits
from talent_tracker.errors import UserError
from talent_tracker.records import Skip
from talent_tracker.sources.listings import Entry, Listing, Report, parse_speaker
from talent_tracker.sources.text import clean

SOURCE = "neurips-accepted"
FOLDER = "neurips-accepted"
ALIGNMENT = "page_name"
FILES = {("neurips", 2019): "neurips2019.html.gz", ("neurips", 2020): "neurips2020.html.gz"}
LISTINGS = {venue_year: Listing(SOURCE, venue_year, ALIGNMENT, "accepted-papers entry") for venue_year in FILES}
SEPARATOR = "\u00b7"  # &middot;


def locate(data: Path) -> dict[tuple[str, int], Path]:
    """The accepted-papers pages inside a data folder (`../shared/data`), by venue-year."""
    found = {}
    for venue_year, name in FILES.items():
        for path in (Path(data) / FOLDER / name, Path(data) / FOLDER / name.removesuffix(".gz")):
            if path.is_file():
                found[venue_year] = path
                break
    return found


def read(path: Path, venue_year: tuple[str, int], report: Report, label: str) -> list[Entry]:
    """The page's entries, within the caps of limits.py: a page past its size gives none and
    an entry past a cap is dropped, each a skip; so is a page with no entry at all."""
    try:
        text = limits.read_text(path, limits.MAX_SOURCE_BYTES, "accepted-papers page")
    except UserError as exc:
        report(Skip(label, "file", "unreadable file", str(exc).removeprefix(f"{path}: "), *venue_year))
        return []
    page = _Page()
    page.feed(text)
    page.close()
    entries, dropped = [], page.dropped
    for title, authors in page.found:
        names = [a for a in (part.strip() for part in authors.split(SEPARATOR)) if a]
        if not title or not names or len(entries) >= limits.MAX_RECORDS:
            dropped += 1
            continue
        speakers = tuple(parse_speaker(name) for name in names[: limits.MAX_AUTHORS])
        dropped += len(names) > limits.MAX_AUTHORS
        entries.append(Entry(len(entries), clean(title)[: limits.MAX_FIELD_CHARS], speakers))
    if dropped:
        report(Skip(label, "record", "accepted-papers entry without a title or authors, or past a cap", "",
                    *venue_year, count=dropped))
    if not entries:
        report(Skip(label, "file", "no accepted-papers entry found",
                    "expected <p><b>Title</b><br><i>Name (Affiliation) &middot; ...</i></p>", *venue_year))
    return entries


class _Page(HTMLParser):
    """Collects (title, author line) of every `<p>` holding a `<b>` and an `<i>`. Text is
    kept per element up to MAX_FIELD_CHARS x MAX_AUTHORS characters (an author line), so
    a page without closing tags cannot grow one value without bound."""

    LIMIT = limits.MAX_FIELD_CHARS * 64

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self.dropped = 0
        self._in: str | None = None  # "b" or "i" inside a paragraph
        self._paragraph = False
        self._parts: dict[str, list[str]] = {}  # "b", "i" -> their text, once the element is seen
        self._sizes: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self._end_paragraph()
            self._paragraph, self._parts, self._sizes = True, {}, {"b": 0, "i": 0}
        elif tag in ("b", "i") and self._paragraph:
            self._in = tag
            self._parts.setdefault(tag, [])

    def handle_endtag(self, tag):
        if tag in ("b", "i") and self._in == tag:
            self._in = None
        elif tag == "p":
            self._end_paragraph()

    def handle_data(self, data):
        if self._in is None:
            return
        if self._sizes[self._in] + len(data) > self.LIMIT:
            self._sizes[self._in] = self.LIMIT + 1  # too long: the entry is dropped
            return
        self._sizes[self._in] += len(data)
        self._parts[self._in].append(data)

    def close(self):
        super().close()
        self._end_paragraph()

    def _end_paragraph(self):
        if self._paragraph and "b" in self._parts and "i" in self._parts:
            if max(self._sizes.values()) > self.LIMIT:
                self.dropped += 1
            else:
                self.found.append(("".join(self._parts["b"]), "".join(self._parts["i"])))
        self._paragraph, self._in, self._parts, self._sizes = False, None, {}, {}
