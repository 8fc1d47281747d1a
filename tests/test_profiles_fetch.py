"""`profiles fetch` against mocked OpenReview, ORCID and OpenAlex APIs (respx mocks HTTP only).

The answers are hand-written fixtures in the documented formats (tests/fixtures/profile_responses):
invented people, an alias username, unicode names, education and positions, ORCID links.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from talent_tracker.build.pipeline import build
from talent_tracker.careers.profiles import fetch as fetch_module
from talent_tracker.careers.profiles import folder_for, openalex, openreview, orcid
from talent_tracker.careers.profiles.facts import facts_from_profiles, load_facts
from talent_tracker.careers.profiles.fetch import INTERVALS, fetch_for
from talent_tracker.careers.profiles.http import CachedClient, CacheMiss, HttpFailure, retry_after_seconds
from talent_tracker.careers.profiles.records import read_records
from talent_tracker.cli import commands
from talent_tracker.institutions import Resolver
from talent_tracker.institutions.registry import load_registry
from talent_tracker.links import orcid_id

from conftest import PAPERLISTS, UNIVERSITIES, query

FIXTURES = Path(__file__).parent / "fixtures" / "profile_responses"
ASKED = ["~Ghost_Person1", "~Jiahui_Chen3", "~Lena_A_Okafor1", "~Mira_Okonkwo-Hale1", "~Soren_Aero1"]
LENA, MIRA, SOREN = "0000-0001-5109-3700", "0000-0003-1415-9269", "0000-0002-1694-233X"
NO_WAIT = {host: 0.0 for host in INTERVALS}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def asked_ids(request: httpx.Request) -> list[str]:
    return json.loads(request.content)["ids"]


def openreview_answer(request: httpx.Request, fixture: str = "openreview_search.json") -> httpx.Response:
    """Like the server: the profiles of the ids asked for (by any username), the others left out."""
    wanted = set(asked_ids(request))
    def usernames(profile: dict) -> set:
        return {profile.get("id")} | {n.get("username") for n in profile["content"]["names"]}

    profiles = [p for p in load(fixture)["profiles"] if isinstance(p, dict) and usernames(p) & wanted]
    return httpx.Response(200, json={"profiles": profiles, "count": len(profiles)})


def openalex_answer(request: httpx.Request) -> httpx.Response:
    cursor = request.url.params["cursor"]
    return httpx.Response(200, json=load("openalex_page1.json" if cursor == "*" else "openalex_page2.json"))


class Sleeps(list):
    """The injected sleep: remembers every wait asked for, waits for none."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def mock_all(router: respx.Router) -> dict[str, respx.Route]:
    routes = {
        "openreview": router.post(openreview.URL).mock(side_effect=openreview_answer),
        "openalex": router.get(openalex.URL).mock(side_effect=openalex_answer),
        "soren": router.get(url__startswith=f"{orcid.BASE}/{SOREN}/").mock(
            return_value=httpx.Response(404, json=load("orcid_not_found.json"))),
    }
    for who in (LENA, MIRA):
        for section in orcid.SECTIONS:
            routes[f"{who}/{section}"] = router.get(orcid.url(who, section)).mock(
                return_value=httpx.Response(200, json=load(f"orcid_{who}_{section}.json")))
    return routes


def run(folder: Path, ids=ASKED, **kwargs):
    kwargs.setdefault("intervals", NO_WAIT)
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("backoff", 0)
    kwargs.setdefault("openalex_per_page", 2)
    return fetch_for(ids, folder, **kwargs)


def sent(routes: dict[str, respx.Route]) -> int:
    return sum(r.call_count for r in routes.values())


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver(load_registry())  # the curated registry: cheap, and knows McGill or EPFL


# --- the whole flow ----------------------------------------------------------------------

