"""`fetch`: download the public Paper Copilot lists into a local cache.

Each file is checked against its git blob id (the checksum GitHub itself keeps for
every file version), downloaded to `<file>.part` with HTTP range requests so an
interrupted download resumes where it stopped, retried with exponential backoff on
network errors and 429/5xx answers, and renamed into place only once verified: the
cache never holds a half-written or unverified file. A verified file already in the
cache is not downloaded again.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from talent_tracker import __version__
from talent_tracker.venues import Venue

REPOSITORY = "papercopilot/paperlists"
UNIVERSITIES_REPOSITORY = "Hipo/university-domains-list"
UNIVERSITIES_PATH = "world_universities_and_domains.json"
UNIVERSITIES_REF = "master"
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
    status: str  # downloaded | cached | failed
    detail: str = ""
    bytes: int = 0


class FetchError(Exception):
    """One file could not be fetched; the message says why."""


class _Retryable(Exception):
    """A transient failure worth another attempt (network error, 429, 5xx)."""


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
    cache: Path, ref: str = UNIVERSITIES_REF, http: httpx.Client | None = None, attempts: int = 5,
    backoff: float = 1.0,
) -> Fetched:
    """The world-universities list into `cache/world-universities/` (checked like the paper lists)."""
    dest = Path(cache) / "world-universities" / UNIVERSITIES_PATH
    owns_client = http is None
    http = http or client()
    try:
        return _fetch_one(http, UNIVERSITIES_REPOSITORY, UNIVERSITIES_PATH, dest, ref, None, attempts, backoff)
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
