"""Source `paperlists`: the Paper Copilot lists, one JSON array per venue and year.

Layout: `<folder>/<folder><year>.json[.gz]`, e.g. `nips/nips2018.json.gz`. Every quirk
of these files that ingestion must survive is handled here and reported as a Skip:
entities in names, two author separators, `author` vs `authors`, per-author lists that
do not line up (see alignment.py), duplicate records of one paper, broken records.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from talent_tracker import jsonread, limits
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_AUTHORS, TooLarge, clip
from talent_tracker.records import Authorship, Paper, Skip, UnalignedEntry
from talent_tracker.sources import alignment
from talent_tracker.sources.ids import content_id, make_unique
from talent_tracker.sources.text import (
    clean,
    drop_positions,
    email_domain,
    name_key,
    normalise_domain,
    split_authors,
    split_list,
)
from talent_tracker.venues import Venue, Venues

SOURCE = "paperlists"
_FILE = re.compile(r"^(?P<stem>[a-z][a-z0-9_-]*?)(?P<year>\d{4})\.json(?P<gz>\.gz)?$")
# per-author list fields -> the Authorship attribute they fill
_PER_AUTHOR = {"aff": "affiliation", "aff_domain": "email_domain", "position": "job_title"}

Report = Callable[[Skip], None]


@dataclass(frozen=True)
class Unit:
    """One file to read: a venue in a year."""

    venue: Venue
    year: int
    path: Path
    label: str  # path relative to the data directory, for messages


def discover(
    data_dir: Path,
    venues: Venues,
    wanted: list[Venue] | None,
    years: list[int] | None,
    report: Report,
) -> list[Unit]:
    if not data_dir.is_dir():
        raise UserError(f"{data_dir}: data directory not found")
    wanted_keys = {v.key for v in wanted} if wanted else None
    units: dict[tuple[str, int], Unit] = {}
    for folder in sorted(data_dir.iterdir()):
        venue = venues.by_folder(folder.name)
        if not folder.is_dir():
            problem = limits.regular_file_problem(folder)
            if venue is not None:
                report(Skip(folder.name + "/", "file", "venue folder cannot be read",
                            problem or "a file, not a folder", venue.key))
            continue
        if venue is None:
            if wanted_keys is None and any(_FILE.match(f.name) for f in folder.iterdir()):
                report(Skip(folder.name + "/", "file", "not a configured venue folder",
                            f"add a venue with folder = {folder.name!r} to a venues file to read it"))
            continue
        if wanted_keys is not None and venue.key not in wanted_keys:
            continue
        for path in sorted(folder.iterdir()):
            label = f"{folder.name}/{path.name}"
            match = _FILE.match(path.name)
            if path.name.startswith("."):
                continue  # a download or a build in progress, editor files
            problem = limits.regular_file_problem(path)
            if problem:
                report(Skip(label, "file", "not a readable file", problem, venue.key,
                            int(match["year"]) if match else None))
                continue
            if match is None or match["stem"] != folder.name:
                report(Skip(label, "file", "file name not understood",
                            f"expected {folder.name}<year>.json or .json.gz"))
                continue
            year = int(match["year"])
            if years is not None and year not in years:
                continue
            key = (venue.key, year)
            if key in units:
                # the same list twice (e.g. fetched .json beside a snapshot .json.gz):
                # the uncompressed one is the newer download
                keep, drop = sorted([units[key], Unit(venue, year, path, label)],
                                    key=lambda u: u.path.suffix == ".gz")
                report(Skip(drop.label, "file", "duplicate list for the same venue and year",
                            f"read {keep.label} instead", venue.key, year))
                units[key] = keep
                continue
            units[key] = Unit(venue, year, path, label)
    return [units[k] for k in sorted(units)]


def read(
    unit: Unit,
    report: Report,
    unaligned: Callable[[UnalignedEntry], None],
    rank: Callable[[str | None], int],
) -> list[Paper]:
    """Every paper of one file; `rank` orders presentation labels (oral > accepted > other).

    A file that cannot be read whole (broken, not an array, past a cap) is one `file`
    skip and gives no papers: a venue-year is never built from part of its list.
    """
    parsed: list[_Parsed] = []
    pending: list[Skip] = []  # reported once the whole file has been read
    values = 0
    notes = jsonread.Notes()
    try:
        records = jsonread.array_file(unit.path, limits.MAX_SOURCE_BYTES, "paper list", notes=notes)
        for index, record in enumerate(records):
            if record.dropped:
                pending.append(Skip(unit.label, "record", f"record {record.dropped}", "",
                                    unit.venue.key, unit.year, f"#{index}"))
                continue
            item = _parse_record(unit, index, record.value, pending.append, record.notes)
            if item is None:
                continue
            values += len(item.paper.authors) + sum(len(v) for v in item.lists.values())
            if values > limits.MAX_FILE_VALUES:
                raise TooLarge(f"more than {limits.MAX_FILE_VALUES:,} author names and per-author values")
            parsed.append(item)
    except jsonread.FILE_ERRORS as exc:
        report(Skip(unit.label, "file", "malformed file", jsonread.describe(exc), unit.venue.key, unit.year))
        return []
    for skip in pending:
        report(skip)
    if notes.replaced:
        report(Skip(unit.label, "field", "bytes that are not UTF-8 text replaced", "",
                    unit.venue.key, unit.year, count=notes.replaced))
    _unique_ids(parsed)
    known = _known_values(parsed)
    budget = [limits.ALIGNMENT_BUDGET]
    for item in parsed:
        _fill_per_author(unit, item, known, report, unaligned, budget)
    return _merge_presentation_duplicates(unit, [p.paper for p in parsed], rank, report)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Parsed:
    paper: Paper
    identities: list[str | None]  # OpenReview id or e-mail, per author
    lists: dict[str, list[str]]  # per-author list fields as published
    source_keys: tuple[list[str], list[str]] | None  # per-author institutions, countries


def _parse_record(unit: Unit, index: int, raw: object, report: Report,
                  notes: jsonread.Notes | None = None) -> _Parsed | None:
    where = f"#{index}"

    def skip(reason: str, detail: str = "", scope: str = "record", count: int = 1) -> None:
        report(Skip(unit.label, scope, reason, _short(detail), unit.venue.key, unit.year, where, count))

    if not isinstance(raw, dict):
        skip("record is not a JSON object", f"found {type(raw).__name__}")
        return None
    author_text = raw.get("author", raw.get("authors"))
    if isinstance(author_text, list) and all(isinstance(a, str) for a in author_text):
        author_text = ";".join(author_text)
    if author_text is not None and not isinstance(author_text, str):
        skip("author list is not text", f"found {type(author_text).__name__}")
        return None
    notes = notes or jsonread.Notes()
    clipped = notes.cut  # strings already cut short while reading

    def bounded(value: str | None) -> str | None:
        nonlocal clipped
        value, cut = clip(value)
        clipped += cut
        return value

    title = bounded(clean(raw.get("title")) if isinstance(raw.get("title"), (str, int, float)) else "")
    names, merged = split_authors(author_text or "")
    if not title and not names:
        skip("record has neither title nor authors")
        return None
    status = raw.get("status")
    if status is not None and not isinstance(status, str):
        skip("status is not text", f"found {type(status).__name__}", scope="field")
        status = None
    track = raw.get("track") if isinstance(raw.get("track"), str) else None
    raw_id = raw.get("id")
    paper_id = bounded(clean(raw_id)) if isinstance(raw_id, (str, int)) and str(raw_id).strip() else ""
    if not title:
        skip("missing title", scope="field")
    if not names:
        skip("paper lists no authors", scope="field")
    elif any(not n for n in names):
        skip("empty author name", f"in {author_text!r}", scope="field")
    paper = Paper(
        venue=unit.venue.key,
        year=unit.year,
        paper_id=paper_id,
        title=title,
        track=bounded(clean(track)) or None,
        status=bounded(clean(status)) or None,
        source=SOURCE,
        source_file=unit.label,
        record=where,
        url=bounded(clean(raw.get("site"))) or None if isinstance(raw.get("site"), str) else None,
    )
    kept = [i for i, n in enumerate(names) if n]
    dropped = len(kept) - MAX_AUTHORS
    if dropped > 0:
        skip(f"paper has more than {MAX_AUTHORS:,} authors: the first {MAX_AUTHORS:,} kept",
             f"{len(kept):,} authors", scope="field", count=dropped)
        kept = kept[:MAX_AUTHORS]
    paper.authors = [Authorship(position=p, name=names[i]) for p, i in enumerate(kept, start=1)]
    if any(len(a.name) > limits.MAX_FIELD_CHARS for a in paper.authors):  # rare: most names are short
        for authorship in paper.authors:
            authorship.name = bounded(authorship.name)

    def per_author(key: str) -> list[str] | None:
        values = split_list(raw.get(key)) if isinstance(raw.get(key), str) else None
        if values is None:
            return None
        if merged and len(values) == len(names) + len(merged):
            values = drop_positions(values, merged)
        if len(values) == len(names):
            values = [values[i] for i in kept]
        elif dropped > 0 or len(values) > MAX_AUTHORS:
            # a list out of line with a paper too large to keep whole: no rule can place it
            skip("per-author list of an over-long paper not used", f"{key}: {len(values):,} entries",
                 scope="field", count=len(values))
            return None
        # cut what is too long (rare: the common case is one pass over the lengths)
        return [bounded(v) for v in values] if max(map(len, values), default=0) > limits.MAX_FIELD_CHARS else values

    ids = per_author("authorids")
    identities: list[str | None] = [None] * len(paper.authors)
    if ids is not None:
        if len(ids) == len(paper.authors):
            identities = [v or None for v in ids]
        else:
            skip("author ids do not line up with the authors",
                 f"{len(ids)} ids for {len(paper.authors)} authors", scope="field")
    for authorship, identity in zip(paper.authors, identities):
        if identity is None:
            continue
        if identity.startswith("~"):
            authorship.openreview_id = identity
        elif "@" in identity:
            authorship.email = identity.lower()
            authorship.email_domain = email_domain(identity)
    lists = {}
    for key in _PER_AUTHOR:
        values = per_author(key)
        if values is None and key == "aff_domain":
            values = per_author("email")
        if values is not None:
            lists[key] = values
    if clipped:
        skip(f"value longer than {limits.MAX_FIELD_CHARS:,} characters cut short", scope="field", count=clipped)
    if notes.replaced:
        skip("text with invalid characters (lone surrogates) replaced", scope="field", count=notes.replaced)
    if notes.numbers:
        skip("number too large to read: the field is left empty", scope="field", count=notes.numbers)
    return _Parsed(paper, identities, lists, _source_keys(raw, len(paper.authors)))


def _short(text: str, limit: int = 200) -> str:
    """A skip's detail, short enough to show (the data itself may be huge)."""
    return text if len(text) <= limit else text[:limit] + "…"