@pytest.mark.fast
@respx.mock
def test_fetch_all_sources_and_summary(tmp_path):
    routes = mock_all(respx.mock)
    summary = run(tmp_path)
    t = summary.tallies
    assert (t["openreview"].requested, t["openreview"].fetched, t["openreview"].not_found) == (5, 4, 1)
    # Jiahui's iD fails its check digit: never asked for, counted; Lena's untitled first education is no origin
    assert t["orcid"].skipped == {"invalid ORCID iD on an OpenReview profile (format or check digit)": 1,
                                  "education without a degree in its title (origin not assumed)": 1}
    assert (t["orcid"].requested, t["orcid"].fetched, t["orcid"].not_found, t["orcid"].failed) == (3, 2, 1, 0)
    assert (t["openalex"].requested, t["openalex"].fetched, t["openalex"].not_found) == (3, 2, 1)
    assert not summary.incomplete and summary.hits == 0
    # ORCID: 2 requests each for Lena and Mira; for Søren the 404 of the first ends it
    assert routes["soren"].call_count == 1 and routes[f"{LENA}/educations"].call_count == 1
    assert "0000-0002-1825-0098" not in str([c.request.url for c in respx.calls])
    records, problems, present = read_records(tmp_path)
    assert present == {"openreview", "orcid", "openalex"} and not problems
    # an alias username is answered under the canonical id, and kept under the id asked for
    lena = [r for r in records if r["key"] == "~Lena_A_Okafor1" and r["kind"] == "position"]
    assert next(r["evidence"] for r in lena) == \
        "OpenReview profile ~Lena_Okafor1: PhD student at Technical University of Example (2021-now)"


@pytest.mark.fast
@respx.mock
def test_openreview_batches_of_1000(tmp_path):
    route = respx.post(openreview.URL).mock(side_effect=openreview_answer)
    ids = [f"~Person_Number{i}" for i in range(1500)] + ["~Mira_Okonkwo-Hale1"]
    summary = run(tmp_path, ids, sources=["openreview"])
    assert route.call_count == 2
    sizes = [len(asked_ids(call.request)) for call in route.calls]
    assert sizes == [1000, 501]
    assert all(call.request.headers["content-type"] == "application/json" for call in route.calls)
    assert summary.tallies["openreview"].fetched == 1 and summary.tallies["openreview"].not_found == 1500


@pytest.mark.fast
@respx.mock
def test_openalex_cursor_pagination(tmp_path):
    mock_all(respx.mock)
    run(tmp_path)
    calls = [c.request for c in respx.calls if c.request.url.host == "api.openalex.org"]
    assert [c.url.params["cursor"] for c in calls] == ["*", load("openalex_page1.json")["meta"]["next_cursor"]]
    assert calls[0].url.params["filter"] == f"orcid:{LENA}|{SOREN}|{MIRA}"
    assert calls[0].url.params["per-page"] == "2"
    records, _, _ = read_records(tmp_path, ("openalex",))
    # Mira's split OpenAlex profile on page 2 is kept too
    assert sorted(r["evidence"] for r in records if r["key"] == MIRA) == [
        "OpenAlex A5099999001: last known institution Harbourview University (seen 2019-2024)",
        "OpenAlex A5099999003: last known institution Scripps Institution of Oceanography (seen 2017-2018)"]


# --- retries, rate limits, failures ---------------------------------------------------------

@pytest.mark.fast
@respx.mock
def test_429_waits_as_retry_after_says(tmp_path):
    route = respx.post(openreview.URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"},
                       json={"name": "RateLimitError", "message": "Too many requests", "status": 429}),
        openreview_answer])
    sleeps = Sleeps()
    summary = run(tmp_path, sources=["openreview"], sleep=sleeps, backoff=1)
    assert route.call_count == 2 and sleeps == [7.0]
    assert summary.tallies["openreview"].fetched == 4 and not summary.incomplete


@pytest.mark.fast
def test_retry_after_as_an_http_date():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now.timestamp()) == 90
    assert retry_after_seconds("Sun, 01 Mar 2026 11:00:00 GMT", now.timestamp()) == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.fast
@respx.mock
def test_a_wait_longer_than_allowed_is_not_waited(tmp_path):
    # OpenAlex's daily budget: Retry-After is the time until midnight; rerun later instead
    respx.get(openalex.URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "40000"}, json={
        "error": "Rate limit exceeded", "message": "Insufficient budget. This request costs $0.0001"}))
    sleeps = Sleeps()
    with CachedClient(tmp_path, sleep=sleeps, max_wait=300) as client, pytest.raises(HttpFailure, match="rerun later"):
        client.request("GET", openalex.URL, params=openalex.params([LENA]))
    assert sleeps == []


