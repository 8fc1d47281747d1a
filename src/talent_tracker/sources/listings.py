"""Affiliations from a listing of a conference's papers that names each author's affiliation
but carries no paper id and no status: the NeurIPS 2022 schedule (schedule.py) and the
official NeurIPS 2019 and 2020 accepted-papers pages (accepted_pages.py). Each source reads
its file into `Entry`s; this module merges them onto the papers of the paper list, and
nothing is guessed:

- entries are matched to papers by title, normalised (case, punctuation, spacing, LaTeX
  markup); a title that differs more (small edits, a paper renamed since) is matched
  only when the two author lists agree (most name keys shared, see `author_agreement`),
  each paper to at most one entry; every match says how it was made;
- authors are aligned by name: position by position when both lists name the same
  people in the same order, else each author to the one author of the entry with the same
  name key (or the same initial and surname); an author with none, or with several, gets
  nothing;
- `Name (Affiliation)` is split at the last top-level parenthesis, so parentheses
  inside the affiliation stay (`The Chinese University of Hong Kong (Shenzhen)`) and
  those of a name too (`Jingwan (Cynthia) Lu (Adobe Research)`); an entry naming several
  institutions is kept whole (the resolver records the others); `(None)` is no affiliation;
- an author who already has an affiliation from the paper list keeps it.

Every entry left unmatched, every author left unaligned, and every fuzzy match is counted
in `skips`. Aligned authorships record the listing's `affiliation_source`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz

from talent_tracker import limits
from talent_tracker.names import name_key
from talent_tracker.records import Paper, Skip
from talent_tracker.sources.text import clean

# a title this similar (rapidfuzz ratio of the normalised titles) is the same paper if
# the author lists also agree; a renamed paper needs the authors to agree more
TITLE_SIMILAR = 85
AUTHORS_AGREE = 0.5  # share of the smaller author list found in the other
AUTHORS_AGREE_RENAMED = 0.8
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

Report = Callable[[Skip], None]


@dataclass(frozen=True)
class Listing:
    """One listing: its `affiliation_source`, the venue-year it covers, the `alignment` its
    authors get, and what one of its entries is called in skip reasons."""

    source: str
    venue_year: tuple[str, int]
    alignment: str
    entry: str  # "schedule poster", "accepted-papers entry"


@dataclass(frozen=True)
class Entry:
    index: int
    title: str
    speakers: tuple[tuple[str, str | None], ...]  # (name, affiliation or None), in author order


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


def merge(papers: list[Paper], posters: list[Entry], label: str, listing: Listing, report: Report) -> None:
    """Give the papers' authors the affiliations of their listing's entries (see the module docstring)."""
    by_title: dict[str, list[int]] = defaultdict(list)
    for i, paper in enumerate(papers):
        by_title[normalise_title(paper.title)].append(i)
    matched: dict[int, tuple[Entry, str]] = {}
    left: list[Entry] = []
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
        candidates = papers_sharing_authors(speakers, by_author, matched)
        best = None if candidates is None else match_by_authors(speakers, normalise_title(poster.title), candidates,
                                                                 keys, titles)
        if best is None:
            unmatched += 1
            continue
        matched[best] = (poster, "authors and title")
        fuzzy += 1
    if fuzzy:
        report(Skip(label, "field", f"{listing.entry} matched by its authors (title differs)",
                    f"{fuzzy} entries", *listing.venue_year, count=fuzzy))
    if unmatched:
        report(Skip(label, "field", f"{listing.entry} matched to no paper of the list",
                    f"{unmatched} entries (papers not in the list, e.g. journal papers, or renamed with other authors)",
                    *listing.venue_year, count=unmatched))
    unaligned = 0
    for i, (poster, _) in matched.items():
        unaligned += _align(papers[i], poster, keys[i], listing)
    if unaligned:
        report(Skip(label, "field", f"author not found on the {listing.entry} (spelling or author list differs)",
                    "", *listing.venue_year, count=unaligned))


def match_by_authors(speakers: list[str], title: str, candidates, keys: dict, titles: dict) -> int | None:
    """The paper among `candidates` a poster whose title matched none belongs to: the
    author lists must agree (a similar title needs less agreement than a renamed paper);
    the most agreeing, then the most similar title, wins."""
    best = None
    for i in candidates:
        agreement = author_agreement(speakers, keys[i])
        similar = fuzz.ratio(title, titles[i])
        agrees = agreement >= AUTHORS_AGREE_RENAMED or (agreement >= AUTHORS_AGREE and similar >= TITLE_SIMILAR)
        if agrees and (best is None or (agreement, similar) > best[0]):
            best = ((agreement, similar), i)
    return None if best is None else best[1]


def papers_sharing_authors(keys: list[str], by_author: dict, taken) -> set[int] | None:
    """The papers not in `taken` with an author of `keys` (by_author: name key -> papers);
    None past limits.MAX_AUTHOR_CANDIDATES, so a name on thousands of papers costs no more
    than that (the caller leaves the entry unmatched)."""
    found: set[int] = set()
    for key in keys:
        for i in by_author.get(key, ()):
            if i not in taken:
                found.add(i)
                if len(found) > limits.MAX_AUTHOR_CANDIDATES:
                    return None
    return found


def author_agreement(a: list[str], b: list[str]) -> float:
    """The share of the shorter list's name keys that the other list has."""
    if not a or not b:
        return 0.0
    shorter, longer = (a, set(b)) if len(a) <= len(b) else (b, set(a))
    return sum(1 for key in shorter if key in longer) / len(shorter)


def _align(paper: Paper, poster: Entry, keys: list[str], listing: Listing) -> int:
    """Give each author the affiliation of their speaker entry; returns the authors left out."""
    places = align_names(keys, [name_key(name) for name, _ in poster.speakers])
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
            author.alignment = author.alignment or listing.alignment
            author.affiliation_source = listing.source
    return left


def align_names(keys: list[str], others: list[str]) -> list[int | None]:
    """For each name key of `keys`, its place in `others`: position by position when both
    lists name the same people in the same order, else the one place with the same key,
    or with the same initial and surname; None where there is none, or several."""
    if keys == others:
        return list(range(len(keys)))
    exact = _by_name(keys, others)
    loose = _by_name([_initial(k) for k in keys], [_initial(k) for k in others])
    return [e if e is not None else x for e, x in zip(exact, loose)]


def _by_name(keys: list[str], speakers: list[str]) -> list[int | None]:
    """Each author's speaker of the same key, where exactly one speaker has it."""
    positions: dict[str, list[int]] = defaultdict(list)
    for j, key in enumerate(speakers):
        positions[key].append(j)
    return [positions[k][0] if k and len(positions.get(k, ())) == 1 else None for k in keys]


def _initial(key: str) -> str:
    parts = key.split()
    return f"{parts[0][:1]} {parts[-1]}" if len(parts) > 1 else key
