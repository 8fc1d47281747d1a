"""`build`: read a source, decide accepted/tier per paper, write the database atomically."""

from __future__ import annotations

import ctypes
import functools
import gc
import itertools
import json
import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from pathlib import Path

import pyarrow as pa

from talent_tracker import __version__, limits
from talent_tracker.annotations.overrides import import_overrides
from talent_tracker.build.settings import BuildSettings
from talent_tracker.careers import derive, predictions
from talent_tracker.careers.profiles import facts as profile_facts  # saved profiles, and what `profiles fetch` kept
from talent_tracker.careers.profiles import folder_for, openreview
from talent_tracker.errors import UserError
from talent_tracker.institutions import ResolutionSettings, Resolver, load_resolver
from talent_tracker.institutions.registry import universities_in
from talent_tracker.people import clusters, linkage
from talent_tracker.records import Paper, Skip, UnalignedEntry
from talent_tracker.sources import accepted_pages, author_files, conference_csv, listings, paperlists, schedule
from talent_tracker.sources.published import FILE, read_published
from talent_tracker.store import database
from talent_tracker.store import workspace as workspaces
from talent_tracker.store.schema import LATER_COLUMNS, RESOLUTION_COLUMNS, SCHEMAS
from talent_tracker.venues import TIER_TOP2, TIER_TOP20, Decision, Venue, Venues, decide, load_venues
from talent_tracker.years import parse_years

SOURCES = ("paperlists", "conference-csv")
# skips that mean data was dropped or not counted: `--strict` fails on them
STRICT_SCOPES = frozenset({"file", "record", "label"})


@dataclass
class BuildResult:
    db: Path
    papers: int
    accepted: int
    authorships: int
    skips: list[Skip]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    agreement: list[dict] = field(default_factory=list)  # affiliation_agreement rows

    def skipped(self, scopes: frozenset[str] = STRICT_SCOPES) -> int:
        return sum(s.count for s in self.skips if s.scope in scopes)


class Progress:
    """What a build reports while it runs (the CLI draws bars; tests pass nothing)."""

    def start(self, total: int, what: str) -> None: ...
    def advance(self, label: str) -> None: ...
    def skip(self, skip: Skip) -> None: ...


@contextmanager
def _collector_paused():
    # a build holds ~250k small objects at once: the cyclic collector would rescan
    # them again and again for nothing (nothing here makes reference cycles)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build(
    data: Path,
    db: Path,
    *,
    source: str = "paperlists",
    venue_names: list[str] | None = None,
    years: str | None = None,
    venues_file: Path | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    universities: Path | None = None,
    people_overrides: Path | None = None,
    profiles: Path | None = None,
    people_backend: str = "duckdb",
    people_model: Path | None = None,
    resolution: Path | None = None,
) -> BuildResult:
    db = Path(db)
    settings = BuildSettings(Path(data), source, tuple(venue_names or ()), years, venues_file, strict, universities,
                             people_overrides, profiles, people_backend, people_model, resolution)
    with database.build_lock(db) as lock_note, _collector_paused():
        database.check_replaceable(db)
        result = _build(settings, db, progress or Progress())
    if lock_note:
        result.warnings.insert(0, lock_note)
    return result


