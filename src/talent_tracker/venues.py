"""Venues and tiers as data: which decision labels count as accepted, and which as oral.

The mapping lives in `venues.toml` beside this module; users extend or override it with
their own TOML file (same schema). Everything here is a pure function of that data.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_SMALL_FILE_BYTES, read_text
from talent_tracker.years import parse_years

TIER_TOP2 = "top2"
TIER_TOP20 = "top20"
_RULE_KEYS = ("accepted", "oral", "not_accepted", "tracks", "exclude_titles", "track_by_poster_id", "note")
_POSTER_ID = re.compile(r"/poster/(\d+)(?:[/?#]|$)")


@dataclass(frozen=True)
class YearRule:
    """The decision mapping of one venue in one year."""

    accepted: frozenset[str]
    oral: frozenset[str]
    not_accepted: frozenset[str]
    tracks: frozenset[str]
    exclude_titles: frozenset[str]
    notes: tuple[str, ...]
    labels: dict[str, tuple[str, ...]]  # the lists as written, for display and storage
    # (first poster id, last poster id, track): where the list's own track is wrong
    track_by_poster_id: tuple[tuple[int, int, str], ...] = ()

    @property
    def oral_known(self) -> bool:
        return bool(self.oral)

    def track_of(self, url: str | None) -> str | None:
        """The track a paper's poster id puts it on (None: the list's own track stands)."""
        if not self.track_by_poster_id or not url:
            return None
        found = _POSTER_ID.search(url)
        if found is None:
            return None
        poster = int(found.group(1))
        return next((track for low, high, track in self.track_by_poster_id if low <= poster <= high), None)


@dataclass(frozen=True)
class Decision:
    accepted: bool
    tier: str | None
    problem: str | None = None  # why a label could not be read, for the skip report
    excluded: bool = False  # left out on purpose by an `exclude_titles` entry


@dataclass
class Venue:
    key: str
    name: str
    folder: str
    csv_names: list[str]
    aliases: list[str]
    defaults: dict
    years: list[tuple[frozenset[int], dict]] = field(default_factory=list)

    def rule(self, year: int) -> YearRule:
        chosen = dict(self.defaults)
        notes = [self.defaults.get("note", "")]
        for years, block in self.years:
            if year in years:
                chosen.update({k: v for k, v in block.items() if k in _RULE_KEYS})
                notes.append(block.get("note", ""))
                break
        fold = lambda key: frozenset(_norm(s) for s in chosen.get(key, []))  # noqa: E731
        return YearRule(
            accepted=fold("accepted"),
            oral=fold("oral"),
            not_accepted=fold("not_accepted"),
            tracks=fold("tracks"),
            exclude_titles=fold("exclude_titles"),
            notes=tuple(n.strip() for n in notes if n and n.strip()),
            labels={k: tuple(chosen.get(k, [])) for k in ("accepted", "oral", "not_accepted", "tracks")},
            track_by_poster_id=tuple((int(r["from"]), int(r["to"]), str(r["track"]))
                                     for r in chosen.get("track_by_poster_id", [])),
        )

    def decide(self, year: int, status: str | None, track: str | None) -> Decision:
        return decide(self.rule(year), status, track)


def _norm(label: str) -> str:
    return " ".join(label.split()).casefold()


def decide(rule: YearRule, status: str | None, track: str | None, title: str = "") -> Decision:
    """Accepted or not, and the tier, of one paper with this status, track and title."""
    if title and rule.exclude_titles and _norm(title) in rule.exclude_titles:
        return Decision(False, None, "excluded by the venue mapping", excluded=True)
    if status is None or not status.strip():
        return Decision(False, None, "missing status")
    label = _norm(status)
    if label in rule.not_accepted:
        return Decision(False, None)
    if label not in rule.accepted:
        return Decision(False, None, f"unknown status {status.strip()!r}")
    track_label = _norm(track) if track and track.strip() else "main"
    if track_label not in rule.tracks:
        return Decision(False, None)
    return Decision(True, TIER_TOP2 if label in rule.oral else TIER_TOP20)


class Venues:
    """The venue catalogue: lookup by name, alias, data folder or CSV name."""

    def __init__(self, venues: dict[str, Venue]):
        self.by_key = venues

    def __iter__(self):
        return iter(self.by_key.values())

    def get(self, name: str) -> Venue:
        wanted = name.strip().casefold()
        for venue in self.by_key.values():
            if wanted == venue.key or wanted in (a.casefold() for a in venue.aliases):
                return venue
        known = ", ".join(sorted(self.by_key))
        raise UserError(f"unknown venue {name!r} (known venues: {known})")

    def by_folder(self, folder: str) -> Venue | None:
        return next((v for v in self.by_key.values() if v.folder == folder), None)

    def by_csv_name(self, name: str) -> Venue | None:
        wanted = name.strip().casefold()
        return next(
            (v for v in self.by_key.values() if wanted in (c.casefold() for c in v.csv_names)),
            None,
        )


def load_venues(override: Path | None = None) -> Venues:
    """The packaged mapping, with the user's TOML file (if any) laid over it."""
    data = _packaged()
    user: dict = {}
    if override is not None:
        try:
            user = tomllib.loads(read_text(Path(override), MAX_SMALL_FILE_BYTES, "venues file"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{override}: not a valid TOML venues file ({exc})") from None
    if not user:
        return _default_venues()
    venues = {}
    for key in sorted(set(data) | set(user)):
        venues[key] = _venue(key, data.get(key, {}), user.get(key, {}), override)
    return Venues(venues)


@lru_cache(maxsize=1)
def _packaged() -> dict:
    return tomllib.loads(resources.files(__package__).joinpath("venues.toml").read_text("utf-8"))


@lru_cache(maxsize=1)
def _default_venues() -> Venues:
    """The packaged mapping alone, parsed once (it is read on every request of the web app)."""
    data = _packaged()
    return Venues({key: _venue(key, data[key], {}, None) for key in sorted(data)})


def _venue(key: str, ours: dict, theirs: dict, origin: Path | None) -> Venue:
    merged = {**ours, **{k: v for k, v in theirs.items() if k != "years"}}
    where = origin if theirs else "venues.toml"
    if not isinstance(merged.get("accepted"), list) or not merged.get("accepted"):
        raise UserError(f"{where}: venue {key!r} needs a non-empty `accepted` list")
    for list_key in ("oral", "not_accepted", "tracks", "exclude_titles", "csv_names", "aliases"):
        if not isinstance(merged.get(list_key, []), list):
            raise UserError(f"{where}: venue {key!r}: `{list_key}` must be a list")
    for block in [merged, *theirs.get("years", []), *ours.get("years", [])]:
        for entry in block.get("track_by_poster_id", []):
            if not (isinstance(entry, dict) and isinstance(entry.get("from"), int) and isinstance(entry.get("to"), int)
                    and isinstance(entry.get("track"), str)):
                raise UserError(f"{where}: venue {key!r}: `track_by_poster_id` entries need integer `from` and "
                                "`to` and a `track`")
    year_blocks = []
    for block in list(theirs.get("years", [])) + list(ours.get("years", [])):
        if "range" not in block:
            raise UserError(f"{where}: a `years` block of venue {key!r} has no `range`")
        try:
            years = parse_years(str(block["range"]))
        except UserError as exc:
            raise UserError(f"{where}: venue {key!r}: {exc}") from None
        year_blocks.append((frozenset(years), block))
    return Venue(
        key=key,
        name=merged.get("name", key),
        folder=merged.get("folder", key),
        csv_names=list(merged.get("csv_names", [])),
        aliases=list(merged.get("aliases", [])),
        defaults={k: merged[k] for k in _RULE_KEYS if k in merged},
        years=year_blocks,
    )
