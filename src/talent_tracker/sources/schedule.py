"""Source `neurips2022-schedule`: authors' affiliations from the NeurIPS 2022 schedule.

The NeurIPS 2022 paper list carries names and status only. The conference schedule,
crawled on 2022-10-27, lists each poster's authors as `Name (Affiliation)`, the
affiliation being the author's schedule profile at the time. This module merges those
affiliations onto the papers of the list; nothing is guessed:

- posters are matched to papers by title, normalised (case, punctuation, spacing, LaTeX
  markup); a title that differs more (small edits, a paper renamed since) is matched
  only when the two author lists agree (most name keys shared, see `_author_agreement`),
  each paper to at most one poster; every match says how it was made;
- authors are aligned by name: position by position when both lists name the same
  people in the same order, else each author to the one speaker of the same name key
  (or the same initial and surname); an author with none, or with several, gets nothing;
- `Name (Affiliation)` is split at the last top-level parenthesis, so parentheses
  inside the affiliation stay (`The Chinese University of Hong Kong (Shenzhen)`); an
  entry naming several institutions is kept whole (the resolver records the others);
  `(None)` is no affiliation.

Every poster left unmatched, every author left unaligned, and every fuzzy match is
counted in `skips`. Aligned authorships record `affiliation_source = 'neurips2022-schedule'`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from talent_tracker import jsonread, limits
from talent_tracker.names import name_key
from talent_tracker.records import Paper, Skip
from talent_tracker.sources.text import clean

SOURCE = "neurips2022-schedule"
FOLDER = "neurips2022-schedule"
FILE = "posters.json.gz"
VENUE_YEAR = ("neurips", 2022)
ALIGNMENT = "schedule_name"
# a title this similar (rapidfuzz ratio of the normalised titles) is the same paper if
# the author lists also agree; a renamed paper needs the authors to agree more
TITLE_SIMILAR = 85
AUTHORS_AGREE = 0.5  # share of the smaller author list found in the other
AUTHORS_AGREE_RENAMED = 0.8
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

Report = Callable[[Skip], None]


@dataclass(frozen=True)
class Poster:
    index: int
    title: str
    speakers: tuple[tuple[str, str | None], ...]  # (name, affiliation or None)


def locate(data: Path) -> Path | None:
    """The schedule file inside a data folder (`../shared/data`), if it is there."""
    path = Path(data) / FOLDER / FILE
    return path if path.exists() else None


def read(path: Path, report: Report, label: str) -> list[Poster]:
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
            posters.append(Poster(index, clean(record["title"])[: limits.MAX_FIELD_CHARS], parsed))
    except jsonread.FILE_ERRORS as exc:
        report(Skip(label, "file", "malformed file", jsonread.describe(exc), *VENUE_YEAR))
        return []
    if dropped:
        report(Skip(label, "record", "schedule entry without a title, or past a cap", "", *VENUE_YEAR,
                    count=dropped))
    return posters


def parse_speaker(entry: str) -> tuple[str, str | None]:
    """`Name (Affiliation)` -> (name, affiliation); the affiliation may hold parentheses."""
    text = clean(entry)[: limits.MAX_FIELD_CHARS]
    if not text.endswith(")"):
        return text, None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                name, affiliation = text[:i].strip(), text[i + 1:-1].strip()
                if not name:
                    return text, None
                return name, None if affiliation.casefold() in ("none", "", "null") else affiliation
    return text, None  # unbalanced: no affiliation can be read


def normalise_title(title: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", _LATEX.sub(" ", title.casefold())).split())


def merge(papers: list[Paper], posters: list[Poster], label: str, report: Report) -> None:
    """Give the papers' authors the affiliations of their posters (see the module docstring)."""
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, paper in enumerate(papers):
        by_title[normalise_title(paper.title)].append(i)
    matched: dict[int, tuple[Poster, str]] = {}
    left: list[Poster] = []
    for poster in posters:
        candidates = [i for i in by_title.get(normalise_title(poster.title), []) if i not in matched]
        if len(candidates) == 1:
            matched[candidates[0]] = (poster, "title")
        else:
            left.append(poster)
    keys = {i: [name_key(a.name) for a in paper.authors] for i, paper in enumerate(papers)}
    by_author: dict[str, set[int]] = defaultdict(set)
    for i, names in keys.items():
        if i not in matched:
            for key in names:
                by_author[key].add(i)
    fuzzy = unmatched = 0
    titles = {i: normalise_title(paper.title) for i, paper in enumerate(papers)}
    for poster in left:
        speakers = [name_key(name) for name, _ in poster.speakers]
        candidates = {i for key in speakers for i in by_author.get(key, ()) if i not in matched}
        best = match_by_authors(speakers, normalise_title(poster.title), candidates, keys, titles)
        if best is None:
            unmatched += 1
            continue
        matched[best] = (poster, "authors and title")
        fuzzy += 1
    if fuzzy:
        report(Skip(label, "field", "schedule poster matched by its authors (title differs)",
                    f"{fuzzy} posters", *VENUE_YEAR, count=fuzzy))
    if unmatched:
        report(Skip(label, "field", "schedule poster matched to no paper of the list",
                    f"{unmatched} posters (papers not in the list, e.g. journal papers, or renamed with other authors)",
                    *VENUE_YEAR, count=unmatched))
    unaligned = 0
    for i, (poster, _) in matched.items():
        unaligned += _align(papers[i], poster, keys[i])
    if unaligned:
        report(Skip(label, "field", "author not found on the schedule poster (spelling or author list differs)",
                    "", *VENUE_YEAR, count=unaligned))


