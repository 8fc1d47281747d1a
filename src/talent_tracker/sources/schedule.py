"""Source `neurips2022-schedule`: authors' affiliations from the NeurIPS 2022 schedule.

The NeurIPS 2022 paper list carries names and status only. The conference schedule,
crawled on 2022-10-27, lists each poster's authors as `Name (Affiliation)`, the
affiliation being the author's schedule profile at the time. This module reads its
posters; listings.py merges them onto the papers of the list (`LISTING`).
"""

from __future__ import annotations

from pathlib import Path

from talent_tracker import jsonread, limits
from talent_tracker.records import Skip
from talent_tracker.sources.listings import Entry, Listing, Report, parse_speaker
from talent_tracker.sources.text import clean

SOURCE = "neurips2022-schedule"
FOLDER = "neurips2022-schedule"
FILE = "posters.json.gz"
VENUE_YEAR = ("neurips", 2022)
ALIGNMENT = "schedule_name"
LISTING = Listing(SOURCE, VENUE_YEAR, ALIGNMENT, "schedule poster")


def locate(data: Path) -> Path | None:
    """The schedule file inside a data folder (`../shared/data`, gzipped, or a `fetch`
    cache, plain JSON), if it is there."""
    for path in (Path(data) / FOLDER / FILE, Path(data) / FOLDER / FILE.removesuffix(".gz")):
        if path.is_file():
            return path
    return None


def read(path: Path, report: Report, label: str) -> list[Entry]:
    """The posters of the schedule file, streamed within the caps of limits.py. A poster
    past a cap is dropped and a file that cannot be read gives none: each is a skip."""
    posters, dropped = [], 0
    try:
        for index, item in enumerate(jsonread.array_file(path, limits.MAX_SOURCE_BYTES, "schedule file")):
            record = item.value
            if item.dropped or not isinstance(record, dict) or not isinstance(record.get("title"), str):
                dropped += 1
                continue
            speakers = record.get("speakers") if isinstance(record.get("speakers"), list) else []
            parsed = tuple(parse_speaker(s) for s in speakers[: limits.MAX_AUTHORS] if isinstance(s, str))
            posters.append(Entry(index, clean(record["title"])[: limits.MAX_FIELD_CHARS], parsed))
    except jsonread.FILE_ERRORS as exc:
        report(Skip(label, "file", "malformed file", jsonread.describe(exc), *VENUE_YEAR))
        return []
    if dropped:
        report(Skip(label, "record", "schedule entry without a title, or past a cap", "", *VENUE_YEAR,
                    count=dropped))
    return posters
