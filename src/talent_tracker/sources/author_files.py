"""Source `paperlists-authors`: Paper Copilot's author files, one OpenReview profile per
author of a submission (NeurIPS 2021-2024, ICLR 2021-2023, ICML 2025).

Each record is a submission: `id` (its OpenReview id), `author` and `authorids` in author
order, and per-profile fields (`aff`, `aff_domain`, `position`, `homepage`, `dblp`,
`google_scholar`, `orcid`, `linkedin`) in the order of `or_profile`, which is not always
the author order (a renamed profile moves). So:

- a profile is aligned to its author by id (`or_profile` entry = `authorids` entry), else
  by name (the profile id `~First_Last1` read as `First Last`, the same name key as one
  author only); a profile aligned to no author is counted, never guessed;
- a record joins its paper by id where the paper list uses OpenReview ids, else (NeurIPS
  2024 and ICML 2025 use `site_` ids) by its author list: the paper whose authors' name
  keys are the record's, or agree the most (at least listings.AUTHORS_AGREE_RENAMED of the
  shorter list) with no tie; the files also hold public rejects, absent from the lists;
- a joined paper whose list gives no authors (rejects, mostly) takes the submission's;
- each author of a joined paper takes what the list lacks, never replacing it: the
  OpenReview id, the affiliation (`affiliation_source = 'paperlists-authors'`), the
  e-mail domain, the job title and the profile's links (homepage, DBLP, Scholar, ORCID,
  LinkedIn, as links.url makes them); the paper list's own values, and the schedule's or
  the official pages', come first.

Records, profiles and papers left unjoined are counted in `skips`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from talent_tracker import jsonread, limits, links
from talent_tracker.names import name_key
from talent_tracker.records import Authorship, Paper, Skip
from talent_tracker.sources.listings import (
    AUTHORS_AGREE_RENAMED,
    Report,
    align_names,
    author_agreement,
    papers_sharing_authors,
)
from talent_tracker.sources.text import clean

SOURCE = "paperlists-authors"
FOLDER = "paperlists-authors"
FOLDERS = {"neurips": "nips", "iclr": "iclr", "icml": "icml"}
PER_PROFILE = ("aff", "aff_domain", "position", "homepage", "dblp", "google_scholar", "orcid", "linkedin")
_PROFILE_ID = re.compile(r"~[^;\s]{1,250}")
_TRAILING_DIGITS = re.compile(r"\d+$")


@dataclass(frozen=True)
class Profile:
    """One author of a submission as their OpenReview profile states it (None: empty)."""

    name: str
    openreview_id: str | None
    affiliation: str | None = None
    email_domain: str | None = None
    job_title: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (kind, URL): links.KINDS, as links.url makes them


@dataclass(frozen=True)
class Submission:
    submission_id: str
    authors: tuple[Profile, ...]  # in author order
    dropped_links: int = 0  # values that are no link of their kind (links.url)


def locate(data: Path, venue: str, year: int) -> Path | None:
    """The author file of a venue-year inside a data folder (`../shared/data`), if any."""
    folder = FOLDERS.get(venue)
    if folder is None:
        return None
    for name in (f"{folder}{year}.json.gz", f"{folder}{year}.json"):
        path = Path(data) / FOLDER / folder / name
        if path.is_file():
            return path
    return None


def read(path: Path, venue_year: tuple[str, int], report: Report, label: str) -> list[Submission]:
    """The file's submissions, streamed within the caps of limits.py; a record past a cap,
    or without an id and authors, is a counted skip, and so is a profile aligned to no author."""
    submissions, dropped, unaligned, bad_links, empty = [], 0, 0, 0, 0
    try:
        for item in jsonread.array_file(path, limits.MAX_SOURCE_BYTES, "author file"):
            record = item.value
            if item.dropped or not isinstance(record, dict) or len(submissions) >= limits.MAX_RECORDS:
                dropped += 1
                continue
            parsed, left = _submission(record)
            if parsed is None:
                has_id = isinstance(record.get("id"), str) and record["id"].strip()
                empty += bool(has_id)  # a submission listing no one: nothing to add, nothing broken
                dropped += not has_id
                continue
            submissions.append(parsed)
            unaligned += left
            bad_links += parsed.dropped_links
    except jsonread.FILE_ERRORS as exc:
        report(Skip(label, "file", "malformed file", jsonread.describe(exc), *venue_year))
        return []
    if dropped:
        report(Skip(label, "record", "author-file record without an id, or past a cap", "",
                    *venue_year, count=dropped))
    if empty:
        report(Skip(label, "field", "author-file record listing no authors (nothing to add)", "",
                    *venue_year, count=empty))
    if unaligned:
        report(Skip(label, "field", "author-file profile matched to no author (by id or name)", "",
                    *venue_year, count=unaligned))
    if bad_links:
        report(Skip(label, "field", "author-file profile link that is no link of its kind (left out)",
                    "e.g. a LinkedIn feed page, an ORCID iD with a wrong check digit", *venue_year, count=bad_links))
    return submissions


def _split(value: object) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return []
    return [clean(part)[: limits.MAX_FIELD_CHARS] for part in value.split(";")][: limits.MAX_AUTHORS]


def _submission(record: dict) -> tuple[Submission | None, int]:
    """A record as a submission, and how many of its profiles no author could take."""
    submission_id = record.get("id")
    names = _split(record.get("author"))
    if not isinstance(submission_id, str) or not submission_id.strip() or not any(names):
        return None, 0
    ids = _split(record.get("authorids"))
    ids += [""] * (len(names) - len(ids))
    profiles = _split(record.get("or_profile"))
    fields = {f: _split(record.get(f)) for f in PER_PROFILE}
    # each profile's author: by id, else by the name its id spells
    author_of: dict[int, int] = {}
    placed: set[int] = set()  # authors with a profile (a set: records may name 1,000 authors)
    by_id = {pid: i for i, pid in enumerate(ids) if pid}  # a profile id, or an e-mail where there was none
    for j, pid in enumerate(profiles):
        if pid in by_id and by_id[pid] not in placed:
            author_of[j] = by_id[pid]
            placed.add(by_id[pid])
    keys = [name_key(n) for n in names]
    for key_of in (lambda k: k, _any_order):  # the name, then its words in any order (`Xue Haotian`)
        left_profiles = [j for j in range(len(profiles)) if j not in author_of]
        places = align_names([key_of(name_key(_name_of(profiles[j]))) for j in left_profiles],
                             [key_of(k) for k in keys])
        for j, place in zip(left_profiles, places):
            if place is not None and place not in placed:
                author_of[j] = place
                placed.add(place)
    left_profiles = [j for j in range(len(profiles)) if j not in author_of]
    left_authors = [i for i in range(len(names)) if i not in placed]
    if len(profiles) == len(names) and len(left_profiles) == 1 and len(left_authors) == 1:
        author_of[left_profiles[0]] = left_authors[0]  # the one profile left is the one author left (renamed)
    per_author: dict[int, dict] = {author_of[j]: {f: _at(fields[f], j) for f in PER_PROFILE} for j in author_of}
    authors, bad_links = [], 0
    for i, name in enumerate(names):
        values = per_author.get(i, {})
        pid = ids[i] if _PROFILE_ID.fullmatch(ids[i]) else None
        found = [(kind, links.url(kind, values[kind])) for kind in links.KINDS if values.get(kind)]
        bad_links += sum(1 for _, url in found if url is None)
        authors.append(Profile(name, pid, values.get("aff"), (values.get("aff_domain") or "").lower() or None,
                               values.get("position"), tuple((kind, url) for kind, url in found if url)))
    return Submission(submission_id.strip(), tuple(authors), bad_links), sum(1 for j, pid in enumerate(profiles)
                                                                            if pid and j not in author_of)


def _any_order(key: str) -> str:
    return " ".join(sorted(key.split()))


def _at(values: list[str], j: int) -> str | None:
    return (values[j] or None) if j < len(values) else None


def _name_of(profile_id: str) -> str:
    """`~Mehrdad_Ghadiri1` -> `Mehrdad Ghadiri`."""
    return _TRAILING_DIGITS.sub("", profile_id.lstrip("~")).replace("_", " ")


def merge(papers: list[Paper], submissions: list[Submission], label: str, venue_year: tuple[str, int],
          report: Report) -> None:
    """Give the papers' authors what their submission's profiles say (see the module docstring)."""
    by_id = {paper.paper_id: i for i, paper in enumerate(papers)}
    keys = [[name_key(a.name) for a in paper.authors] for paper in papers]
    by_author: dict[str, set[int]] = defaultdict(set)
    for i, names in enumerate(keys):
        for key in names:
            by_author[key].add(i)
    taken: set[int] = set()
    joined = []
    by_authors = unmatched = 0
    for submission in submissions:
        found = by_id.get(submission.submission_id)
        if found is None:
            found = _by_authors([name_key(p.name) for p in submission.authors], keys, by_author, taken)
            by_authors += found is not None
        if found is None or found in taken:
            unmatched += 1
            continue
        taken.add(found)
        joined.append((found, submission))
    authorless = 0
    for i, submission in joined:
        if not papers[i].authors:  # the list has none: the submission's authors, in its order
            papers[i].authors = [Authorship(n, p.name) for n, p in enumerate(submission.authors, start=1)]
            keys[i] = [name_key(p.name) for p in submission.authors]
            authorless += 1
    unaligned = sum(_fill(papers[i], submission, keys[i]) for i, submission in joined)
    if authorless:
        report(Skip(label, "field", "paper without authors in the list: its authors taken from the author file",
                    f"{authorless} papers", *venue_year, count=authorless))
    if by_authors:
        report(Skip(label, "field", "author-file record joined to its paper by the author list (no shared id)",
                    f"{by_authors} records", *venue_year, count=by_authors))
    if unmatched:
        report(Skip(label, "field", "author-file record of no paper of the list",
                    f"{unmatched} records (public rejects, or author lists that differ)", *venue_year,
                    count=unmatched))
    if unaligned:
        report(Skip(label, "field", "author not found in the author-file record (spelling or author list differs)",
                    "", *venue_year, count=unaligned))


def _by_authors(record: list[str], keys: list[list[str]], by_author: dict, taken: set[int]) -> int | None:
    """The one paper not yet joined whose author list is the record's, or agrees the most."""
    scored = []
    for i in papers_sharing_authors(record, by_author, taken) or ():
        agreement = 2.0 if keys[i] == record else author_agreement(record, keys[i])
        if agreement >= AUTHORS_AGREE_RENAMED:
            scored.append((agreement, i))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None  # none, or a tie: never guessed
    return scored[0][1]


def _fill(paper: Paper, submission: Submission, keys: list[str]) -> int:
    """Fill what each author of `paper` lacks from their profile; returns the authors left out."""
    places = align_names(keys, [name_key(p.name) for p in submission.authors])
    left = 0
    for author, place in zip(paper.authors, places):
        if place is None:
            left += 1
            continue
        profile = submission.authors[place]
        author.openreview_id = author.openreview_id or profile.openreview_id
        author.email_domain = author.email_domain or profile.email_domain
        author.job_title = author.job_title or profile.job_title
        author.links = author.links or profile.links
        if profile.affiliation and not author.affiliation:
            author.affiliation = profile.affiliation
            author.affiliation_source = SOURCE
            author.alignment = author.alignment or "profile"
        elif profile.affiliation:  # the earlier source's stands; this one is kept to compare
            author.second_affiliation = (profile.affiliation, profile.email_domain)
    return left