@pytest.mark.fast
@respx.mock
def test_5xx_is_retried_with_backoff(tmp_path):
    route = respx.post(openreview.URL).mock(side_effect=[httpx.Response(502), httpx.ConnectError("reset"),
                                                         openreview_answer])
    sleeps = Sleeps()
    summary = run(tmp_path, sources=["openreview"], sleep=sleeps, backoff=2)
    assert route.call_count == 3 and sleeps == [2, 4]
    assert summary.tallies["openreview"].fetched == 4


@pytest.mark.fast
@respx.mock
def test_persistent_5xx_fails_that_batch_and_keeps_the_others(tmp_path):
    def answer(request):
        if "~Lena_A_Okafor1" in asked_ids(request):
            return httpx.Response(503, text="Service Unavailable")
        return openreview_answer(request)

    route = respx.post(openreview.URL).mock(side_effect=answer)
    summary = run(tmp_path, sources=["openreview"], openreview_batch=2, attempts=3)
    t = summary.tallies["openreview"]
    # batches: [Ghost, Jiahui] [Lena, Mira] [Soren]; the middle one fails 3 times
    assert route.call_count == 1 + 3 + 1
    assert (t.fetched, t.not_found, t.failed) == (2, 1, 2) and summary.incomplete
    assert t.errors == ["gave up after 3 attempts: HTTP 503 from api2.openreview.net"]
    records, _, _ = read_records(tmp_path)
    assert {r["key"] for r in records} == {"~Jiahui_Chen3", "~Soren_Aero1"}


@pytest.mark.fast
@respx.mock
def test_guest_refused_stops_asking_and_says_how_to_sign_in(tmp_path):
    route = respx.post(openreview.URL).mock(return_value=httpx.Response(403, json={
        "name": "ChallengeRequiredError", "message": "Complete the challenge to continue", "status": 403}))
    summary = run(tmp_path, sources=["openreview"], openreview_batch=2)
    t = summary.tallies["openreview"]
    assert route.call_count == 1 and t.failed == 5
    assert "ChallengeRequiredError" in t.errors[0] and "--openreview-token" in t.errors[0]


@pytest.mark.fast
@respx.mock
def test_token_is_sent_as_bearer_and_kept_out_of_the_cache(tmp_path):
    route = respx.post(openreview.URL).mock(side_effect=openreview_answer)
    run(tmp_path, sources=["openreview"], openreview_token="s3cret-token")
    assert route.calls[0].request.headers["Authorization"] == "Bearer s3cret-token"
    cached = list((tmp_path / "http").rglob("*.json"))
    assert cached and not any("s3cret" in p.read_text() for p in cached)


@pytest.mark.fast
@respx.mock
def test_answers_are_bounded(tmp_path):
    respx.get("https://api.openalex.org/authors").mock(return_value=httpx.Response(200, content=b"x" * 5000))
    with CachedClient(tmp_path, max_bytes=1000) as client, pytest.raises(HttpFailure, match="larger than 1,000 bytes"):
        client.request("GET", "https://api.openalex.org/authors")
    assert not list(tmp_path.rglob("*.json"))  # nothing half-read is cached


@pytest.mark.fast
@respx.mock
def test_an_odd_200_is_a_failure_not_a_cached_answer(tmp_path):
    respx.get(openalex.URL).mock(return_value=httpx.Response(200, json={
        "error": "Invalid query parameters error.", "message": "foo is not a valid field"}))
    with CachedClient(tmp_path) as client, pytest.raises(HttpFailure, match="unexpected answer"):
        client.request("GET", openalex.URL, params=openalex.params([LENA]), check=openalex.is_page)
    assert not list(tmp_path.rglob("*.json"))


# --- malformed answers -----------------------------------------------------------------------

@pytest.mark.fast
@respx.mock
def test_malformed_records_are_counted_and_good_ones_kept(tmp_path):
    def answer(request):
        response = load("openreview_malformed.json")
        response["profiles"][2]["content"]["history"].append(
            {"position": "Professor " * 300, "start": 2023, "institution": {"name": "Somewhere"}})  # 3,000 chars
        return httpx.Response(200, json=response)

    respx.post(openreview.URL).mock(side_effect=answer)
    summary = run(tmp_path, ["~Noah_Brandt1"], sources=["openreview"])
    t = summary.tallies["openreview"]
    assert t.skipped == {"profile without an id": 2, "history entry: not an object": 1,
                         "history entry: bad start year": 1, "history entry: ends before it starts": 1,
                         "history entry without an institution": 1,
                         "history entry: position longer than 2,000 characters": 1, "orcid is not text": 1}
    assert t.fetched == 1 and t.records == 2
    records, _, _ = read_records(tmp_path)
    assert [(r["role"], r["institution"]) for r in records] == [
        ("Research Scientist", "Bosch Center for Artificial Intelligence"), ("MS student", "Universität Heidelberg")]