def _build(settings: BuildSettings, db: Path, progress: Progress) -> BuildResult:
    data, source, years = settings.data, settings.source, settings.years
    started = time.perf_counter()
    if source not in SOURCES:
        raise UserError(f"unknown source {source!r} (choose {' or '.join(SOURCES)})")
    venues = load_venues(settings.venues_file)
    if settings.people_backend not in linkage.BACKENDS:
        raise UserError(f"unknown people backend {settings.people_backend!r} (choose {' or '.join(linkage.BACKENDS)})")
    model = linkage.Model.load(settings.people_model)
    matching = ResolutionSettings.load(settings.resolution)  # a bad settings file stops the build before any work
    wanted = [venues.get(name) for name in settings.venue_names] if settings.venue_names else None
    year_list = parse_years(years) if years else None
    # the workspace is made (or taken over from an earlier version's database) before
    # anything is replaced; overrides given as a file join those kept there
    workspace = workspaces.open_workspace(db)
    if settings.people_overrides is not None:
        import_overrides(workspace, clusters.load_overrides(settings.people_overrides), str(settings.people_overrides))
    overrides = clusters.workspace_overrides(workspace)
    workspace.close()  # no open workspace connection may cross into the forked workers
    profile_records, profile_problems = openreview.read_profiles(settings.profiles) if settings.profiles else ([], [])
    universities = settings.universities
    if universities is None:
        universities = universities_in(data)  # the data folder as a whole holds the list
    resolver, resolver_warning = load_resolver(universities, matching)
    resolver.warm()  # build the place tables once, before the workers fork

    skips: list[Skip] = []

    def report(skip: Skip) -> None:
        skips.append(skip)
        progress.skip(skip)

    parts = _read_source(data, source, venues, wanted, year_list, report, progress, resolver, linkage.warm)
    papers = pa.concat_tables([p.papers for p in parts]) if parts else None
    if papers is None or papers.num_rows == 0:
        which = ", ".join(v.key for v in wanted) if wanted else "any venue"
        when = f" in {years}" if years else ""
        raise UserError(f"{data}: no papers found for {which}{when} (source {source}); nothing was written")
    found = {vy for part in parts for vy in part.venue_years}
    warnings = _missing_years({(f.venue, f.year) for f in found}, wanted, year_list, venues)
    if resolver_warning:
        warnings.append(resolver_warning)
    if settings.strict and any(s.scope in STRICT_SCOPES for s in skips):
        first = next(s for s in skips if s.scope in STRICT_SCOPES)
        total = sum(s.count for s in skips if s.scope in STRICT_SCOPES)
        raise UserError(f"--strict: {total} skipped ({first.source_file}: {first.reason}"
                        f"{': ' + first.detail if first.detail else ''}; and others); database left unchanged")

    recorded = settings.recorded([v.key for v in wanted or []], universities, model.threshold,
                                 resolver.settings.recorded())
    progress.start(1, "resolving people")
    authorships = pa.concat_tables([p.authorships for p in parts])
    # one helper beside the main process: it makes what the features take from the names
    # (linkage.name_features) while the main process gathers the mentions and reads the
    # titles, then what linking takes from the mentions alone (fixed_links), then reads what
    # the careers need while people are resolved, and derives them while the other tables
    # are written
    held: dict = {}  # what the helper's steps leave for its later steps
    with _beside(functools.partial(_name_features, held, authorships),
                 functools.partial(_fixed_links, held, overrides),
                 functools.partial(_careers_ahead, held, authorships, resolver),
                 functools.partial(_careers, held, parts, profile_records, resolver, db)) as ask:
        named, fixed, _ = ask(0), ask(1), ask(2)
        authorships = _fill_from_profile_year(authorships)
        papers = _with_filled_countries(papers, authorships)
        mentions = clusters.mentions_of(authorships, papers)
        gc.collect()  # while the helper works on the names (see careers() below)
        person_ids = clusters.resolve_people(mentions, overrides, model, settings.people_backend, named.result,
                                             fixed.result)
        derived = ask(3, person_ids)
        authorships = authorships.append_column(SCHEMAS["authorships"].field("person_id"),
                                                pa.array(person_ids, pa.string()))
        progress.advance("people")
        warnings += [f"profile skipped: {problem}" for problem in profile_problems]
        agreement = [row for part in parts for row in part.agreement]
        progress.start(1, "writing database")
        # the writing's DuckDB leaves the careers a core (with every core it slowed them by a third)
        threads = max(1, limits.cores() - 1)

        def careers() -> pa.Table:
            # the other tables are written; while the careers are still being derived, the
            # collector does the work its pause put off since the mentions were gathered
            # (at the end of the build nothing would overlap it)
            gc.collect(1)
            return derived.result().careers

        tables = {
            "papers": papers,
            "authorships": authorships,
            "skips": _table("skips", [s.__dict__ for s in skips]),
            "unaligned_entries": pa.concat_tables([p.unaligned for p in parts]),
            "profile_links": _profile_links(parts),
            "affiliation_agreement": _table("affiliation_agreement", agreement),
            "venue_years": _venue_years_table(found, venues, source),
            "institutions": _institutions_table(resolver, authorships),
            "persons": database.Query(clusters.PERSONS_SQL),  # from the authorships just written
            "published_figures": _table("published_figures", _published(data)),
            "inputs": _table("inputs", [p.input for p in parts]),
            "build_info": _table("build_info", [
                {"key": "tool_version", "value": __version__},
                {"key": "built_at", "value": datetime.now(UTC).isoformat(timespec="seconds")},
                {"key": "settings", "value": json.dumps(recorded, sort_keys=True)},
            ]),
            "careers": careers,  # last: their work has had the longest
            "predictions": lambda: derived.result().predictions,
        }
        database.write_database(db, tables, threads=threads)
    warnings += derived.result().warnings
    progress.advance(str(db))
    accepted = sum(p.accepted for p in parts)
    return BuildResult(Path(db), papers.num_rows, accepted, authorships.num_rows, skips, warnings,
                       time.perf_counter() - started, agreement)