def match_by_authors(speakers: list[str], title: str, candidates, keys: dict, titles: dict) -> int | None:
    """The paper among `candidates` a poster whose title matched none belongs to: the
    author lists must agree (a similar title needs less agreement than a renamed paper);
    the most agreeing, then the most similar title, wins."""
    best = None
    for i in candidates:
        agreement = _author_agreement(speakers, keys[i])
        similar = fuzz.ratio(title, titles[i])
        agrees = agreement >= AUTHORS_AGREE_RENAMED or (agreement >= AUTHORS_AGREE and similar >= TITLE_SIMILAR)
        if agrees and (best is None or (agreement, similar) > best[0]):
            best = ((agreement, similar), i)
    return None if best is None else best[1]


def _author_agreement(a: list[str], b: list[str]) -> float:
    """The share of the shorter list's name keys that the other list has."""
    if not a or not b:
        return 0.0
    shorter, longer = (a, set(b)) if len(a) <= len(b) else (b, set(a))
    return sum(1 for key in shorter if key in longer) / len(shorter)


def _align(paper: Paper, poster: Poster, keys: list[str]) -> int:
    """Give each author the affiliation of their speaker entry; returns the authors left out."""
    speakers = [name_key(name) for name, _ in poster.speakers]
    if speakers == keys:
        places: list[int | None] = list(range(len(keys)))
    else:
        exact = _by_name(keys, speakers)
        loose = _by_name([_initial(k) for k in keys], [_initial(k) for k in speakers])
        places = [e if e is not None else x for e, x in zip(exact, loose)]
    left = 0
    taken: set[int] = set()
    for author, place in zip(paper.authors, places):
        if place is None or place in taken:
            left += 1
            continue
        taken.add(place)
        affiliation = poster.speakers[place][1]
        if affiliation and not author.affiliation:
            author.affiliation = affiliation
            author.alignment = author.alignment or ALIGNMENT
            author.affiliation_source = SOURCE
    return left


def _by_name(keys: list[str], speakers: list[str]) -> list[int | None]:
    """Each author's speaker of the same key, where exactly one speaker has it."""
    positions: dict[str, list[int]] = defaultdict(list)
    for j, key in enumerate(speakers):
        positions[key].append(j)
    return [positions[k][0] if k and len(positions.get(k, ())) == 1 else None for k in keys]


def _initial(key: str) -> str:
    parts = key.split()
    return f"{parts[0][:1]} {parts[-1]}" if len(parts) > 1 else key