@pytest.mark.fast
def test_malformed_orcid_and_openalex_entries_are_skipped():
    educations = load(f"orcid_{MIRA}_educations.json")
    educations["affiliation-group"].insert(0, "junk")
    bad = json.loads(json.dumps(educations["affiliation-group"][1]))
    bad["summaries"][0]["education-summary"]["start-date"]["year"]["value"] = "19xx"
    educations["affiliation-group"].append(bad)
    parsed = orcid.parse(MIRA, educations, {"affiliation-group": [{"summaries": [{"employment-summary": None}]}]})
    assert parsed.skipped == {"education: group without summaries": 1, "education: bad start year": 1,
                              "employment: summary without an employment-summary": 1}
    assert [r["role"] for r in parsed.records] == ["PhD", "BSc Geophysics"]
    page = load("openalex_page1.json")
    page["results"] += [None, {"orcid": MIRA}, {"id": "https://openalex.org/A1", "orcid": "0000-0002-1825-0097"}]
    page["results"][0]["last_known_institutions"].append({"display_name": None})
    parsed, found = openalex.parse_authors(page["results"], {LENA, MIRA})
    assert found == {LENA, MIRA} and len(parsed.records) == 2
    assert parsed.skipped == {"author without an id": 2, "author of no ORCID iD asked for": 1,
                              "last known institution: no institution name": 1}


@pytest.mark.fast
def test_orcid_check_digit():
    assert orcid_id("0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert orcid_id("https://orcid.org/0000-0002-1694-233x") == "0000-0002-1694-233X"
    assert orcid_id("0000-0002-1825-0098") is None  # the check digit is wrong
    assert orcid_id("0000-0002-1825") is None and orcid_id(None) is None


# --- cache, resume, offline ------------------------------------------------------------------

@pytest.mark.fast
@respx.mock
def test_second_run_is_served_from_the_cache(tmp_path):
    routes = mock_all(respx.mock)
    run(tmp_path)
    first = sent(routes)
    again = run(tmp_path)
    assert sent(routes) == first  # not one request more
    assert again.sent == 0 and again.hits == first
    t = again.tallies
    assert (t["openreview"].cached, t["orcid"].cached, t["orcid"].not_found, t["openalex"].cached) == (4, 2, 1, 2)
    assert t["openreview"].fetched == t["orcid"].fetched == t["openalex"].fetched == 0


@pytest.mark.fast
@respx.mock
def test_rerun_after_failures_asks_only_for_what_is_missing(tmp_path):
    routes = mock_all(respx.mock)
    down = {"openreview": True, "orcid": True}

    def flaky_openreview(request):
        if down["openreview"] and "~Mira_Okonkwo-Hale1" in asked_ids(request):
            return httpx.Response(500)
        return openreview_answer(request)

    routes["openreview"].mock(side_effect=flaky_openreview)
    for section in orcid.SECTIONS:
        routes[f"{LENA}/{section}"].mock(side_effect=lambda request, section=section: httpx.Response(503) if down[
            "orcid"] else httpx.Response(200, json=load(f"orcid_{LENA}_{section}.json")))
    first = run(tmp_path, openreview_batch=1, attempts=2)
    assert first.incomplete
    assert (first.tallies["openreview"].failed, first.tallies["orcid"].failed) == (1, 1)
    # Mira's profile (and so her ORCID link) was in the failed batch: only Lena and Søren were reached
    assert routes[f"{MIRA}/educations"].call_count == 0 and routes[f"{LENA}/employments"].call_count == 0

    down.update(openreview=False, orcid=False)
    before = {name: route.call_count for name, route in routes.items()}
    second = run(tmp_path, openreview_batch=1, attempts=2)
    asked = {name: route.call_count - before[name] for name, route in routes.items()}
    assert not second.incomplete
    # only the failed batch of OpenReview, Lena's ORCID record (educations failed first) and Mira's
    assert asked["openreview"] == 1 and asked_ids(routes["openreview"].calls[-1].request) == ["~Mira_Okonkwo-Hale1"]
    assert asked[f"{LENA}/educations"] == 1 and asked[f"{LENA}/employments"] == 1
    assert asked[f"{MIRA}/educations"] == 1 and asked[f"{MIRA}/employments"] == 1
    assert asked["soren"] == 0  # its 404 is an answer, kept
    # OpenAlex: the set of iDs grew by Mira's, so its one batch is a new request (2 pages)
    assert asked["openalex"] == 2
    assert second.tallies["openreview"].cached == 3 and second.tallies["openreview"].fetched == 1


@pytest.mark.fast
@respx.mock
def test_ctrl_c_keeps_what_was_fetched_and_a_rerun_continues(tmp_path):
    routes = mock_all(respx.mock)
    interrupt, asked = {"on": True}, []

    def answer(request):
        asked.append(asked_ids(request))
        if interrupt["on"] and "~Lena_A_Okafor1" in asked[-1]:
            raise KeyboardInterrupt
        return openreview_answer(request)

    routes["openreview"].mock(side_effect=answer)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, openreview_batch=2)
    assert len(asked) == 2  # no retry of an interrupt
    interrupt["on"] = False
    again = run(tmp_path, openreview_batch=2)
    # the interrupted batch and the one never reached; not the first
    assert asked[2:] == [["~Lena_A_Okafor1", "~Mira_Okonkwo-Hale1"], ["~Soren_Aero1"]]
    assert again.tallies["openreview"].cached == 1 and again.tallies["openreview"].fetched == 3