def _name_features(held: dict, authorships: pa.Table) -> linkage.Named:
    # made from the authorships before the profile-year fill: it changes affiliations only,
    # never the names, ids, e-mails and papers read here and in _fixed_links
    held["mentions"] = clusters.mentions_of(authorships)
    return linkage.name_features(held["mentions"])


def _fixed_links(held: dict, overrides) -> clusters.Fixed:
    return clusters.fixed_links(held.pop("mentions"), overrides)


@dataclass(frozen=True)
class _Careers:
    careers: pa.Table
    predictions: pa.Table
    warnings: list[str]


def _careers_ahead(held: dict, authorships: pa.Table, resolver: Resolver) -> None:
    """What the careers read that does not depend on who is who (derive.ahead), made while
    people are resolved, from the authorships as the main process fills them (the fill is
    deterministic)."""
    held["columns"] = derive.ahead(_fill_from_profile_year(authorships), resolver)


def _careers(held: dict, parts: list, profile_records: list, resolver: Resolver, db: Path,
             person_ids: list[str]) -> _Careers:
    """The career facts of every person (from the papers, saved profiles and fetched
    records) and the predictions made from them."""
    warnings: list[str] = []
    columns = held.pop("columns")
    columns["person_id"] = person_ids
    facts = derive.facts_from_authorships(columns) + derive.trail_facts(columns, resolver)
    folder = folder_for(db)
    if profile_records or folder.is_dir():  # only these need the people by OpenReview id
        by_profile = {p: person for p, person in zip(columns["openreview_id"], person_ids) if p}
        facts += profile_facts.facts_from_profiles(profile_records, by_profile, resolver)
        if folder.is_dir():
            orcids = [(row["openreview_id"], row["url"]) for part in parts for row in part.links
                      if row["kind"] == "orcid"]
            fetched, fetched_problems = profile_facts.load_facts(folder, by_profile, resolver, orcids)
            facts += fetched
            warnings += [f"fetched profiles: {problem}" for problem in fetched_problems]
    return _Careers(_table("careers", facts), predictions.predict(columns, facts), warnings)


@dataclass(frozen=True)
class _VenueYear:
    venue: str
    year: int
    labelled: bool  # the source carries decision labels (conference-csv does not)


@dataclass
class _Part:
    """One file read, decided and turned into table rows: the unit of parallel work."""

    papers: pa.Table
    authorships: pa.Table
    unaligned: pa.Table
    links: list[dict]  # profile links of its authors: profile_links rows
    agreement: list[dict]  # affiliation_agreement rows
    skips: list[Skip]
    input: dict
    venue_years: set[_VenueYear]
    accepted: int


def _read_source(data: Path, source, venues: Venues, wanted, years, report, progress, resolver,
                 while_waiting: Callable[[], None] = lambda: None) -> list[_Part]:
    if source == "conference-csv":
        path = conference_csv.locate(data)
        progress.start(1, "reading conference-csv")
        skips: list[Skip] = []
        papers = conference_csv.read(path, venues, wanted, years, skips.append)
        part = _part(papers, [], skips, venues, _input_row(source, path, path.name, None, None, len(papers)), resolver)
        for skip in part.skips:
            report(skip)
        progress.advance(path.name)
        return [part]
    root = data / "paperlists" if not _has_venue_folders(data, venues) and (data / "paperlists").is_dir() else data
    units = paperlists.discover(root, venues, wanted, years, report)
    enrich = _listings(data, {(u.venue.key, u.year) for u in units}, report) if root != data else {}
    progress.start(len(units), "reading paper lists")
    parts: list[_Part] = []
    work = functools.partial(_read_unit, venues=venues, resolver=resolver, enrich=enrich)
    for part in _map_units(work, units, while_waiting):
        for skip in part.skips:
            report(skip)
        progress.advance(part.input["source_file"])
        parts.append(part)
    return parts


