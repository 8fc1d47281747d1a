"""`profiles fetch` bounded in every cost: the request's deadline (against a real local server
that trickles), the run's time budget, retry and Retry-After caps, the OpenAlex page cap,
refused redirects, and only well-formed answers cached (a bad cache file is asked again).
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import respx
from test_profiles_fetch import ASKED, LENA, MIRA, Sleeps, load, mock_all, openreview_answer, run

from talent_tracker.careers.profiles import fetch as fetch_module
from talent_tracker.careers.profiles import openalex, openreview, orcid
from talent_tracker.careers.profiles.http import CachedClient, CacheMiss, HttpFailure, OutOfTime
from talent_tracker.careers.profiles.records import read_records

from conftest import cli

pytestmark = pytest.mark.fast


def cached_files(folder) -> list:
    return [p for p in folder.rglob("*.json") if p.parent.name != "records"]


# --- the request's deadline, against a real server -------------------------------------------

class Trickle(BaseHTTPRequestHandler):
    """A hostile server: one byte every 0.2 s, forever (of the body, or of a header)."""

    stop: threading.Event
    connections: list

    def do_GET(self):
        self.connections.append(self.path)
        try:
            if self.path == "/headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"results": [')
            while not self.stop.is_set():
                self.wfile.write(b"1" if self.path == "/headers" else b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client hung up
            pass

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def trickle(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    stop, connections = threading.Event(), []
    handler = type("Handler", (Trickle,), {"stop": stop, "connections": connections})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", connections
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", ["/body", "/headers"])
def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(tmp_path, trickle, path):
    # the read timeout (here 60 s) restarts with every byte: only the deadline ends this
    base, connections = trickle
    started = time.monotonic()
    with CachedClient(tmp_path, deadline=1.0, default_interval=0, backoff=0) as client:
        with pytest.raises(HttpFailure, match="within the request's deadline of 1 s"):
            client.request("GET", base + path)
        assert client.sent == 1  # past the deadline: no retry
    assert time.monotonic() - started < 3
    assert connections == [path] and cached_files(tmp_path) == []


def test_the_time_budget_stops_a_request_in_flight(tmp_path, trickle):
    base, _ = trickle
    started = time.monotonic()
    with CachedClient(tmp_path, deadline=30, time_budget=0.6, default_interval=0) as client:
        with pytest.raises(OutOfTime):
            client.request("GET", base + "/body")
        assert client.out_of_time
    assert time.monotonic() - started < 3 and cached_files(tmp_path) == []


@respx.mock
def test_a_backoff_past_the_deadline_is_not_waited(tmp_path):
    route = respx.get(openalex.URL).mock(return_value=httpx.Response(503))
    sleeps = Sleeps()
    with (CachedClient(tmp_path, deadline=5, backoff=10, sleep=sleeps) as client,
          pytest.raises(HttpFailure, match=r"HTTP 503 from api\.openalex\.org; not retried: no complete answer")):
        client.request("GET", openalex.URL)
    assert route.call_count == 1 and sleeps == []


# --- the run's time budget --------------------------------------------------------------------

@respx.mock
def test_out_of_time_sends_nothing_more_but_reads_the_cache(tmp_path):
    now = [0.0]

    def slow(request):
        now[0] += 4  # each answer takes 4 s of the fake clock
        return httpx.Response(200, json={"profiles": []})

    route = respx.post(openreview.URL).mock(side_effect=slow)
    with CachedClient(tmp_path, time_budget=10, clock=lambda: now[0], sleep=Sleeps()) as client:
        for n in (1, 2):  # answered at 4 s and 8 s
            client.request("POST", openreview.URL, json_body={"ids": [f"~A_B{n}"]})
        with pytest.raises(OutOfTime):  # sent at 8 s, its answer read past 10 s: not kept
            client.request("POST", openreview.URL, json_body={"ids": ["~A_B3"]})
        with pytest.raises(OutOfTime):  # not sent
            client.request("POST", openreview.URL, json_body={"ids": ["~A_B4"]})
        assert route.call_count == 3 and client.out_of_time
        assert client.request("POST", openreview.URL, json_body={"ids": ["~A_B1"]}).from_cache
    assert len(cached_files(tmp_path)) == 2


@respx.mock
def test_max_seconds_stops_the_run_cleanly_and_a_rerun_resumes(tmp_path):
    routes = mock_all(respx.mock)
    run(tmp_path, sources=["openreview"])
    before = sum(r.call_count for r in routes.values())
    summary = run(tmp_path, max_seconds=0)  # spent at once: only the cache answers
    t = summary.tallies
    assert sum(r.call_count for r in routes.values()) == before and summary.sent == 0
    assert (t["openreview"].cached, t["openreview"].not_found, t["openreview"].out_of_time) == (4, 1, 0)
    assert t["orcid"].out_of_time == 3 and t["openalex"].out_of_time == 3 and t["orcid"].failed == 0
    assert summary.incomplete
    assert summary.stopped == ["out of time: the run's budget of 0 minutes is spent; 5 answered, 6 not asked; "
                               "everything fetched is cached: run the command again to resume"]
    again = run(tmp_path)
    assert not again.incomplete and again.tallies["orcid"].fetched == 2 and again.tallies["openreview"].cached == 4


@respx.mock
def test_cli_max_minutes(tmp_path, monkeypatch):
    mock_all(respx.mock)
    folder = tmp_path / "x.profiles"
    monkeypatch.setattr(fetch_module, "fetch_profiles",
                        lambda db, limit, **options: run(folder, **options))
    ran = cli("profiles", "fetch", "--db", tmp_path / "x.duckdb", "--max-minutes", "0")
    assert ran.returncode == 1
    assert "openreview: 5 requested, 0 fetched, 0 from cache, 0 not found, 0 failed, 5 not asked (out of time)" \
        in ran.stdout
    assert "run the command again to resume" in ran.stderr
    ran = cli("profiles", "fetch", "--db", tmp_path / "x.duckdb", "--max-minutes", "5")
    assert ran.returncode == 0 and "not asked" not in ran.stdout + ran.stderr


# --- the run's caps on retries and on waiting ---------------------------------------------------

@respx.mock
def test_a_429_storm_stops_at_the_wait_cap(tmp_path):
    route = respx.post(openreview.URL).mock(return_value=httpx.Response(
        429, headers={"Retry-After": "7"}, json={"name": "RateLimitError", "message": "Too many requests"}))
    sleeps = Sleeps()
    summary = run(tmp_path, sources=["openreview"], openreview_batch=1, sleep=sleeps, max_retry_wait=20)
    t = summary.tallies["openreview"]
    # 7 + 7 s waited; a third wait would pass 20 s: that batch and every later one fail at their first 429
    assert sleeps == [7, 7] and route.call_count == 3 + 4
    assert t.failed == 5 and summary.incomplete and cached_files(tmp_path) == []
    assert t.errors == ["HTTP 429 from api2.openreview.net; not retried: this run waited its 20 s as Retry-After says"]
    assert summary.stopped == ["this run waited its 20 s as Retry-After says: later retryable errors failed at once; "
                               "rerun later for what failed"]


@respx.mock
def test_the_retries_of_a_run_are_capped(tmp_path):
    route = respx.post(openreview.URL).mock(return_value=httpx.Response(503))
    sleeps = Sleeps()
    summary = run(tmp_path, sources=["openreview"], openreview_batch=1, sleep=sleeps, max_retries=3)
    assert len(sleeps) == 3 and route.call_count == 4 + 4
    assert summary.tallies["openreview"].failed == 5
    assert summary.stopped[0].startswith("this run's 3 retries are spent")


# --- the OpenAlex page cap ---------------------------------------------------------------------

@respx.mock
def test_a_cursor_that_never_ends_is_cut_and_counted(tmp_path):
    routes = mock_all(respx.mock)
    page = load("openalex_page1.json")
    pages = iter(range(1, 10_000))
    routes["openalex"].mock(side_effect=lambda request: httpx.Response(
        200, json={**page, "meta": {**page["meta"], "next_cursor": f"c{next(pages)}"}}))
    summary = run(tmp_path, openalex_max_pages=4)
    t = summary.tallies["openalex"]
    assert routes["openalex"].call_count == 4
    reason = "OpenAlex cursor walk cut at 4 pages (the rest not fetched)"
    assert t.skipped[reason] == 1 and reason in t.errors
    assert t.failed == 0 and not summary.incomplete  # a rerun would be cut alike: a skip, not a failure
    records, _, _ = read_records(tmp_path, ("openalex",))
    assert {r["key"] for r in records} == {LENA, MIRA}  # the pages read are kept
    assert openalex.MAX_PAGES == 20


# --- redirects, malformed answers and cache files -------------------------------------------

@respx.mock
def test_a_redirect_is_refused_not_followed_nor_cached(tmp_path):
    moved = respx.get("https://elsewhere.example/authors").mock(return_value=httpx.Response(200, json={}))
    route = respx.post(openreview.URL).mock(return_value=httpx.Response(
        301, headers={"Location": "https://elsewhere.example/authors"}))
    summary = run(tmp_path, sources=["openreview"])
    t = summary.tallies["openreview"]
    assert route.call_count == 1 and moved.call_count == 0 and t.failed == 5
    assert t.errors == ["HTTP 301 from api2.openreview.net: a redirect to https://elsewhere.example/authors, "
                        "refused (redirects are not followed; the API may have moved)"]
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize("body", [b'{"results": ', b"<html>Bad gateway</html>", b"",
                                  b'{"profiles": ' + b"[" * 100 + b"]" * 100 + b"}"])
@respx.mock
def test_a_malformed_200_is_a_failure_not_cached(tmp_path, body):
    respx.post(openreview.URL).mock(return_value=httpx.Response(200, content=body))
    summary = run(tmp_path, sources=["openreview"])
    t = summary.tallies["openreview"]
    assert t.failed == 5 and t.errors[0].startswith("unexpected answer from api2.openreview.net: HTTP 200")
    assert cached_files(tmp_path) == []


@respx.mock
def test_a_404_that_is_not_json_is_not_cached(tmp_path):
    respx.get(url__startswith=orcid.BASE).mock(return_value=httpx.Response(404, text="<html>Not here</html>"))
    with CachedClient(tmp_path) as client, pytest.raises(HttpFailure, match="unexpected answer"):
        client.request("GET", orcid.url(MIRA, "educations"), cache_statuses=(200, 404))
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize("damage", ["garbage", "cut", "list", "status", "shape", "fifo"])
@respx.mock
def test_a_bad_cache_file_is_asked_again(tmp_path, damage):
    url = orcid.url(MIRA, "educations")
    route = respx.get(url).mock(return_value=httpx.Response(200, json=load(f"orcid_{MIRA}_educations.json")))
    with CachedClient(tmp_path, default_interval=0) as client:
        assert not client.request("GET", url, check=orcid.is_answer).from_cache
        path = client.path_for("GET", url)
    record = json.loads(path.read_text("utf-8"))
    path.unlink()
    if damage == "garbage":
        path.write_bytes(b"\xff\xfe\x00 not json")
    elif damage == "cut":
        path.write_text(json.dumps(record)[:100])
    elif damage == "list":
        path.write_text("[1, 2]")
    elif damage == "status":
        path.write_text(json.dumps({**record, "status": "200"}))
    elif damage == "shape":
        path.write_text(json.dumps({**record, "data": {"affiliation-group": "not a list"}}))
    else:
        os.mkfifo(path)  # reading it would block forever
    with CachedClient(tmp_path, offline=True) as client, pytest.raises(CacheMiss):
        client.request("GET", url, check=orcid.is_answer)  # offline: reported missing
    with CachedClient(tmp_path, default_interval=0) as client:
        answer = client.request("GET", url, check=orcid.is_answer)
        assert not answer.from_cache and route.call_count == 2
        assert answer.data == record["data"]
        assert client.request("GET", url, check=orcid.is_answer).from_cache


@respx.mock
def test_a_cache_file_of_the_earlier_format_is_still_read(tmp_path):
    route = respx.post(openreview.URL).mock(side_effect=openreview_answer)
    with CachedClient(tmp_path) as client:
        path = client.path_for("POST", openreview.URL, None, {"ids": ASKED})
    path.parent.mkdir(parents=True)
    text = json.dumps({"profiles": [], "count": 0})
    path.write_text(json.dumps({"method": "POST", "url": openreview.URL, "params": {}, "body": {"ids": ASKED},
                                "status": 200, "final_url": openreview.URL, "text": text}))
    with CachedClient(tmp_path) as client:
        answer = client.request("POST", openreview.URL, json_body={"ids": ASKED}, check=openreview.is_answer)
    assert answer.from_cache and answer.data == {"profiles": [], "count": 0} and route.call_count == 0


def test_bounds_are_wired_to_the_client(tmp_path):
    # the defaults the README states
    from talent_tracker.careers.profiles import http

    assert (http.REQUEST_DEADLINE, http.MAX_RETRIES, http.MAX_RETRY_WAIT) == (600, 200, 900)
    with CachedClient(tmp_path) as client:
        assert client.client.follow_redirects is False and client.run_ends is None
