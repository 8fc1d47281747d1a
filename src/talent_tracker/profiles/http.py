"""A cached, polite HTTP client for the profile APIs.

Every answer worth keeping is written to disk, one file per request (named by a hash of
method, URL, parameters and body), atomically: a rerun after a kill, a Ctrl-C or a run of
server errors asks only for what it does not hold yet, and `offline=True` answers from
that cache alone. Requests to one host are spaced by a minimum interval (the APIs' rate
limits are per second or per minute); transport errors and 5xx answers are retried with
exponential backoff, a 429 waits as long as its `Retry-After` says, unless that is longer
than `max_wait` (a daily quota: retrying is pointless, rerun later). Answers are read up
to `limits.MAX_RESPONSE_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from .. import __version__
from ..limits import MAX_RESPONSE_BYTES, human

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# parameters that do not change the answer: left out of the cache key (and of the file)
UNKEYED_PARAMS = frozenset({"mailto"})


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    url: str
    from_cache: bool

    def json(self):
        return json.loads(self.text)


class HttpFailure(Exception):
    """No usable answer (after the retries worth making); `fatal`: every other request to
    this API would fail the same way (authentication), so stop asking it."""

    def __init__(self, message: str, status: int | None = None, fatal: bool = False):
        super().__init__(message)
        self.status, self.fatal = status, fatal


class CacheMiss(Exception):
    """Offline, and the answer is not in the cache."""


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
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def describe(status: int, text: str) -> str:
    """A one-line reason from an error answer (the APIs' JSON error fields, or its text)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts = [data.get(k) for k in ("name", "error", "message", "developer-message") if data.get(k)]
        if parts:
            return f"HTTP {status}: " + ": ".join(str(p) for p in parts)[:300]
    snippet = " ".join(text.split())[:200]
    return f"HTTP {status}" + (f": {snippet}" if snippet else "")


class CachedClient:
    """See the module docstring. `client` and `sleep` can be injected (tests do not wait)."""

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
    ):
        self.cache, self.offline = Path(cache), offline
        self.intervals, self.default_interval = dict(intervals or {}), default_interval
        self.attempts, self.backoff, self.max_backoff, self.max_wait = attempts, backoff, max_backoff, max_wait
        self.max_bytes, self.sleep, self.clock = max_bytes, sleep, clock
        self._owns = client is None
        self.client = client or httpx.Client(
            headers={"User-Agent": f"talent-tracker/{__version__} (research; profiles fetch)"},
            timeout=timeout, follow_redirects=True)
        self._last: dict[str, float] = {}
        self.sent = 0  # requests that went out (retries included)
        self.hits = 0  # answers served from the cache

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

        Answers whose status is in `cache_statuses` are kept (a 404 of an unknown id is
        an answer too); `check` vets a 200's JSON before it is kept, so an odd answer
        (an error page, a proxy's HTML) is a failure, never a cached fact. Raises
        CacheMiss (offline) or HttpFailure.
        """
        path = self.path_for(method, url, params, json_body)
        cached = self._read_cache(path)
        if cached is not None:
            self.hits += 1
            return cached
        if self.offline:
            raise CacheMiss(f"not in the cache: {method} {url}")
        status, text, final_url = self._send(method, url, params, json_body, headers, retry_statuses)
        if status not in cache_statuses:
            raise HttpFailure(describe(status, text), status, fatal=status in (401, 403))
        if status == 200 and check is not None:
            try:
                ok = check(json.loads(text))
            except ValueError:
                ok = False
            if not ok:
                raise HttpFailure(f"unexpected answer from {urlsplit(url).hostname}: {describe(status, text)}", status)
        kept = {k: v for k, v in (params or {}).items() if k not in UNKEYED_PARAMS}
        self._write_cache(path, {"method": method.upper(), "url": url, "params": kept, "body": json_body,
                                 "status": status, "final_url": final_url, "text": text,
                                 "fetched_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        return Answer(status, text, final_url, False)

    # --- the network ---------------------------------------------------------------

    def _send(self, method, url, params, body, headers, retry_statuses) -> tuple[int, str, str]:
        def wait(state) -> float:
            asked = getattr(state.outcome.exception(), "retry_after", None)
            if asked is not None:
                return asked
            return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_backoff)

        try:
            for attempt in Retrying(retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
                                    stop=stop_after_attempt(self.attempts), wait=wait, sleep=self.sleep,
                                    reraise=False):
                with attempt:
                    return self._once(method, url, params, body, headers, retry_statuses)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            raise HttpFailure(f"gave up after {self.attempts} attempts: {last}",
                              getattr(last, "status", None)) from None
        except httpx.HTTPError as exc:  # not a transport error: a bad URL, a broken encoding
            raise HttpFailure(f"{type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    def _once(self, method, url, params, body, headers, retry_statuses) -> tuple[int, str, str]:
        host = urlsplit(url).hostname or ""
        self._polite(host)
        self.sent += 1
        try:
            with self.client.stream(method, url, params=params, json=body, headers=headers) as response:
                status = response.status_code
                if status in retry_statuses or status >= 500:
                    after = retry_after_seconds(response.headers.get("Retry-After"))
                    if after is not None and after > self.max_wait:
                        raise HttpFailure(f"HTTP {status} from {host}: asked to wait {after:,.0f} s, more than the "
                                          f"{self.max_wait:,.0f} s allowed; rerun later (what was fetched is kept)",
                                          status, fatal=True)
                    raise _Retryable(f"HTTP {status} from {host}", status, after)
                return status, self._read(response, host), str(response.url)
        finally:
            self._last[host] = self.clock()

    def _read(self, response: httpx.Response, host: str) -> str:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise HttpFailure(f"answer from {host} larger than {human(self.max_bytes)}", response.status_code)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise HttpFailure(f"answer from {host} larger than {human(self.max_bytes)}", response.status_code)
            chunks.append(chunk)
        return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")

    def _polite(self, host: str) -> None:
        last = self._last.get(host)
        if last is None:
            return
        gap = self.intervals.get(host, self.default_interval) - (self.clock() - last)
        if gap > 0:
            self.sleep(gap)

    # --- the cache -------------------------------------------------------------------

    def _read_cache(self, path: Path) -> Answer | None:
        try:
            if path.stat().st_size > 2 * self.max_bytes:  # JSON escaping may double the text
                return None
            data = json.loads(path.read_text("utf-8"))
            return Answer(int(data["status"]), str(data["text"]), str(data.get("final_url") or data["url"]), True)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, or not a file this client wrote whole: ask again

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