def _listings(data: Path, wanted: set[tuple[str, int]], report) -> dict:
    """What other sources in the data folder give the venue-years being built, in the order
    they apply (each only fills what the paper list and the sources before it left empty):
    the NeurIPS 2022 schedule and the official NeurIPS 2019 and 2020 accepted-papers pages
    (affiliations), then the author files (OpenReview ids, affiliations, e-mail domains, job
    titles). venue-year -> [merge(papers, report)]."""
    found: dict[tuple[str, int], list] = defaultdict(list)
    path = schedule.locate(data)
    if path is not None and schedule.VENUE_YEAR in wanted:
        label = f"{schedule.FOLDER}/{path.name}"
        entries = schedule.read(path, report, label)
        found[schedule.VENUE_YEAR].append(functools.partial(listings.merge, posters=entries, label=label,
                                                            listing=schedule.LISTING))
    for venue_year, path in accepted_pages.locate(data).items():
        if venue_year in wanted:
            label = f"{accepted_pages.FOLDER}/{path.name}"
            entries = accepted_pages.read(path, venue_year, report, label)
            found[venue_year].append(functools.partial(listings.merge, posters=entries, label=label,
                                                       listing=accepted_pages.LISTINGS[venue_year]))
    for venue_year in sorted(wanted):
        path = author_files.locate(data, *venue_year)
        if path is not None:
            label = f"{author_files.FOLDER}/{path.parent.name}/{path.name}"
            submissions = author_files.read(path, venue_year, report, label)
            found[venue_year].append(functools.partial(author_files.merge, submissions=submissions, label=label,
                                                       venue_year=venue_year))
    return dict(found)


_JOBS: dict[int, Callable] = {}  # each pool's work, for its forked workers: inherited, never pickled
_JOB_KEYS = itertools.count()


def _run_job(key: int, *args):
    return _JOBS[key](*args)


@contextmanager
def _job(work: Callable) -> Iterator[int]:
    """`work` kept where workers forked from now on find it (`_run_job(key, ...)`)."""
    key = next(_JOB_KEYS)
    _JOBS[key] = work
    try:
        yield key
    finally:
        del _JOBS[key]


def _die_with_parent(parent: int) -> None:
    """A worker ends when its build does, however the build ends (kill -9, the OOM
    killer): the kernel sends it SIGKILL (Linux's parent-death signal), or, where there is
    none, a thread of its own watches for the parent to go."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    except (OSError, AttributeError):
        armed = False
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _map_units(work, units: list, while_waiting: Callable[[], None] = lambda: None) -> Iterator[_Part]:
    """`work` over the units, in forked workers (one per core, at most one per unit) whenever
    there are two cores, even for one unit: `while_waiting` (loading what people resolution
    needs) runs meanwhile, so a small build's fixed cost overlaps its reading. In order.
    On one core `while_waiting` runs first, then the units one after the other.

    Workers are forked, so they inherit `work` (the venue mapping, the resolver and its
    indexes) instead of receiving a pickled copy; only the results travel back.
    """
    workers = min(limits.cores(), len(units))  # no fixed cap: each worker is a fork (~180 MiB at most here)
    if limits.cores() < 2 or not units or not _can_fork():
        while_waiting()
        yield from map(work, units)
        return
    # biggest files first so the cores finish together; results come back in unit order
    order = sorted(range(len(units)), key=lambda i: -units[i].path.stat().st_size)
    with _handover() as folder, _job(lambda i: _left_in(folder, i, work(units[i]))) as key, \
            _forked_pool(workers) as pool:
        futures = {i: pool.submit(_run_job, key, i) for i in order}  # every worker is forked by now
        while_waiting()
        for i in range(len(units)):
            yield _taken(futures[i].result())


@contextmanager
def _beside(*steps: Callable) -> Iterator[Callable[..., Future | _Handed]]:
    """A worker beside the caller that runs `steps` as it is asked, one after another:
    `ask(i, *args)` gives the future of `steps[i](*args)`. In a forked process when there is
    a core to spare (in a thread its Python would contend for the GIL with the caller's
    work), else in a thread. The process is forked at the first ask, and inherits what the
    steps read; later arguments are pickled, and results come back in files (_left_in).
    Steps can leave things for later steps in an object they were all given: a process
    keeps its own copy."""
    if limits.cores() < 2 or not _can_fork():
        with ThreadPoolExecutor(1) as pool:
            yield lambda i, *args: pool.submit(steps[i], *args)
        return
    with _handover() as folder, _job(lambda i, *args: _left_in(folder, i, steps[i](*args))) as key, \
            _forked_pool(1) as pool:
        yield lambda i, *args: _Handed(pool.submit(_run_job, key, i, *args))


@contextmanager
def _handover() -> Iterator[str | None]:
    """A temporary folder for the workers' results (_left_in); None where none can be made."""
    try:
        folder = tempfile.TemporaryDirectory(prefix="talent-tracker-")
    except OSError:
        yield None
        return
    with folder as name:
        yield name


