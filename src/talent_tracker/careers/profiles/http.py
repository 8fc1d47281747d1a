"""A cached, polite, bounded HTTP client for the profile APIs.

Every answer worth keeping is written to disk, one file per request (named by a hash of
method, URL, parameters and body), atomically: a rerun after a kill, a Ctrl-C or a run of
server errors asks only for what it does not hold yet, and `offline=True` answers from
that cache alone. Only well-formed answers are kept: a status the caller expects, whose
body is JSON (read by `jsonread`, so depth and size are capped) of the expected shape; a
cache file that is not such an answer counts as missing. A redirect is refused, never
followed (following turns a POST into a GET, and an API that moved needs a new URL here).
Requests to one host are spaced by a minimum interval (the APIs' rate limits are per
second or per minute); transport errors and 5xx answers are retried with exponential
backoff, a 429 waits as long as its `Retry-After` says, unless that is longer than
`max_wait` (a daily quota: retrying is pointless, rerun later).

Every cost is bounded. Per request: the answer's size (`limits.MAX_RESPONSE_BYTES`) and
a deadline (`deadline`) covering connect, every read of the answer and the retries with
their waits: httpx's read timeout restarts with every byte, so the body loop checks the
clock, and a watchdog shuts the connection down at the deadline (a server sending its
headers a byte at a time never hands control back). Per run (one client): the retries
(`max_retries`), the time spent waiting as `Retry-After` says (`max_retry_wait`), and
optionally a time budget (`time_budget`) after which nothing more is sent (`OutOfTime`;
the cache is still read).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from talent_tracker import __version__, jsonread
from talent_tracker.limits import MAX_DOCUMENT_VALUES, MAX_RESPONSE_BYTES, MiB, bounded_stream, human

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# parameters that do not change the answer: left out of the cache key (and of the file)
UNKEYED_PARAMS = frozenset({"mailto"})
# One request, its retries and their waits included: room for one long Retry-After
# (`max_wait`, 5 minutes) and the backoffs, not for four such waits.
REQUEST_DEADLINE = 600.0
# Per run (one client), over all requests: a server failing this often is in trouble,
# and a rate limit this persistent will not lift within the run; rerun later.
MAX_RETRIES = 200
MAX_RETRY_WAIT = 900.0  # seconds waited as Retry-After says
# an error answer is read as JSON for its reason only up to this size (real ones: < 1 KB)
MAX_DESCRIBED = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    data: object  # the answer's JSON, read within jsonread's caps
    from_cache: bool


class HttpFailure(Exception):
    """No usable answer (after the retries worth making); `fatal`: every other request to
    this API would fail the same way (authentication), so stop asking it."""

    def __init__(self, message: str, status: int | None = None, fatal: bool = False):
        super().__init__(message)
        self.status, self.fatal = status, fatal


class CacheMiss(Exception):
    """Offline, and the answer is not in the cache."""


class OutOfTime(Exception):
    """The run's time budget is spent (before or during this request): nothing more is
    sent; answers are still read from the cache."""


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def cache_key(method: str, url: str, params: dict | None = None, body: object = None) -> str:
    keyed = sorted((k, str(v)) for k, v in (params or {}).items() if k not in UNKEYED_PARAMS)
    text = json.dumps([method.upper(), url, keyed, body], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A `Retry-After` header as seconds from now: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def describe(status: int, body: bytes | str) -> str:
    """A one-line reason from an error answer (the APIs' JSON error fields, or its text)."""
    data = None
    if len(body) <= MAX_DESCRIBED:  # a long answer is quoted, not parsed
        with contextlib.suppress(jsonread.BadJSON):
            data, _ = jsonread.loads(body, MAX_DOCUMENT_VALUES)
    if isinstance(data, dict):
        parts = [data.get(k) for k in ("name", "error", "message", "developer-message") if data.get(k)]
        if parts:
            return f"HTTP {status}: " + ": ".join(str(p) for p in parts)[:300]
    text = body[:1000].decode("utf-8", "replace") if isinstance(body, bytes) else body[:1000]
    snippet = " ".join(text.split())[:200]
    return f"HTTP {status}" + (f": {snippet}" if snippet else "")


def _usable(status: int, data: object, statuses: Collection[int], check: Callable[[object], bool] | None) -> bool:
    return status in statuses and (status != 200 or check is None or bool(check(data)))


class CachedClient:
    """See the module docstring. `client`, `sleep` and `clock` can be injected (tests do not wait)."""

    def __init__(
        self,
        cache: Path,
        *,
        client: httpx.Client | None = None,
        offline: bool = False,
        intervals: dict[str, float] | None = None,
        default_interval: float = 1.0,
        attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_wait: float = 300.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 60.0,
        deadline: float = REQUEST_DEADLINE,
        time_budget: float | None = None,
        max_retries: int = MAX_RETRIES,
        max_retry_wait: float = MAX_RETRY_WAIT,
    ):
        self.cache, self.offline = Path(cache), offline
        self.intervals, self.default_interval = dict(intervals or {}), default_interval
        self.attempts, self.backoff, self.max_backoff, self.max_wait = attempts, backoff, max_backoff, max_wait
        self.max_bytes, self.sleep, self.clock, self.timeout = max_bytes, sleep, clock, timeout
        self.deadline, self.max_retries, self.max_retry_wait = deadline, max_retries, max_retry_wait
        self.time_budget = time_budget
        self.run_ends = None if time_budget is None else clock() + time_budget
        self._owns = client is None
        self.client = client or httpx.Client(
            headers={"User-Agent": f"talent-tracker/{__version__} (research; profiles fetch)"},
            timeout=timeout, follow_redirects=False)
        self._last: dict[str, float] = {}
        self._streams: dict[str, object] = {}  # per host, the connection last opened (for the watchdog)
        self.sent = 0  # requests that went out (retries included)
        self.hits = 0  # answers served from the cache
        self.retries = 0  # retries made in this run
        self.waited = 0.0  # seconds waited as Retry-After said
        self.out_of_time = False  # the time budget stopped a request
        self.stops: list[str] = []  # the run's caps that were reached, and what that means

    def close(self) -> None:
        if self._owns:
            self.client.close()

    def __enter__(self) -> CachedClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def path_for(self, method: str, url: str, params: dict | None = None, body: object = None) -> Path:
        host = urlsplit(url).hostname or "unknown"
        return self.cache / host / f"{cache_key(method, url, params, body)}.json"

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        json_body: object = None,
        headers: dict | None = None,
        cache_statuses: Collection[int] = (200,),
        retry_statuses: Collection[int] = RETRY_STATUSES,
        check: Callable[[object], bool] | None = None,
    ) -> Answer:
        """The answer to one request, from the cache if held there.

        Answers whose status is in `cache_statuses` and whose body is JSON are kept (a 404
        of an unknown id is an answer too); `check` vets a 200's JSON before it is kept,
        so an odd answer (an error page, a proxy's HTML, a truncated body) is a failure,
        never a cached fact. Raises CacheMiss (offline), OutOfTime or HttpFailure.
        """
        path = self.path_for(method, url, params, json_body)
        cached = self._read_cache(path, cache_statuses, check)
        if cached is not None:
            self.hits += 1
            return cached
        if self.offline:
            raise CacheMiss(f"not in the cache: {method} {url}")
        host = urlsplit(url).hostname or ""
        status, body = self._send(method, url, params, json_body, headers, retry_statuses)
        if status not in cache_statuses:
            raise HttpFailure(describe(status, body), status, fatal=status in (401, 403))
        try:
            data, _ = jsonread.loads(body, MAX_DOCUMENT_VALUES)
        except jsonread.BadJSON as exc:
            raise HttpFailure(f"unexpected answer from {host}: HTTP {status}, {exc}", status) from None
        if not _usable(status, data, cache_statuses, check):
            raise HttpFailure(f"unexpected answer from {host}: {describe(status, body)}", status)
        kept = {k: v for k, v in (params or {}).items() if k not in UNKEYED_PARAMS}
        self._write_cache(path, {"method": method.upper(), "url": url, "params": kept, "body": json_body,
                                 "status": status, "data": data,
                                 "fetched_at": datetime.now(UTC).isoformat(timespec="seconds")})
        return Answer(status, data, False)

    # --- the network ---------------------------------------------------------------

    def _send(self, method, url, params, body, headers, retry_statuses) -> tuple[int, bytes]:
        host = urlsplit(url).hostname or ""
        ends = self.clock() + self.deadline
        last: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            self._in_time(host, ends, last=last)  # out of time: not even the polite wait
            self._polite(host)
            self._in_time(host, ends, last=last)
            try:
                return self._once(method, url, params, body, headers, retry_statuses, host, ends)
            except (_Retryable, httpx.TransportError) as exc:
                last = exc
            except httpx.HTTPError as exc:  # not a transport error: a bad URL, a broken encoding
                raise HttpFailure(f"{type(exc).__name__}: {exc}") from None
            self._in_time(host, ends, last=last)  # a read the watchdog cut is late, not retried
            if attempt == self.attempts:
                break
            asked = getattr(last, "retry_after", None)
            wait = asked if asked is not None else min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
            if self.retries >= self.max_retries:
                raise self._capped(last, f"this run's {self.max_retries:,} retries are spent")
            if asked is not None and self.waited + asked > self.max_retry_wait:
                raise self._capped(last, f"this run waited its {self.max_retry_wait:,.0f} s as Retry-After says")
            self._in_time(host, ends, wait, last)
            self.retries += 1
            self.waited += asked or 0.0
            self.sleep(wait)
        raise HttpFailure(f"gave up after {self.attempts} attempts: {last}", getattr(last, "status", None))

    def _in_time(self, host: str, ends: float, wait: float = 0.0, last: Exception | None = None) -> None:
        """Raise if `wait` seconds more pass the run's time budget (OutOfTime) or the request's
        deadline `ends` (HttpFailure: the request failed)."""
        when = self.clock() + wait
        if self.run_ends is not None and when >= self.run_ends:
            self.out_of_time = True
            raise OutOfTime(f"the run's time budget of {self.time_budget:,.0f} s is spent")
        if when >= ends:
            why = f"no complete answer from {host} within the request's deadline of {self.deadline:,.0f} s"
            raise HttpFailure(f"{last}; not retried: {why}" if last else why, getattr(last, "status", None))

    def _capped(self, last: Exception | None, why: str) -> HttpFailure:
        note = f"{why}: later retryable errors failed at once; rerun later for what failed"
        if note not in self.stops:
            self.stops.append(note)
        return HttpFailure(f"{last}; not retried: {why}", getattr(last, "status", None))

    def _once(self, method, url, params, body, headers, retry_statuses, host, ends) -> tuple[int, bytes]:
        self.sent += 1
        left = min(ends, self.run_ends if self.run_ends is not None else ends) - self.clock()
        # connect and each read wait at most what is left; the watchdog cuts a trickle
        watchdog = threading.Timer(max(left, 0.0), self._cut, (host,))
        watchdog.daemon = True
        watchdog.start()
        try:
            with self.client.stream(method, url, params=params, json=body, headers=headers,
                                    timeout=max(0.001, min(self.timeout, left)), follow_redirects=False,
                                    extensions={"trace": self._tracer(host)}) as response:
                status = response.status_code
                if 300 <= status < 400:
                    where = " ".join(response.headers.get("Location", "").split())[:200]
                    raise HttpFailure(f"HTTP {status} from {host}: a redirect{f' to {where}' if where else ''}, "
                                      "refused (redirects are not followed; the API may have moved)", status)
                if status in retry_statuses or status >= 500:
                    after = retry_after_seconds(response.headers.get("Retry-After"))
                    if after is not None and after > self.max_wait:
                        raise HttpFailure(f"HTTP {status} from {host}: asked to wait {after:,.0f} s, more than the "
                                          f"{self.max_wait:,.0f} s allowed; rerun later (what was fetched is kept)",
                                          status, fatal=True)
                    raise _Retryable(f"HTTP {status} from {host}", status, after)
                return status, self._read(response, host, ends)
        finally:
            watchdog.cancel()
            self._last[host] = self.clock()

    def _read(self, response: httpx.Response, host: str, ends: float) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise HttpFailure(f"answer from {host} larger than {human(self.max_bytes)}", response.status_code)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise HttpFailure(f"answer from {host} larger than {human(self.max_bytes)}", response.status_code)
            chunks.append(chunk)
            self._in_time(host, ends)  # httpx's read timeout restarts with every byte: a trickle ends here
        # the watchdog's cut reads as the end of a body that ends when the connection does
        self._in_time(host, ends)
        return b"".join(chunks)

    def _tracer(self, host: str) -> Callable[[str, dict], None]:
        """httpcore's `trace` extension: remembers the connection a request opens (the TLS
        stream once its handshake is done; the handshake itself is bounded by the connect timeout)."""
        def trace(event: str, info: dict) -> None:
            if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
                self._streams[host] = info.get("return_value")
        return trace

    def _cut(self, host: str) -> None:
        """The watchdog, at the deadline: shut the connection down, so a read the server
        holds open returns (and fails). Requests are sequential: the connection last opened
        to the host is the one in use (a reused one was opened by an earlier request)."""
        stream = self._streams.get(host)
        with contextlib.suppress(Exception):  # closed meanwhile, or no socket (a mocked transport)
            socket.socket.shutdown(stream.get_extra_info("socket"), socket.SHUT_RDWR)

    def _polite(self, host: str) -> None:
        last = self._last.get(host)
        if last is None:
            return
        gap = self.intervals.get(host, self.default_interval) - (self.clock() - last)
        if gap > 0:
            self.sleep(gap)

    # --- the cache -------------------------------------------------------------------

    def _read_cache(self, path: Path, statuses: Collection[int], check) -> Answer | None:
        """The cached answer if it is one this client would keep now; None (ask again) for
        anything else: absent, unreadable, cut short, not JSON, or an unexpected status or shape."""
        try:  # the answer and the request (escaping may double its size; a FIFO is refused, not read)
            record, _ = jsonread.load(lambda: bounded_stream(path, 2 * self.max_bytes, "cached answer"),
                                      2 * MAX_DOCUMENT_VALUES, chunk=16 * MiB)  # see jsonread.CHUNK
        except jsonread.FILE_ERRORS:
            return None
        if not isinstance(record, dict) or type(record.get("status")) is not int:
            return None
        if "data" in record:
            data = record["data"]
        else:  # written by an earlier version, which kept the answer's text
            if not isinstance(record.get("text"), str):
                return None
            try:
                data, _ = jsonread.loads(record["text"], MAX_DOCUMENT_VALUES)
            except jsonread.BadJSON:
                return None
        if not _usable(record["status"], data, statuses, check):
            return None
        return Answer(record["status"], data, True)

    def _write_cache(self, path: Path, record: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