def _source_keys(raw: dict, n: int) -> tuple[list[str], list[str]] | None:
    """Per author, the source's own institution and country names (answer key only)."""
    fields = [raw.get(k) for k in ("aff_unique_norm", "aff_unique_index", "aff_country_unique", "aff_country_unique_index")]
    if not all(isinstance(f, str) for f in fields):
        return None
    institutions, inst_index, countries, country_index = (f.split(";") for f in fields)
    if len(inst_index) != n or len(country_index) != n:
        return None
    try:
        return (_pick(institutions, inst_index), _pick(countries, country_index))
    except (ValueError, IndexError):
        return None


def _pick(names: list[str], cells: list[str]) -> list[str]:
    """`0;1+2` style per-author indexes into `names` -> per author `A` / `B;C`."""
    return [";".join(names[int(i)].strip() for i in cell.split("+") if i.strip()) for cell in cells]


def _unique_ids(parsed: list[_Parsed]) -> None:
    for item in parsed:
        paper = item.paper
        if not paper.paper_id:
            paper.paper_id = content_id(paper.venue, paper.year, paper.title, *(a.name for a in paper.authors))
    make_unique([item.paper for item in parsed])


def _known_values(parsed: list[_Parsed]) -> dict[str, dict[str, frozenset[str]]]:
    """Per list field and author identity, the values seen where the lists line up."""
    seen: dict[str, dict[str, set[str]]] = {key: defaultdict(set) for key in _PER_AUTHOR}
    for item in parsed:
        n = len(item.paper.authors)
        for key, values in item.lists.items():
            if len(values) == n:
                for identity, value in zip(item.identities, values):
                    if identity and value:
                        seen[key][identity].add(value)
    return {key: {k: frozenset(v) for k, v in table.items()} for key, table in seen.items()}


