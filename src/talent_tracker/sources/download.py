"""`fetch`: download every source the build reads into a local cache: the Paper Copilot
paper lists (`paperlists_pins.toml`), and the author files, the official NeurIPS 2019
and 2020 pages, the NeurIPS 2022 schedule and the world-universities list
(`source_pins.toml`), each at the version this project was tested on.

Each file is checked against its git blob id (the checksum GitHub itself keeps for
every file version), downloaded to `<file>.part` with HTTP range requests so an
interrupted download resumes where it stopped, retried with exponential backoff on
network errors and 429/5xx answers, and renamed into place only once verified: the
cache never holds a half-written or unverified file. A verified file already in the
cache is not downloaded again.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from talent_tracker import __version__
from talent_tracker.limits import MAX_SOURCE_BYTES
from talent_tracker.venues import Venue

REPOSITORY = "papercopilot/paperlists"
UNIVERSITIES_REPOSITORY = "Hipo/university-domains-list"
UNIVERSITIES_PATH = "world_universities_and_domains.json"
RAW_URL = "https://raw.githubusercontent.com/{repo}/{ref}/{path}"
CONTENTS_URL = "https://api.github.com/repos/{repo}/contents/{path}"
PINNED = "pinned"
CHUNK = 1 << 16


@dataclass(frozen=True)
class Pin:
    commit: str
    blob: str


@dataclass
class Fetched:
    path: str  # e.g. nips/nips2018.json
    status: str  # downloaded | cached | converted | failed
    detail: str = ""
    bytes: int = 0


class FetchError(Exception):
    """One file could not be fetched; the message says why."""


class _Retryable(Exception):
    """A transient failure worth another attempt (network error, 429, 5xx)."""


@dataclass(frozen=True)
class SourcePin:
    """A file of the cache other than a paper list: where it comes from, and its blob id."""

    dest: str  # inside the cache, e.g. paperlists-authors/nips/nips2023.json
    repository: str
    commit: str
    path: str
    blob: str


SCHEDULE_PICKLES = ("neurips2022-schedule/pp_names.pickle", "neurips2022-schedule/pp_authors.pickle")
SCHEDULE_FILE = "neurips2022-schedule/posters.json"


def load_source_pins() -> list[SourcePin]:
    text = resources.files("talent_tracker.sources").joinpath("source_pins.toml").read_text("utf-8")
    return [SourcePin(dest, e["repository"], e["commit"], e["path"], e["blob"]) for dest, e in tomllib.loads(text).items()]


def venue_year_of(dest: str) -> tuple[str, int] | None:
    """The venue-year a pinned file serves (None: every one, as the universities list)."""
    name = dest.rsplit("/", 1)[-1]
    digits = "".join(ch for ch in name if ch.isdigit())[:4]
    if dest.startswith("neurips2022-schedule/"):
        return ("neurips", 2022)
    if dest.startswith("neurips-accepted/"):
        return ("neurips", int(digits))
    if dest.startswith("paperlists-authors/"):
        folder = dest.split("/")[1]
        return ({"nips": "neurips"}.get(folder, folder), int(digits))
    return None


def fetch_sources(
    cache: Path,
    wanted: Callable[[tuple[str, int]], bool] = lambda venue_year: True,
    http: httpx.Client | None = None,
    pins: list[SourcePin] | None = None,
    attempts: int = 5,
    backoff: float = 1.0,
    on_file: Callable[[Fetched], None] = lambda f: None,
) -> list[Fetched]:
    """Every pinned source whose venue-year is `wanted` (and the universities list) into
    `cache`, checked like the paper lists; the schedule's two pickled lists then become
    `posters.json`."""
    pins = load_source_pins() if pins is None else pins
    results = []
    owns_client = http is None
    http = http or client()
    try:
        for pin in pins:
            venue_year = venue_year_of(pin.dest)
            if venue_year is not None and not wanted(venue_year):
                continue
            try:
                result = _fetch_one(http, pin.repository, pin.path, Path(cache) / pin.dest, PINNED,
                                    Pin(pin.commit, pin.blob), attempts, backoff)
                result.path = pin.dest
            except FetchError as exc:
                result = Fetched(pin.dest, "failed", str(exc))
            results.append(result)
            on_file(result)
    finally:
        if owns_client:
            http.close()
    ready = {r.path for r in results if r.status != "failed"}
    if set(SCHEDULE_PICKLES) <= ready:
        results.append(_schedule_posters(Path(cache)))
        on_file(results[-1])
    return results


def _schedule_posters(cache: Path) -> Fetched:
    """posters.json from the schedule crawl's two pickled lists (titles; `Name (Affiliation)`
    per author), read with every global refused: plain lists and strings, never code."""
    try:
        titles, speakers = (_plain_pickle(cache / name) for name in SCHEDULE_PICKLES)
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        return Fetched(SCHEDULE_FILE, "failed", f"not the schedule's lists ({exc})")
    if not (isinstance(titles, list) and isinstance(speakers, list) and len(titles) == len(speakers)):
        return Fetched(SCHEDULE_FILE, "failed", "not the schedule's lists (two lists of one length)")
    dest = cache / SCHEDULE_FILE
    part = dest.with_name(dest.name + ".part")
    part.write_text(json.dumps([{"title": t, "speakers": s} for t, s in zip(titles, speakers)], ensure_ascii=False),
                    "utf-8")
    os.replace(part, dest)
    return Fetched(SCHEDULE_FILE, "converted", f"{len(titles):,} posters", dest.stat().st_size)


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refused: the file names {module}.{name}")


def _plain_pickle(path: Path):
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_SOURCE_BYTES:,} bytes")
    with path.open("rb") as handle:
        return _PlainUnpickler(handle).load()


def load_pins() -> dict[str, Pin]:
    text = resources.files("talent_tracker.sources").joinpath("paperlists_pins.toml").read_text("utf-8")
    return {path: Pin(entry["commit"], entry["blob"]) for path, entry in tomllib.loads(text).items()}


def git_blob_id(path: Path) -> str:
    """The id git gives a file's content: sha1 of `blob <size>\\0` and the bytes."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def client(timeout: float = 30.0) -> httpx.Client:
    headers = {"User-Agent": f"talent-tracker/{__version__}"}
    token = os.environ.get("GITHUB_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(headers=headers, timeout=timeout, follow_redirects=True)


def fetch_paperlists(
    venues: list[Venue],
    years: list[int] | None,
    cache: Path,
    ref: str = PINNED,
    http: httpx.Client | None = None,
    pins: dict[str, Pin] | None = None,
    attempts: int = 5,
    backoff: float = 1.0,
    on_file: Callable[[Fetched], None] = lambda f: None,
) -> list[Fetched]:
    """Fetch `<folder>/<folder><year>.json` for every venue and year into `cache/paperlists/`.

    `ref=pinned` takes the version this project was tested on where one is pinned, and
    the repository's default branch otherwise; any other ref (a branch or commit) is
    used as given, with the checksum taken from GitHub's contents API.
    """
    pins = load_pins() if pins is None else pins
    root = Path(cache) / "paperlists"
    results = []
    owns_client = http is None
    http = http or client()
    try:
        for venue in venues:
            for year in years if years is not None else pinned_years(venue, pins):
                path = f"{venue.folder}/{venue.folder}{year}.json"
                try:
                    result = _fetch_one(http, REPOSITORY, path, root / path, ref, pins.get(path), attempts, backoff)
                except FetchError as exc:
                    result = Fetched(path, "failed", str(exc))
                results.append(result)
                on_file(result)
    finally:
        if owns_client:
            http.close()
    return results


def fetch_universities(
    cache: Path, ref: str = PINNED, http: httpx.Client | None = None, attempts: int = 5,
    backoff: float = 1.0,
) -> Fetched:
    """The world-universities list into `cache/world-universities/` (checked like the paper
    lists): the pinned version, or the one at another `ref`."""
    dest = Path(cache) / "world-universities" / UNIVERSITIES_PATH
    pin = next(Pin(p.commit, p.blob) for p in load_source_pins() if p.dest == f"world-universities/{UNIVERSITIES_PATH}")
    owns_client = http is None
    http = http or client()
    try:
        return _fetch_one(http, UNIVERSITIES_REPOSITORY, UNIVERSITIES_PATH, dest, ref, pin, attempts, backoff)
    except FetchError as exc:
        return Fetched(UNIVERSITIES_PATH, "failed", str(exc))
    finally:
        if owns_client:
            http.close()


def _fetch_one(http, repo: str, path: str, dest: Path, ref: str, pin: Pin | None, attempts, backoff) -> Fetched:
    if ref == PINNED and pin is not None:
        commit, blob = pin.commit, pin.blob
    else:
        commit, blob = _remote_version(http, repo, path, "main" if ref == PINNED else ref, attempts, backoff)
    # a pinned file is checked against its blob id before anything reads it (the schedule's
    # pickles included: only the exact bytes tested here are ever unpickled)
    if dest.is_file() and git_blob_id(dest) == blob:
        return Fetched(path, "cached", f"{commit[:12]}", dest.stat().st_size)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    url = RAW_URL.format(repo=repo, ref=commit, path=path)
    _download(http, url, part, attempts, backoff)
    got = git_blob_id(part)
    if got != blob:
        part.unlink()
        raise FetchError(f"checksum mismatch: expected git blob {blob}, got {got}; the partial file was removed")
    os.replace(part, dest)
    return Fetched(path, "downloaded", f"{commit[:12]}", dest.stat().st_size)


def _remote_version(http, repo: str, path: str, ref: str, attempts, backoff) -> tuple[str, str]:
    """(ref, blob id) of `path` at `ref`, from GitHub's contents API."""
    url = CONTENTS_URL.format(repo=repo, path=path)
    response = _with_retries(lambda: _checked(http.get(url, params={"ref": ref})), attempts, backoff)
    try:
        meta = response.json()
        return ref, meta["sha"]
    except (ValueError, KeyError, TypeError):
        raise FetchError(f"unexpected answer from {url}: no blob id") from None


def _download(http, url: str, part: Path, attempts, backoff) -> None:
    def attempt() -> None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and have:
                # the server has nothing past what we hold: the part is complete
                return
            _checked(response)
            mode = "ab" if have and response.status_code == 206 else "wb"
            with part.open(mode) as handle:
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)

    _with_retries(attempt, attempts, backoff)


def _checked(response: httpx.Response) -> httpx.Response:
    code = response.status_code
    if code == 429 or code >= 500:
        raise _Retryable(f"HTTP {code} from {response.request.url}")
    if code == 404:
        raise FetchError(f"not found: {response.request.url}")
    if code >= 400:
        raise FetchError(f"HTTP {code} from {response.request.url}")
    return response


def _with_retries(action, attempts: int, backoff: float):
    def transient(exc: BaseException) -> bool:
        return isinstance(exc, (_Retryable, httpx.TransportError))

    try:
        for attempt in Retrying(
            retry=retry_if_exception(transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=60),
            reraise=False,
        ):
            with attempt:
                return action()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise FetchError(f"gave up after {attempts} attempts: {last}") from None


def pinned_years(venue: Venue, pins: dict[str, Pin] | None = None) -> list[int]:
    """The years of a venue that have a pinned version."""
    pins = load_pins() if pins is None else pins
    prefix = f"{venue.folder}/{venue.folder}"
    return sorted(int(p[len(prefix):-5]) for p in pins if p.startswith(prefix) and p[len(prefix):-5].isdigit())