@pytest.mark.fast
@respx.mock
def test_offline_makes_no_request_and_reports_misses(tmp_path):
    routes = mock_all(respx.mock)
    empty = run(tmp_path / "empty", offline=True)
    assert sent(routes) == 0
    assert empty.tallies["openreview"].missing == 5 and empty.incomplete
    assert empty.tallies["orcid"].requested == 0  # no profiles, so no ORCID iDs to look up

    run(tmp_path / "full", sources=["openreview"])  # OpenReview only: ORCID and OpenAlex stay uncached
    before = sent(routes)
    offline = run(tmp_path / "full", offline=True)
    assert sent(routes) == before
    t = offline.tallies
    assert t["openreview"].cached == 4 and t["openreview"].missing == 0
    assert t["orcid"].missing == 3 and t["openalex"].missing == 3


@pytest.mark.fast
@respx.mock
def test_cache_files_are_whole_or_asked_again(tmp_path):
    url = orcid.url(MIRA, "educations")
    route = respx.get(url).mock(return_value=httpx.Response(200, json=load(f"orcid_{MIRA}_educations.json")))
    with CachedClient(tmp_path, offline=True) as client, pytest.raises(CacheMiss):
        client.request("GET", url)
    with CachedClient(tmp_path, default_interval=0) as client:
        assert not client.request("GET", url).from_cache
        path = client.path_for("GET", url)
        assert path.parent.name == "pub.orcid.org" and not list(tmp_path.rglob("*.part"))
        assert client.request("GET", url).from_cache and route.call_count == 1
        path.write_text(path.read_text()[:100])  # a file not written by this client (killed mid-copy)
        assert not client.request("GET", url).from_cache and route.call_count == 2
        assert client.request("GET", url).from_cache


@pytest.mark.fast
@respx.mock
def test_requests_to_a_host_are_spaced(tmp_path):
    # only JSON answers are kept, a 404 too (ORCID's is JSON)
    respx.get(url__startswith="https://pub.orcid.org/").mock(
        return_value=httpx.Response(404, json=load("orcid_not_found.json")))
    respx.get(url__startswith="https://api.openalex.org/").mock(return_value=httpx.Response(200, json={"results": []}))
    sleeps, now = Sleeps(), [100.0]
    with CachedClient(tmp_path, intervals={"pub.orcid.org": 0.5}, default_interval=2, sleep=sleeps,
                      clock=lambda: now[0]) as client:
        client.request("GET", orcid.url(MIRA, "educations"), cache_statuses=(404,))
        now[0] += 0.2
        client.request("GET", orcid.url(LENA, "educations"), cache_statuses=(404,))
        client.request("GET", openalex.URL)  # another host: its own clock
    assert sleeps == [pytest.approx(0.3)]


@pytest.mark.fast
def test_sources_are_checked(tmp_path):
    from talent_tracker.errors import UserError

    with pytest.raises(UserError, match="unknown source orcd"):
        run(tmp_path, sources=["orcd"])
    with pytest.raises(UserError, match="--sources openreview first"):
        run(tmp_path, sources=["orcid"])