def _fill_per_author(unit: Unit, item: _Parsed, known, report: Report, unaligned, budget: list[int]) -> None:
    paper = item.paper
    n = len(paper.authors)
    strength = {alignment.POSITIONAL: 3, alignment.PROFILE_ORDER: 2, alignment.EVIDENCE: 1}
    has_profile = [bool(i and i.startswith("~")) for i in item.identities]
    for key, values in item.lists.items():
        entries = values
        hints = [known[key].get(i) if i else None for i in item.identities]
        assigned, rule = alignment.align(entries, has_profile, hints, budget)
        attr = _PER_AUTHOR[key]
        for author_index, entry_index in assigned.items():
            value = entries[entry_index]
            if not value:
                continue
            authorship = paper.authors[author_index]
            if attr == "email_domain":
                value = normalise_domain(value)
                if value is None:
                    continue
            setattr(authorship, attr, value)
            if attr == "affiliation":
                authorship.affiliation_source = "list"
            if authorship.alignment is None or strength[rule] < strength[authorship.alignment]:
                authorship.alignment = rule
        used = set(assigned.values())
        left = [j for j in range(len(entries)) if j not in used and entries[j]]
        if left:
            for j in left:
                unaligned(UnalignedEntry(paper.venue, paper.year, paper.paper_id, key, j + 1, entries[j]))
            reason = ("per-author list not aligned: the file's alignment budget is spent"
                      if rule == alignment.OVER_BUDGET else "per-author list does not line up with the authors")
            report(Skip(unit.label, "field", reason, f"{key}: {len(entries)} entries for {n} authors",
                        paper.venue, paper.year, paper.record, count=len(left)))
    if item.source_keys is not None and len(item.lists.get("aff", ())) == n:
        institutions, countries = item.source_keys
        for authorship, inst, country in zip(paper.authors, institutions, countries):
            authorship.source_institutions = [s for s in inst.split(";") if s] or None
            authorship.source_countries = [s for s in country.split(";") if s] or None


