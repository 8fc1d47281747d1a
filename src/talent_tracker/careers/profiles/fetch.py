"""`profiles fetch`: OpenReview profiles of a build's people, then ORCID and OpenAlex for the
ORCID iDs those profiles give and those the build's author files give (`profile_links`);
downloads cached and records written to `NAME.profiles/`.

Resumable by construction: every answer is cached on arrival (`http.CachedClient`) and
the requests are the same from run to run (ids sorted, fixed batches), so a rerun asks
only for what is missing and parses the rest from the cache. The records files are
rewritten at the end of each source's stage from everything held, so they always
describe the whole of the last run (a `--limit` trial writes only its people).

Every cost is bounded (see `http`): a request has a deadline, the run caps its retries and
its waits as Retry-After says, an OpenAlex cursor walk stops at `openalex.MAX_PAGES`, and
`max_seconds` is a time budget after which nothing more is sent: the ids not reached are
counted (`out_of_time`), what is cached is still read, and a rerun resumes.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from talent_tracker.careers.profiles import folder_for, openalex, openreview, orcid
from talent_tracker.careers.profiles.http import (
    MAX_RETRIES,
    MAX_RETRY_WAIT,
    REQUEST_DEADLINE,
    RETRY_STATUSES,
    CachedClient,
    CacheMiss,
    HttpFailure,
    OutOfTime,
)
from talent_tracker.careers.profiles.records import SOURCES, Parsed, read_records, write_records
from talent_tracker.errors import UserError
from talent_tracker.links import orcid_id
from talent_tracker.store.reading import Tracker

# the minimum seconds between two requests to a host: OpenReview limits guests per
# minute, ORCID allows 12 per second and anonymous OpenAlex 10 per second
INTERVALS = {"api2.openreview.net": 2.0, "pub.orcid.org": 0.1, "api.openalex.org": 0.15}
HTTP_DIR = "http"


@dataclass
class Tally:
    """What happened to the ids of one source (OpenReview ids, or ORCID iDs)."""

    source: str
    requested: int = 0
    fetched: int = 0  # answered over the network
    cached: int = 0  # answered from the cache
    not_found: int = 0
    failed: int = 0
    missing: int = 0  # offline and not in the cache
    out_of_time: int = 0  # not asked: the run's time budget was spent
    records: int = 0
    skipped: Counter = field(default_factory=Counter)  # malformed or unusable entries, by reason
    errors: list[str] = field(default_factory=list)  # the distinct reasons of failures

    def fail(self, count: int, reason: str) -> None:
        self.failed += count
        self.warn(reason)

    def warn(self, reason: str) -> None:
        if reason not in self.errors and len(self.errors) < 5:
            self.errors.append(reason)

    def answered(self, count: int, from_cache: bool) -> None:
        if from_cache:
            self.cached += count
        else:
            self.fetched += count


@dataclass
class Summary:
    folder: Path
    people: int
    tallies: dict[str, Tally]
    sent: int = 0  # HTTP requests made (retries included)
    hits: int = 0  # answers served from the cache
    stopped: list[str] = field(default_factory=list)  # the run's bounds that were reached, and what to do

    @property
    def incomplete(self) -> bool:
        return any(t.failed or t.missing or t.out_of_time for t in self.tallies.values())


class Progress:
    """What a fetch reports while it runs (the CLI draws bars; tests pass nothing)."""

    def start(self, total: int, what: str) -> None: ...
    def advance(self, count: int = 1) -> None: ...


def fetch_profiles(tracker: Tracker, limit: int | None = None, **options) -> Summary:
    """Fetch for the people of the build (the first `limit` of them, by person id)."""
    ids, people = openreview_ids(tracker, limit)
    return fetch_for(ids, folder_for(tracker.db), people=people, known_links=orcid_links(tracker, ids), **options)


def openreview_ids(tracker: Tracker, limit: int | None = None) -> tuple[list[str], int]:
    """The OpenReview ids of the build's people (read-only), and how many people hold them."""
    with tracker.reader(with_workspace=False) as con:
        rows = con.execute("SELECT DISTINCT person_id, openreview_id FROM authorships "
                           "WHERE openreview_id IS NOT NULL AND person_id IS NOT NULL "
                           "ORDER BY person_id, openreview_id").fetchall()
    people: dict[str, list[str]] = {}
    for person, openreview_id in rows:
        if limit is not None and person not in people and len(people) >= limit:
            break
        people.setdefault(person, []).append(openreview_id)
    return sorted({i for ids in people.values() for i in ids}), len(people)


def orcid_links(tracker: Tracker, ids: list[str]) -> list[dict]:
    """The ORCID iDs the build's sources give these OpenReview ids (the author files'
    profile links), as the link records an OpenReview profile gives."""
    with tracker.reader(with_workspace=False) as con:
        found = con.execute("SELECT openreview_id, url FROM profile_links WHERE kind = 'orcid' AND openreview_id IN "
                            "(SELECT unnest(?)) ORDER BY 1, 2", [ids]).fetchall()
    return [{"kind": "orcid", "key": key, "orcid": url} for key, url in found]


