"""The normalized record the three parsers produce, the checks on its fields, and its files.

A record is a dict: `source` (openreview | orcid | openalex), `key` (the OpenReview id
asked for, or the ORCID iD), `kind` (`position`, or `orcid` for an OpenReview profile's
link to an ORCID iD), and for a position: `stage`, `role`, `institution`, `domain`,
`country` and `sector` (the source's own, used when the resolver knows none),
`start_year`, `end_year`, `confidence`, `evidence`. Records are kept as JSON lines in
`records/<source>.jsonl`, rewritten whole (atomically) by each fetch of that source.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from talent_tracker import jsonread
from talent_tracker.limits import MAX_FIELD_CHARS, MAX_RECORD_BYTES, MAX_RECORD_VALUES

SOURCES = ("openreview", "orcid", "openalex")
RECORDS = "records"
MIN_YEAR, MAX_YEAR = 1900, 2099
_YEAR = re.compile(r"\d{4}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


class Malformed(ValueError):
    """One entry of an answer cannot be read; the message is the reason counted."""


@dataclass
class Parsed:
    """Records read from answers, and the entries skipped (reason -> count)."""

    records: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] += count

    def extend(self, other: Parsed) -> None:
        self.records.extend(other.records)
        self.skipped.update(other.skipped)


def unwrap(value: object) -> object:
    """OpenReview API v2 gives profile values bare, v1 as {"value": ...}: accept both."""
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def text(value: object, what: str) -> str | None:
    value = unwrap(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{what} is not text")
    if len(value) > MAX_FIELD_CHARS:
        raise Malformed(f"{what} longer than {MAX_FIELD_CHARS:,} characters")
    return value.strip() or None


def year(value: object, what: str) -> int | None:
    """A year given as a number or a 4-digit string; empty means unknown."""
    value = unwrap(value)
    if value is None or value == "":
        return None
    if isinstance(value, str) and _YEAR.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_YEAR <= value <= MAX_YEAR:
        raise Malformed(f"bad {what} year")
    return value


def span(start: int | None, end: int | None) -> tuple[int | None, int | None]:
    if start is not None and end is not None and end < start:
        raise Malformed("ends before it starts")
    return start, end


def country_code(value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code, or None for anything else (a name, a typo)."""
    value = unwrap(value)
    return value.upper() if isinstance(value, str) and _COUNTRY.fullmatch(value.strip()) else None


def years_text(start: int | None, end: int | None) -> str:
    return f"{start or '?'}-{end or 'now'}"


def position(source: str, key: str, *, stage: str, role: str | None, institution: str | None, domain: str | None,
             country: str | None, start: int | None, end: int | None, confidence: float, evidence: str,
             sector: str | None = None) -> dict:
    return {"source": source, "key": key, "kind": "position", "stage": stage, "role": role,
            "institution": institution, "domain": domain, "country": country, "sector": sector,
            "start_year": start, "end_year": end, "confidence": confidence, "evidence": evidence}


# --- the files -------------------------------------------------------------------------

def path_for(folder: Path, source: str) -> Path:
    return Path(folder) / RECORDS / f"{source}.jsonl"


def write_records(folder: Path, source: str, records: list[dict]) -> Path:
    """Replace the records of one source (atomically: a reader sees the old or the new)."""
    path = path_for(folder, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_records(folder: Path, sources=SOURCES) -> tuple[list[dict], list[str], set[str]]:
    """The records of the sources fetched so far, a problem line per unreadable file or
    line, and the sources that have a records file."""
    problems: list[str] = []
    present = {s for s in sources if path_for(folder, s).is_file()}
    records = [r for source in sources for r in iter_records(folder, source, problems)]
    return records, problems, present


def iter_records(folder: Path, source: str, problems: list[str]) -> Iterator[dict]:
    """One source's records, one at a time (nothing when it has no file); unreadable
    lines are left out and counted in `problems`."""
    path = path_for(folder, source)
    if not path.is_file():
        return
    bad = 0
    try:
        with path.open("rb") as handle:
            for line in _lines(handle):
                record = _record(line)
                if record is None or record["source"] != source:
                    bad += 1
                else:
                    yield record
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
    if bad:
        problems.append(f"{path}: {bad} unreadable lines left out")


def _lines(handle) -> Iterator[bytes | None]:
    """The file's lines, each read at most MAX_RECORD_BYTES at a time: a longer one is
    None (and read past in chunks), never held whole."""
    while line := handle.readline(MAX_RECORD_BYTES + 1):
        if len(line) <= MAX_RECORD_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while (rest := handle.readline(MAX_RECORD_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def _record(line: bytes | None) -> dict | None:
    if line is None:
        return None
    try:
        record, _ = jsonread.loads(line, MAX_RECORD_VALUES)
    except jsonread.BadJSON:
        return None
    ok = isinstance(record, dict) and isinstance(record.get("key"), str) and record.get("kind") in ("position", "orcid")
    return record if ok else None