# --- facts for the build ---------------------------------------------------------------------

@pytest.mark.fast
@respx.mock
def test_facts_have_the_careers_shape_and_exact_links(tmp_path, resolver):
    mock_all(respx.mock)
    run(tmp_path)
    persons = {"~Lena_A_Okafor1": "p-lena", "~Mira_Okonkwo-Hale1": "p-mira", "~Soren_Aero1": "p-soren",
               "~Jiahui_Chen3": "p-jiahui"}
    facts, problems = load_facts(tmp_path, persons, resolver)
    assert problems == []
    reference = facts_from_profiles(load("openreview_search.json")["profiles"], {"~Soren_Aero1": "p-soren"}, resolver)
    assert reference and all(fact.keys() == reference[0].keys() for fact in facts)
    assert {f["source"] for f in facts} == {"profile"}

    def of(person):
        return [(f["stage"], f["institution"], f["country"], f["start_year"], f["end_year"], f["evidence"])
                for f in facts if f["person_id"] == person]

    mira = of("p-mira")
    assert ("origin", "Universitetet i Tromsø", "NO", 2008, 2011,
            f"ORCID {MIRA}: education BSc Geophysics at Universitetet i Tromsø (2008-2011)") in mira
    assert ("work", "Scripps Institution of Oceanography", "US", 2017, 2018,
            "OpenAlex A5099999003: last known institution Scripps Institution of Oceanography (seen 2017-2018)") in mira
    # Lena: the untitled first education is not taken for an origin; the later one is graduate, less sure
    lena = [f for f in facts if f["person_id"] == "p-lena" and f["evidence"].startswith("ORCID")]
    assert [(f["stage"], f["start_year"], f["confidence"]) for f in lena] == [("graduate", 2021, 0.6),
                                                                             ("graduate", 2018, 0.9)]
    # the resolver's answer comes first (EPFL is in the registry); the source's country otherwise
    epfl = next(f for f in facts if f["person_id"] == "p-soren" and f["stage"] == "graduate")
    assert epfl["institution_id"] == "epfl" and epfl["country"] == "CH"
    # Jiahui's iD failed its check digit: no ORCID or OpenAlex fact, OpenReview's are kept
    assert {f["evidence"].split()[0] for f in facts if f["person_id"] == "p-jiahui"} == {"OpenReview"}


@pytest.mark.fast
def test_an_orcid_on_two_peoples_profiles_is_left_out(tmp_path, resolver):
    from talent_tracker.careers.profiles.records import write_records

    write_records(tmp_path, "openreview", [
        {"source": "openreview", "key": "~A_B1", "kind": "orcid", "orcid": MIRA},
        {"source": "openreview", "key": "~C_D1", "kind": "orcid", "orcid": MIRA}])
    write_records(tmp_path, "orcid", orcid.parse(MIRA, load(f"orcid_{MIRA}_educations.json"), None).records)
    facts, problems = load_facts(tmp_path, {"~A_B1": "p1", "~C_D1": "p2"}, resolver)
    assert facts == [] and problems == ["2 records left out: ORCID iD on the OpenReview profiles of several people"]
    facts, problems = load_facts(tmp_path, {"~A_B1": "p1", "~C_D1": "p1"}, resolver)  # one person: fine
    assert len(facts) == 2 and problems == []
    (tmp_path / "records" / "orcid.jsonl").write_text('{"broken\n', "utf-8")
    _, problems = load_facts(tmp_path, {"~A_B1": "p1"}, resolver)
    assert problems == [f"{tmp_path / 'records' / 'orcid.jsonl'}: 1 unreadable lines left out"]


# --- the command, on a real build ------------------------------------------------------------

@pytest.fixture(scope="module")
def iclr_db(shared, tmp_path_factory) -> Path:
    """ICLR 2021 (OpenReview ids for every author): about three seconds to build."""
    db = tmp_path_factory.mktemp("profiles") / "iclr.duckdb"
    build(PAPERLISTS, db, venue_names=["iclr"], years="2021", universities=UNIVERSITIES)
    return db