def _merge_presentation_duplicates(
    unit: Unit, papers: list[Paper], rank: Callable[[str | None], int], report: Report
) -> list[Paper]:
    """Fold event-listing copies of a paper into the paper.

    Some years (NeurIPS 2017) list a paper twice: from the proceedings, and again from
    its oral or spotlight session with bare names and often a shorter talk title. A copy
    is folded when its ordered author list matches another record's (first initial and
    last name per author), it carries no affiliations, both records are accepted and
    their labels differ; the paper keeps the higher label. Two posters by the same
    authors, or two records that both carry affiliations, are different papers. In a
    list without affiliations (most records bare) nothing marks a copy: nothing is folded.
    """
    with_affiliations = sum(1 for p in papers if any(a.affiliation for a in p.authors))
    if with_affiliations * 2 < len(papers):
        return papers
    groups: dict[tuple[str, ...], list[Paper]] = defaultdict(list)
    for paper in papers:
        if paper.authors:
            groups[tuple(name_key(a.name) for a in paper.authors)].append(paper)
    folded: set[int] = set()
    for group in groups.values():
        if len(group) < 2:
            continue
        # fold into records with affiliations first, then later copies into earlier records
        targets = sorted(group, key=lambda p: not any(a.affiliation for a in p.authors))
        for copy in reversed(group):
            if any(a.affiliation for a in copy.authors) or id(copy) in folded:
                continue
            target = next((t for t in targets if t is not copy and id(t) not in folded
                           and t.status != copy.status and rank(t.status) > 0 and rank(copy.status) > 0), None)
            if target is None:
                continue
            folded.add(id(copy))
            detail = (f"{copy.status} record {copy.paper_id} ({copy.title!r}) folded into "
                      f"{target.status} record {target.paper_id} ({target.title!r})")
            if rank(copy.status) > rank(target.status):
                target.status = copy.status
            report(Skip(unit.label, "merge", "duplicate record of the same paper", detail,
                        unit.venue.key, unit.year, copy.record))
    return [p for p in papers if id(p) not in folded]