def fetch_for(
    ids: list[str],
    folder: Path,
    *,
    sources: tuple[str, ...] | list[str] = SOURCES,
    people: int | None = None,
    known_links: list[dict] | tuple = (),
    offline: bool = False,
    openreview_token: str | None = None,
    openalex_key: str | None = None,
    mailto: str | None = None,
    http: httpx.Client | None = None,
    sleep=time.sleep,
    intervals: dict[str, float] | None = None,
    attempts: int = 5,
    backoff: float = 1.0,
    max_wait: float = 300.0,
    progress: Progress | None = None,
    openreview_batch: int = openreview.BATCH,
    openalex_batch: int = openalex.BATCH,
    openalex_per_page: int = openalex.PER_PAGE,
    openalex_max_pages: int = openalex.MAX_PAGES,
    max_seconds: float | None = None,
    deadline: float = REQUEST_DEADLINE,
    max_retries: int = MAX_RETRIES,
    max_retry_wait: float = MAX_RETRY_WAIT,
) -> Summary:
    """Fetch and parse the given OpenReview ids' evidence into `folder` (see the module docstring).

    `known_links`: ORCID links already known (orcid_links), asked for beside those of the
    fetched OpenReview profiles.

    `max_seconds`: the run's time budget (None: none); `deadline`, `max_retries` and
    `max_retry_wait`: the client's bounds per request and per run (see `http.CachedClient`)."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise UserError(f"unknown source {', '.join(unknown) or '(none)'} (choose from {', '.join(SOURCES)})")
    folder, progress = Path(folder), progress or Progress()
    ids = sorted(set(ids))
    tallies = {s: Tally(s) for s in SOURCES if s in sources}
    client = CachedClient(folder / HTTP_DIR, client=http, offline=offline,
                          intervals=INTERVALS if intervals is None else intervals, sleep=sleep, attempts=attempts,
                          backoff=backoff, max_wait=max_wait, deadline=deadline, time_budget=max_seconds,
                          max_retries=max_retries, max_retry_wait=max_retry_wait)
    with client:
        if "openreview" in tallies:
            parsed = _openreview(client, ids, openreview_token, openreview_batch, tallies["openreview"], progress)
            _write(folder, "openreview", parsed, tallies["openreview"])
            links = [*known_links, *(r for r in parsed.records if r["kind"] == "orcid")]
        else:
            links = [*known_links, *(_saved_links(folder, ids, required=not known_links)
                                     if {"orcid", "openalex"} & set(tallies) else [])]
        if "orcid" in tallies:
            orcids = _orcids(links, tallies["orcid"])
            _write(folder, "orcid", _orcid(client, orcids, tallies["orcid"], progress), tallies["orcid"])
        if "openalex" in tallies:
            orcids = _orcids(links, tallies["openalex"])
            parsed = _openalex(client, orcids, openalex_key, mailto, openalex_batch, openalex_per_page,
                               openalex_max_pages, tallies["openalex"], progress)
            _write(folder, "openalex", parsed, tallies["openalex"])
    stopped = list(client.stops)
    if client.out_of_time:
        done = sum(t.fetched + t.cached + t.not_found for t in tallies.values())
        left = sum(t.out_of_time for t in tallies.values())
        stopped.append(f"out of time: the run's budget of {max_seconds / 60:,.4g} minutes is spent; {done:,} answered, "
                       f"{left:,} not asked; everything fetched is cached: run the command again to resume")
    return Summary(folder, len(ids) if people is None else people, tallies, client.sent, client.hits, stopped)


def _write(folder: Path, source: str, parsed: Parsed, tally: Tally) -> None:
    tally.skipped.update(parsed.skipped)
    tally.records = sum(1 for r in parsed.records if r["kind"] == "position")
    try:
        write_records(folder, source, parsed.records)
    except OSError as exc:
        raise UserError(f"{folder}: cannot write the {source} records ({exc.strerror or exc})") from None


def _saved_links(folder: Path, ids: list[str], required: bool = True) -> list[dict]:
    """ORCID links from the OpenReview records of an earlier run (ORCID and OpenAlex alone);
    without such records, an error if they are `required` (no other links are known)."""
    records, _, present = read_records(folder, ("openreview",))
    if "openreview" not in present and not required:
        return []
    if "openreview" not in present:
        raise UserError(f"{folder}: no OpenReview records yet; fetch with --sources openreview first "
                        "(ORCID and OpenAlex are reached through the ORCID iDs on OpenReview profiles)")
    wanted = set(ids)
    return [r for r in records if r["kind"] == "orcid" and r["key"] in wanted]


def _orcids(links: list[dict], tally: Tally) -> list[str]:
    """The distinct valid ORCID iDs of the links; the others are counted skips, never asked for."""
    valid = set()
    for link in links:
        found = orcid_id(link.get("orcid"))
        if found:
            valid.add(found)
        else:
            tally.skipped["invalid ORCID iD on an OpenReview profile (format or check digit)"] += 1
    return sorted(valid)


def _openreview(client: CachedClient, ids: list[str], token: str | None, batch: int, tally: Tally,
                progress: Progress) -> Parsed:
    parsed = Parsed()
    valid = [i for i in ids if openreview.valid_id(i)]
    if len(valid) < len(ids):
        parsed.skip("malformed OpenReview id", len(ids) - len(valid))
    tally.requested = len(valid)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    progress.start(len(valid), "OpenReview profiles")
    chunks = openreview.batches(valid, batch)
    for n, chunk in enumerate(chunks):
        try:
            answer = client.request("POST", openreview.URL, json_body=openreview.body(chunk), headers=headers,
                                    check=openreview.is_answer)
        except CacheMiss:
            tally.missing += len(chunk)
        except OutOfTime:
            tally.out_of_time += len(chunk)
        except HttpFailure as exc:
            reason = str(exc)
            if exc.status in (401, 403) and not token:
                reason += " (OpenReview may require signing in: pass --openreview-token or set OPENREVIEW_TOKEN)"
            tally.fail(len(chunk), reason)
            if exc.fatal:  # every other batch would fail alike: stop asking
                tally.fail(sum(len(c) for c in chunks[n + 1:]), reason)
                break
        else:
            found_here, found = openreview.parse_search(answer.data, chunk)
            parsed.extend(found_here)
            tally.answered(len(found), answer.from_cache)
            tally.not_found += len(chunk) - len(found)
        progress.advance(len(chunk))
    return parsed


def _orcid(client: CachedClient, orcids: list[str], tally: Tally, progress: Progress) -> Parsed:
    parsed = Parsed()
    tally.requested = len(orcids)
    progress.start(len(orcids), "ORCID records")
    stop = False
    for number, identifier in enumerate(orcids):
        answers, cached, outcome = {}, True, "found"
        for section in orcid.SECTIONS:
            try:
                answer = client.request("GET", orcid.url(identifier, section), headers=orcid.HEADERS,
                                        cache_statuses=(200, 404, 409), check=orcid.is_answer)
            except CacheMiss:
                outcome = "missing"
                break
            except OutOfTime:
                outcome = "out of time"
                break
            except HttpFailure as exc:
                outcome, stop = "failed", exc.fatal
                tally.fail(1 + (len(orcids) - number - 1 if stop else 0), str(exc))
                break
            cached = cached and answer.from_cache
            if answer.status != 200:  # 404: no such iD; 409: locked or deactivated
                outcome = "not found"
                break
            answers[section] = answer.data
        if outcome == "found":
            parsed.extend(orcid.parse(identifier, answers["educations"], answers["employments"]))
            tally.answered(1, cached)
        elif outcome == "not found":
            tally.not_found += 1
        elif outcome == "missing":
            tally.missing += 1
        elif outcome == "out of time":
            tally.out_of_time += 1
        progress.advance()
        if stop:  # every other request would fail alike
            break
    return parsed


def _openalex(client: CachedClient, orcids: list[str], key: str | None, mailto: str | None, batch: int,
              per_page: int, max_pages: int, tally: Tally, progress: Progress) -> Parsed:
    parsed = Parsed()
    tally.requested = len(orcids)
    headers = {"Authorization": f"Bearer {key}"} if key else None  # kept out of URLs and the cache
    progress.start(len(orcids), "OpenAlex authors")
    chunks = [orcids[i:i + batch] for i in range(0, len(orcids), batch)]
    stop = False
    for n, chunk in enumerate(chunks):
        cursor, found, cached, outcome, pages = "*", set(), True, "done", 0
        while cursor:
            if pages >= max_pages:  # a cursor that never ends: cut, counted and said
                reason = f"OpenAlex cursor walk cut at {max_pages} pages (the rest not fetched)"
                tally.skipped[reason] += 1
                tally.warn(reason)
                break
            query = openalex.params(chunk, cursor, per_page) | ({"mailto": mailto} if mailto else {})
            try:
                # a legacy rate limit answers 403: worth a retry, like 429
                answer = client.request("GET", openalex.URL, params=query, headers=headers,
                                        retry_statuses=RETRY_STATUSES | {403}, check=openalex.is_page)
            except CacheMiss:
                outcome = "missing"
                break
            except OutOfTime:
                outcome = "out of time"
                break
            except HttpFailure as exc:
                outcome, stop = "failed", exc.fatal
                tally.fail(len(chunk) + (sum(len(c) for c in chunks[n + 1:]) if stop else 0), str(exc))
                break
            data, pages = answer.data, pages + 1
            page, got = openalex.parse_authors(data["results"], set(chunk))
            parsed.extend(page)  # records of pages already read are kept even if a later one fails
            found |= got
            cached = cached and answer.from_cache
            cursor = openalex.next_cursor(data)
        if outcome == "done":
            tally.answered(len(found), cached)
            tally.not_found += len(chunk) - len(found)
        elif outcome == "missing":
            tally.missing += len(chunk)
        elif outcome == "out of time":
            tally.out_of_time += len(chunk)
        progress.advance(len(chunk))
        if stop:
            break
    return parsed