@pytest.mark.realdata
@respx.mock
def test_cli_fetch_then_build_uses_the_profiles(iclr_db, monkeypatch):
    # Yoshua Bengio's profile as the API answers it (the fixture of the `--profiles` tests)
    bengio = Path(__file__).parent / "fixtures" / "openreview_profiles" / "bengio.json"
    route = respx.post(openreview.URL).mock(side_effect=lambda request: openreview_answer(request, bengio))
    monkeypatch.setattr(fetch_module, "INTERVALS", NO_WAIT)
    runner = CliRunner()
    result = runner.invoke(commands.app, ["profiles", "fetch", "--db", str(iclr_db)])
    assert result.exit_code == 0, result.output
    people = query(iclr_db, "SELECT count(DISTINCT openreview_id) FROM authorships")[0][0]
    assert route.call_count == -(-people // 1000)
    assert f"openreview: {people:,} requested, 1 fetched, 0 from cache, {people - 1:,} not found, 0 failed" \
        in result.output
    assert (folder_for(iclr_db) / "records" / "openreview.jsonl").is_file()

    build(PAPERLISTS, iclr_db, venue_names=["iclr"], years="2021", universities=UNIVERSITIES)
    rows = query(iclr_db, "SELECT stage, institution_id, country, start_year, end_year, evidence FROM careers "
                          "WHERE person_id = '~Yoshua_Bengio1' AND source = 'profile' ORDER BY start_year")
    assert rows[0] == ("origin", "mcgill", "CA", 1982, 1986,
                       "OpenReview profile ~Yoshua_Bengio1: Undergrad student at McGill University (1982-1986)")
    assert ("work", "umontreal", "CA", 1993, None,
            "OpenReview profile ~Yoshua_Bengio1: Full Professor at University of Montreal (1993-now)") in rows
    assert query(iclr_db, "SELECT source FROM career_stages WHERE person_id = '~Yoshua_Bengio1' "
                          "AND stage = 'origin'") == [("profile",)]

    # offline, everything is cached: zero requests, exit 0
    again = runner.invoke(commands.app, ["profiles", "fetch", "--db", str(iclr_db), "--offline", "--sources", "openreview"])
    assert again.exit_code == 0 and route.call_count == -(-people // 1000)


@pytest.mark.fast
def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(commands.app, ["profiles", "fetch", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "database not found" in result.output


@pytest.mark.fast
@respx.mock
def test_orcid_ids_from_the_author_files_are_fetched_and_become_facts(tmp_path):
    """A build whose author files give Mira's ORCID iD: `profiles fetch --sources orcid`
    asks ORCID for it with no OpenReview records at all, and the next build turns her
    educations into career facts."""
    import gzip

    from talent_tracker.careers.profiles.fetch import fetch_profiles
    from talent_tracker.store.reading import Tracker

    data = tmp_path / "data"
    (data / "paperlists" / "nips").mkdir(parents=True)
    (data / "paperlists" / "nips" / "nips2023.json").write_text(json.dumps([
        {"id": "p1", "title": "Tides", "status": "Poster", "track": "main", "author": "Mira Okonkwo-Hale"}]), "utf-8")
    (data / "paperlists-authors" / "nips").mkdir(parents=True)
    (data / "paperlists-authors" / "nips" / "nips2023.json.gz").write_bytes(gzip.compress(json.dumps([
        {"id": "p1", "author": "Mira Okonkwo-Hale", "authorids": "~Mira_Okonkwo-Hale1",
         "or_profile": "~Mira_Okonkwo-Hale1", "orcid": f"https://orcid.org/{MIRA}"}]).encode()))
    db = tmp_path / "t.duckdb"
    build(data, db, venue_names=["neurips"], years="2023")
    for section in orcid.SECTIONS:
        respx.get(orcid.url(MIRA, section)).mock(
            return_value=httpx.Response(200, json=load(f"orcid_{MIRA}_{section}.json")))
    with Tracker(db) as tracker:
        summary = fetch_profiles(tracker, sources=["orcid"], intervals=NO_WAIT, sleep=Sleeps(), backoff=0)
    assert (summary.tallies["orcid"].requested, summary.tallies["orcid"].fetched) == (1, 1)
    build(data, db, venue_names=["neurips"], years="2023")
    facts = query(db, "SELECT stage, institution, country FROM careers WHERE person_id = '~Mira_Okonkwo-Hale1' "
                      "AND evidence LIKE 'ORCID%' ORDER BY stage")
    assert ("origin", "Universitetet i Tromsø", "NO") in facts