def _left_in(folder: str | None, name: int, result) -> tuple[Path | None, object]:
    """A worker's result, left in a file for the build to read (_taken): through the pool's
    pipe, 64 KiB at a time, the careers took ~0.1 s to arrive, and a reader blocked while
    the build's main thread held the interpreter. (None, result) when there is no folder or
    the file cannot be written: then the pipe."""
    if folder is None:
        return None, result
    path = Path(folder) / f"{name}.pickle"
    try:
        with open(path, "wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        path.unlink(missing_ok=True)
        return None, result
    return path, None


def _taken(left: tuple[Path | None, object]):
    path, result = left
    if path is not None:
        with open(path, "rb") as handle:
            result = pickle.load(handle)
        path.unlink()
    return result


class _Handed:
    """A step's result, read when first asked for (see _left_in)."""

    def __init__(self, future: Future):
        self.future = future
        self.value: list = []

    def result(self):
        if not self.value:
            self.value.append(_taken(self.future.result()))
        return self.value[0]


def _can_fork() -> bool:
    return multiprocessing.get_start_method(allow_none=True) in (None, "fork")


def _forked_pool(workers: int) -> ProcessPoolExecutor:
    """Forked workers (they inherit _JOBS) that end when the build does."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_die_with_parent, initargs=(os.getpid(),))


def _read_unit(unit: paperlists.Unit, venues: Venues, resolver: Resolver, enrich: dict | None = None) -> _Part:
    with _collector_paused():
        skips: list[Skip] = []
        unaligned: list[UnalignedEntry] = []
        papers = paperlists.read(unit, skips.append, unaligned.append, _ranker(unit.venue, unit.year))
        for merge in (enrich or {}).get((unit.venue.key, unit.year), ()):
            merge(papers, report=skips.append)
        row = _input_row(SOURCES[0], unit.path, unit.label, unit.venue.key, unit.year, len(papers))
        return _part(papers, unaligned, skips, venues, row, resolver)


def _part(papers: list[Paper], unaligned: list[UnalignedEntry], skips: list[Skip], venues: Venues, row,
          resolver: Resolver) -> _Part:
    decisions = _decide_all(papers, venues, skips.append)
    authorships = _with_institutions(_authorships_table(papers, decisions), resolver)
    return _Part(
        papers=_papers_table(papers, decisions, _paper_countries(papers, authorships, unaligned, resolver)),
        authorships=authorships,
        unaligned=_table("unaligned_entries", [u.__dict__ for u in unaligned]),
        links=[{"openreview_id": a.openreview_id, "kind": kind, "url": url, "year": p.year}
               for p in papers for a in p.authors if a.openreview_id for kind, url in a.links],
        agreement=_agreement(papers, authorships, resolver),
        skips=skips,
        input=row,
        venue_years={_VenueYear(p.venue, p.year, not p.listed_as_accepted) for p in papers},
        accepted=sum(1 for d in decisions if d.accepted),
    )


def _published(data: Path) -> list[dict]:
    """The published tracker's figures, when the data folder as a whole holds them."""
    path = data / FILE
    return read_published(path) if path.is_file() else []


def _has_venue_folders(data: Path, venues: Venues) -> bool:
    return data.is_dir() and any((data / v.folder).is_dir() for v in venues)


def _input_row(source, path: Path, label, venue, year, records) -> dict:
    size = path.stat().st_size if limits.regular_file_problem(path) is None else None
    # a file too large to have been read is not worth reading again to hash it
    digest = paperlists.sha256_of(path) if size is not None and size <= limits.MAX_SOURCE_BYTES else None
    return {"source": source, "source_file": label, "venue": venue, "year": year, "bytes": size,
            "sha256": digest, "records": records}


def _ranker(venue: Venue, year: int) -> Callable[[str | None], int]:
    rule = venue.rule(year)

    def rank(status: str | None) -> int:
        decision = decide(rule, status, None)
        return 0 if not decision.accepted else (2 if decision.tier == TIER_TOP2 else 1)

    return rank


def _decide_all(papers: list[Paper], venues: Venues, report) -> list[Decision]:
    rule = lru_cache(maxsize=None)(lambda key, year: venues.by_key[key].rule(year))
    cached = lru_cache(maxsize=None)(lambda key, year, status, track: decide(rule(key, year), status, track))
    rules = _rules(papers, venues)
    excluded = {(key, year): r.exclude_titles for (key, year), r in rules.items()}
    _tracks_from_poster_ids(papers, rules, report)
    decisions = []
    for paper in papers:
        if paper.listed_as_accepted and paper.status is None:
            decision = Decision(True, TIER_TOP20)
        elif excluded[(paper.venue, paper.year)]:
            decision = decide(rule(paper.venue, paper.year), paper.status, paper.track, paper.title)
        else:
            decision = cached(paper.venue, paper.year, paper.status, paper.track)
        if decision.problem:
            scope = "excluded" if decision.excluded else "label"
            report(Skip(paper.source_file, scope, decision.problem, f"paper {paper.paper_id}: {paper.title!r}",
                        paper.venue, paper.year, paper.record))
        decisions.append(decision)
    return decisions


def _tracks_from_poster_ids(papers: list[Paper], rules: dict, report) -> None:
    """Correct the track of papers whose poster id the venue mapping places on another track."""
    moved: dict[tuple, list[Paper]] = {}
    for paper in papers:
        track = rules[(paper.venue, paper.year)].track_of(paper.url)
        if track is not None and track != (paper.track or "main"):
            moved.setdefault((paper.source_file, paper.venue, paper.year, paper.track or "main", track), []).append(paper)
            paper.track = track
    for (source_file, venue, year, before, after), group in moved.items():
        report(Skip(source_file, "field", f"track {before!r} read as {after!r} from the poster id (venues.toml)",
                    f"{len(group)} papers, e.g. {group[0].paper_id}: {group[0].title[:80]!r}", venue, year,
                    count=len(group)))


def _rules(papers: list[Paper], venues: Venues) -> dict:
    return {(k, y): venues.by_key[k].rule(y) for k, y in {(p.venue, p.year) for p in papers}}


def _missing_years(found: set[tuple[str, int]], wanted, years, venues: Venues) -> list[str]:
    """Requested venue-years for which the source had no papers."""
    if years is None:
        return []
    keys = [v.key for v in (wanted or venues)]
    missing = [f"{k} {y}" for k in keys for y in years if (k, y) not in found]
    return [f"no papers for {', '.join(missing)}"] if missing else []


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _paper_columns(papers: list[Paper], decisions: list[Decision]) -> dict[str, list]:
    return {
        "venue": [p.venue for p in papers], "year": [p.year for p in papers],
        "paper_id": [p.paper_id for p in papers], "title": [p.title for p in papers],
        "track": [p.track for p in papers], "status": [p.status for p in papers],
        "accepted": [d.accepted for d in decisions], "tier": [d.tier for d in decisions],
        "n_authors": [len(p.authors) for p in papers], "url": [p.url for p in papers],
        "source": [p.source for p in papers], "source_file": [p.source_file for p in papers],
        "source_record": [p.record for p in papers],
    }


def _papers_table(papers: list[Paper], decisions: list[Decision], countries: list[list[str] | None]) -> pa.Table:
    return pa.Table.from_pydict({**_paper_columns(papers, decisions), "countries": countries},
                                schema=SCHEMAS["papers"])


def _paper_countries(papers: list[Paper], authorships: pa.Table, unaligned: list[UnalignedEntry],
                     resolver: Resolver) -> list[list[str] | None]:
    """Per paper, the countries of its authors' affiliations, including the entries of
    per-author lists that could not be placed on an author (affiliations and e-mail domains)."""
    found: dict[tuple, set[str]] = {}
    keys = zip(authorships.column("venue").to_pylist(), authorships.column("year").to_pylist(),
               authorships.column("paper_id").to_pylist())
    for key, country in zip(keys, authorships.column("country").to_pylist()):
        if country:
            found.setdefault(key, set()).add(country)
    for entry in unaligned:
        if entry.field in ("aff", "aff_domain"):
            text, domain = (entry.value, None) if entry.field == "aff" else (None, entry.value.strip().lower())
            country = resolver.resolve(text, domain).country
            if country:
                found.setdefault((entry.venue, entry.year, entry.paper_id), set()).add(country)
    return [sorted(found[key]) if key in found else None for key in ((p.venue, p.year, p.paper_id) for p in papers)]


def _with_institutions(authorships: pa.Table, resolver: Resolver) -> pa.Table:
    """Append the resolved institution, country and sector of every authorship."""
    schema = SCHEMAS["authorships"]
    texts = authorships.column("affiliation").to_pylist()
    domains = authorships.column("email_domain").to_pylist()
    distinct: dict[tuple, object] = {(None, None): None}
    for pair in zip(texts, domains):
        if pair not in distinct:
            distinct[pair] = resolver.resolve(*pair)
    found = [distinct[pair] for pair in zip(texts, domains)]
    columns = {
        "institution_id": [r.institution_id if r else None for r in found],
        "institution": [r.institution if r else None for r in found],
        "country": [r.country if r else None for r in found],
        "sector": [r.sector if r else None for r in found],
        "resolution_method": [r.method if r else None for r in found],
        "resolution_confidence": [r.confidence if r else None for r in found],
        "other_institution_ids": [list(r.other_institution_ids) or None if r else None for r in found],
    }
    for name in RESOLUTION_COLUMNS:
        authorships = authorships.append_column(schema.field(name), pa.array(columns[name], schema.field(name).type))
    return authorships


PROFILE_YEAR = "profile_year"
_FILLED = ("affiliation", *RESOLUTION_COLUMNS)


def _fill_from_profile_year(authorships: pa.Table) -> pa.Table:
    """An author whose affiliation entry could not be placed on a paper takes the one their
    OpenReview profile has on their other papers of that year, when those all name the same
    institution (else it would be a guess); such authorships get affiliation_source
    `profile_year`."""
    ids = authorships.column("openreview_id").to_pylist()
    if not any(ids):
        return authorships
    years = authorships.column("year").to_pylist()
    columns = {name: authorships.column(name).to_pylist() for name in (*_FILLED, "affiliation_source")}
    seen: dict[tuple, dict] = {}
    for i, profile in enumerate(ids):
        if profile and columns["affiliation"][i]:
            found = seen.setdefault((profile, years[i]), {"places": set(), "rows": []})
            found["places"].add(columns["institution_id"][i] or columns["affiliation"][i])
            found["rows"].append(i)
    filled = 0
    for i, profile in enumerate(ids):
        found = seen.get((profile, years[i])) if profile and not columns["affiliation"][i] else None
        if found is None or len(found["places"]) != 1:
            continue
        texts = [columns["affiliation"][j] for j in found["rows"]]
        # the most frequent text; a tie goes to the first in row order (a set's order
        # changes with the process's string hashing, and so would the build)
        source = found["rows"][texts.index(Counter(texts).most_common(1)[0][0])]
        for name in _FILLED:
            columns[name][i] = columns[name][source]
        columns["affiliation_source"][i] = PROFILE_YEAR
        filled += 1
    if not filled:
        return authorships
    for name, values in columns.items():
        index = authorships.schema.get_field_index(name)
        authorships = authorships.set_column(index, authorships.schema.field(index),
                                             pa.array(values, authorships.schema.field(index).type))
    return authorships


def _agreement(papers: list[Paper], authorships: pa.Table, resolver: Resolver) -> list[dict]:
    """Where a later source gave an author another affiliation (Authorship.second_affiliation),
    how often the two resolve to the same institution and the same country, per venue-year
    and pair of sources: (source used, source compared)."""
    institutions = authorships.column("institution_id").to_pylist()
    countries = authorships.column("country").to_pylist()
    found: dict[tuple, Counter] = {}
    row = -1
    for paper in papers:
        for author in paper.authors:  # the authorships table's rows are the authors in this order
            row += 1
            if author.second_affiliation is None:
                continue
            other = resolver.resolve(*author.second_affiliation)
            tally = found.setdefault((paper.venue, paper.year, author.affiliation_source, author_files.SOURCE),
                                     Counter())
            tally["pairs"] += 1
            if institutions[row] and other.institution_id:
                tally["institution_pairs"] += 1
                tally["same_institution"] += institutions[row] == other.institution_id
            if countries[row] and other.country:
                tally["country_pairs"] += 1
                tally["same_country"] += countries[row] == other.country
    return [{"venue": venue, "year": year, "source_used": used, "source_compared": compared,
             **{k: tally[k] for k in ("pairs", "institution_pairs", "same_institution", "country_pairs",
                                      "same_country")}}
            for (venue, year, used, compared), tally in sorted(found.items())]


def _profile_links(parts: list[_Part]) -> pa.Table:
    """Each profile's distinct links, with the last year a paper gave them."""
    last: dict[tuple, int] = {}
    for part in parts:
        for row in part.links:
            key = (row["openreview_id"], row["kind"], row["url"])
            last[key] = max(last.get(key, row["year"]), row["year"])
    return _table("profile_links", [{"openreview_id": o, "kind": k, "url": u, "last_year": y}
                                    for (o, k, u), y in sorted(last.items())])


def _with_filled_countries(papers: pa.Table, authorships: pa.Table) -> pa.Table:
    """Add to each paper's countries those its authors took from their profile's other
    papers that year (`_fill_from_profile_year` runs over every part, after the papers'
    countries were first computed)."""
    filled: dict[tuple, set[str]] = {}
    rows = zip(authorships.column("venue").to_pylist(), authorships.column("year").to_pylist(),
               authorships.column("paper_id").to_pylist(), authorships.column("affiliation_source").to_pylist(),
               authorships.column("country").to_pylist())
    for venue, year, paper_id, source, country in rows:
        if source == PROFILE_YEAR and country:
            filled.setdefault((venue, year, paper_id), set()).add(country)
    if not filled:
        return papers
    keys = zip(papers.column("venue").to_pylist(), papers.column("year").to_pylist(),
               papers.column("paper_id").to_pylist())
    countries = [sorted(set(known or ()) | filled[key]) if key in filled else known
                 for key, known in zip(keys, papers.column("countries").to_pylist())]
    index = papers.schema.get_field_index("countries")
    return papers.set_column(index, papers.schema.field(index), pa.array(countries, papers.schema.field(index).type))


def _institutions_table(resolver: Resolver, authorships: pa.Table) -> pa.Table:
    """Every registry institution, and every listed university some authorship resolved to."""
    used = set(authorships.column("institution_id").drop_null().unique().to_pylist())
    for others in authorships.column("other_institution_ids").drop_null().to_pylist():
        used.update(others)
    rows = [{"institution_id": i.institution_id, "name": i.name, "country": i.country, "sector": i.sector,
             "parent": i.parent, "multinational": i.multinational, "aliases": list(i.aliases),
             "domains": list(i.domains), "layer": i.layer, "hq_country": _headquarters(resolver, i).country}
            for i in resolver.by_id.values() if i.layer == "registry" or i.institution_id in used]
    return _table("institutions", rows)


def _headquarters(resolver: Resolver, institution):
    """The topmost parent of an institution (itself when it has none)."""
    seen = {institution.institution_id}
    while institution.parent and institution.parent in resolver.by_id and institution.parent not in seen:
        institution = resolver.by_id[institution.parent]
        seen.add(institution.institution_id)
    return institution


def _authorships_table(papers: list[Paper], decisions: list[Decision]) -> pa.Table:
    schema = pa.schema([f for f in SCHEMAS["authorships"] if f.name not in LATER_COLUMNS])
    paper_columns = _paper_columns(papers, decisions)
    # paper-level columns are repeated per author by index, not rebuilt in Python
    owner = pa.array([i for i, p in enumerate(papers) for _ in p.authors], pa.int32())
    flat = [a for p in papers for a in p.authors]
    arrays = {}
    for name in schema.names:
        kind = schema.field(name).type
        if name in paper_columns:
            arrays[name] = pa.array(paper_columns[name], kind).take(owner)
        else:
            attr = {"author_position": "position", "author_name": "name"}.get(name, name)
            arrays[name] = pa.array(list(map(attrgetter(attr), flat)), kind)
    return pa.Table.from_pydict(arrays, schema=schema)


def _venue_years_table(found: set[_VenueYear], venues: Venues, source: str) -> pa.Table:
    rows = []
    labelled = {(f.venue, f.year) for f in found if f.labelled}
    for key, year in sorted({(f.venue, f.year) for f in found}):
        venue = venues.by_key[key]
        rule = venue.rule(year)
        has_labels = (key, year) in labelled
        notes = list(rule.notes) if has_labels else [
            "This source lists accepted papers without decision labels: all are top20; top2 is unavailable."]
        rows.append({
            "venue": key, "year": year, "venue_name": venue.name, "source": source,
            "accepted_statuses": list(rule.labels["accepted"]) if has_labels else [],
            "oral_statuses": list(rule.labels["oral"]) if has_labels else [],
            "tracks": list(rule.labels["tracks"]), "oral_known": rule.oral_known and has_labels,
            "notes": "\n".join(notes),
        })
    return _table("venue_years", rows)


def skip_summary(skips: list[Skip]) -> Counter:
    counts: Counter = Counter()
    for skip in skips:
        counts[(skip.scope, skip.reason)] += skip.count
    return counts
