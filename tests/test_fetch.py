"""`fetch` against a mocked GitHub (the HTTP layer only); the files served are real lists."""

from __future__ import annotations

import gzip
import hashlib
import json

import httpx
import pytest
import respx

from talent_tracker.build.pipeline import build
from talent_tracker.sources.download import (
    CONTENTS_URL,
    RAW_URL,
    REPOSITORY,
    Pin,
    fetch_paperlists,
    git_blob_id,
    load_pins,
)
from talent_tracker.venues import load_venues

import minidata
from conftest import PAPERLISTS, one

# the list the mocked server hands out: the synthetic NeurIPS 2018 of minidata.py
NIPS2018 = json.dumps(minidata.FILES["nips/nips2018.json.gz"]).encode()
HALF = len(NIPS2018) // 2
COMMIT = "a" * 40


def blob(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def raw_url(path: str, ref: str = COMMIT) -> str:
    return RAW_URL.format(repo=REPOSITORY, ref=ref, path=path)


@pytest.fixture
def neurips():
    return [load_venues().get("neurips")]


def fetch(neurips, tmp_path, **kwargs):
    kwargs.setdefault("pins", {"nips/nips2018.json": Pin(COMMIT, blob(NIPS2018))})
    with httpx.Client() as http:
        return fetch_paperlists(neurips, [2018], tmp_path, http=http, backoff=0, **kwargs)


@pytest.mark.fast
@respx.mock
def test_pinned_download_is_verified_and_builds(neurips, tmp_path):
    route = respx.get(raw_url("nips/nips2018.json")).mock(return_value=httpx.Response(200, content=NIPS2018))
    [result] = fetch(neurips, tmp_path)
    assert result.status == "downloaded" and route.call_count == 1
    dest = tmp_path / "paperlists/nips/nips2018.json"
    assert dest.read_bytes() == NIPS2018 and not dest.with_name("nips2018.json.part").exists()
    db = tmp_path / "t.duckdb"
    build(tmp_path, db)  # the cache is a data folder for `build`
    assert one(db, "SELECT count(*) FROM papers WHERE accepted") == len(minidata.FILES["nips/nips2018.json.gz"])
    # a second run finds the verified file and asks nothing
    [again] = fetch(neurips, tmp_path)
    assert again.status == "cached" and route.call_count == 1


@pytest.mark.fast
@respx.mock
def test_interrupted_download_resumes_with_a_range_request(neurips, tmp_path):
    part = tmp_path / "paperlists/nips/nips2018.json.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(NIPS2018[:HALF])
    route = respx.get(raw_url("nips/nips2018.json")).mock(
        return_value=httpx.Response(206, content=NIPS2018[HALF:]))
    [result] = fetch(neurips, tmp_path)
    assert result.status == "downloaded"
    assert route.calls.last.request.headers["Range"] == f"bytes={HALF}-"
    assert (tmp_path / "paperlists/nips/nips2018.json").read_bytes() == NIPS2018


@pytest.mark.fast
@respx.mock
def test_transient_failures_are_retried(neurips, tmp_path):
    route = respx.get(raw_url("nips/nips2018.json")).mock(side_effect=[
        httpx.Response(503), httpx.ConnectError("connection reset"), httpx.Response(429),
        httpx.Response(200, content=NIPS2018)])
    [result] = fetch(neurips, tmp_path)
    assert result.status == "downloaded" and route.call_count == 4


@pytest.mark.fast
@respx.mock
def test_giving_up_leaves_no_file(neurips, tmp_path):
    respx.get(raw_url("nips/nips2018.json")).mock(return_value=httpx.Response(502))
    [result] = fetch(neurips, tmp_path, attempts=3)
    assert result.status == "failed" and "gave up after 3 attempts" in result.detail
    assert not (tmp_path / "paperlists/nips/nips2018.json").exists()


@pytest.mark.fast
@respx.mock
def test_checksum_mismatch_is_refused(neurips, tmp_path):
    respx.get(raw_url("nips/nips2018.json")).mock(return_value=httpx.Response(200, content=NIPS2018[:-10] + b"corrupted!"))
    [result] = fetch(neurips, tmp_path)
    assert result.status == "failed" and "checksum mismatch" in result.detail
    folder = tmp_path / "paperlists/nips"
    assert list(folder.iterdir()) == []


@pytest.mark.fast
@respx.mock
def test_unpinned_ref_takes_the_blob_id_from_the_contents_api(neurips, tmp_path):
    api = respx.get(CONTENTS_URL.format(repo=REPOSITORY, path="nips/nips2018.json"), params={"ref": "main"}).mock(
        return_value=httpx.Response(200, json={"type": "file", "path": "nips/nips2018.json", "sha": blob(NIPS2018),
                                               "size": len(NIPS2018), "content": "", "encoding": "none"}))
    respx.get(raw_url("nips/nips2018.json", "main")).mock(return_value=httpx.Response(200, content=NIPS2018))
    [result] = fetch(neurips, tmp_path, ref="main")
    assert result.status == "downloaded" and api.call_count == 1
    assert git_blob_id(tmp_path / "paperlists/nips/nips2018.json") == blob(NIPS2018)


@pytest.mark.fast
@respx.mock
def test_missing_list_is_reported(neurips, tmp_path):
    respx.get(CONTENTS_URL.format(repo=REPOSITORY, path="nips/nips2018.json")).mock(return_value=httpx.Response(404))
    [result] = fetch(neurips, tmp_path, ref="main")
    assert result.status == "failed" and result.detail.startswith("not found:")


@pytest.mark.fast
def test_pins_cover_the_snapshot():
    pins = load_pins()
    assert len(pins) == 58
    assert pins["nips/nips2018.json"].commit == "a1972450ef1c4205c4eee2a2eb0725e9ad457696"


@pytest.mark.fast
def test_blob_id_is_the_one_git_computes(tmp_path):
    import subprocess

    path = tmp_path / "nips2018.json"
    path.write_bytes(NIPS2018)
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    assert git_blob_id(path) == expected == blob(NIPS2018)


@pytest.mark.realdata
@respx.mock
def test_universities_list_is_fetched_verified_and_used(tmp_path):
    from talent_tracker.institutions.registry import load_universities
    from talent_tracker.sources.download import (
        UNIVERSITIES_PATH,
        UNIVERSITIES_REPOSITORY,
        fetch_universities,
        load_source_pins,
    )

    content = gzip.decompress((PAPERLISTS.parent / "world-universities" / "world_universities_and_domains.json.gz").read_bytes())
    pin = next(p for p in load_source_pins() if p.repository == UNIVERSITIES_REPOSITORY)
    assert pin.blob == blob(content)  # the pinned version is the one the tests use
    respx.get(RAW_URL.format(repo=UNIVERSITIES_REPOSITORY, ref=pin.commit, path=UNIVERSITIES_PATH)).mock(
        side_effect=[httpx.Response(500), httpx.Response(200, content=content)])
    with httpx.Client() as http:
        result = fetch_universities(tmp_path, http=http, backoff=0)
    assert result.status == "downloaded"
    assert len(load_universities(tmp_path / "world-universities" / UNIVERSITIES_PATH)) == 10251


# --- the other sources: author files, official pages, the 2022 schedule --------------------

def _serve(pins_content: dict) -> list:
    """Source pins for `{dest: bytes}`, each served by the mocked GitHub at its commit."""
    from talent_tracker.sources.download import SourcePin

    pins = []
    for dest, content in pins_content.items():
        pin = SourcePin(dest, "someone/repo", COMMIT, f"data/{dest}", blob(content))
        respx.get(RAW_URL.format(repo=pin.repository, ref=COMMIT, path=pin.path)).mock(
            return_value=httpx.Response(200, content=content))
        pins.append(pin)
    return pins


@pytest.mark.fast
@respx.mock
def test_every_source_is_fetched_checked_and_built(tmp_path):
    """A cache made by fetch alone builds: the author files fill NeurIPS 2023, the
    schedule's pickled lists become posters.json and fill 2022; a file whose bytes are not
    the pinned ones is refused and removed; a pickle naming any global is never run."""
    import pickle

    from talent_tracker.sources.download import fetch_sources

    papers = tmp_path / "cache" / "paperlists" / "nips"
    papers.mkdir(parents=True)
    (papers / "nips2022.json").write_text(json.dumps([
        {"id": "a", "title": "Tides of Learning", "status": "Poster", "track": "main", "author": "Ada Lovelace"}]))
    (papers / "nips2023.json").write_text(json.dumps([
        {"id": "b", "title": "Waves", "status": "Poster", "track": "main", "author": "Grace Hopper"}]))
    author_file = json.dumps([{"id": "b", "author": "Grace Hopper", "authorids": "~Grace_Hopper1",
                               "or_profile": "~Grace_Hopper1", "aff": "Stanford University"}]).encode()
    pins = _serve({
        "paperlists-authors/nips/nips2023.json": author_file,
        "neurips2022-schedule/pp_names.pickle": pickle.dumps(["Tides of Learning"]),
        "neurips2022-schedule/pp_authors.pickle": pickle.dumps([["Ada Lovelace (University of Oxford)"]]),
    })
    cache = tmp_path / "cache"
    with httpx.Client() as http:
        results = fetch_sources(cache, http=http, pins=pins, backoff=0)
    assert [(r.path, r.status) for r in results] == [
        ("paperlists-authors/nips/nips2023.json", "downloaded"), ("neurips2022-schedule/pp_names.pickle", "downloaded"),
        ("neurips2022-schedule/pp_authors.pickle", "downloaded"), ("neurips2022-schedule/posters.json", "converted")]
    build(cache, tmp_path / "t.duckdb", venue_names=["neurips"], years="2022-2023")
    assert one(tmp_path / "t.duckdb", "SELECT list(country ORDER BY year) FROM authorships") == ["GB", "US"]

    # the bytes differ from the pin: refused, the part removed, nothing in place
    tampered = [pins[0].__class__(pins[0].dest.replace("2023", "2024"), *[getattr(pins[0], f) for f in
                                                                          ("repository", "commit", "path")],
                                  blob(b"other"))]
    with httpx.Client() as http:
        [refused] = fetch_sources(tmp_path / "other", http=http, pins=tampered, backoff=0)
    assert refused.status == "failed" and "checksum mismatch" in refused.detail
    assert not list((tmp_path / "other").rglob("*.json*"))

    # a pickle that would call a function (os.system) is refused when read, never run
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))

    evil = _serve({"neurips2022-schedule/pp_names.pickle": pickle.dumps(Evil()),
                   "neurips2022-schedule/pp_authors.pickle": pickle.dumps([["x (y)"]])})
    with httpx.Client() as http:
        *_, converted = fetch_sources(tmp_path / "evil", http=http, pins=evil, backoff=0)
    assert converted.status == "failed" and "refused" in converted.detail


@pytest.mark.fast
def test_source_pins_name_every_source_the_build_reads():
    from talent_tracker.sources.download import load_source_pins, venue_year_of

    pins = load_source_pins()
    served = {venue_year_of(p.dest) for p in pins}
    assert {("neurips", y) for y in (2019, 2020, 2021, 2022, 2023, 2024)} <= served
    assert {("iclr", 2021), ("iclr", 2022), ("iclr", 2023), ("icml", 2025), None} <= served
    assert all(len(p.commit) == 40 and len(p.blob) == 40 for p in pins)


@pytest.mark.realdata
def test_the_pins_are_the_bytes_of_the_shared_data():
    """Every pinned file but the schedule's pickles is, byte for byte, the gunzipped file of
    ../shared/data that the tests build from (the pickles, converted, are its posters.json:
    checked when the pins were taken)."""
    from talent_tracker.sources.download import load_source_pins

    data = PAPERLISTS.parent
    for pin in load_source_pins():
        if pin.dest.endswith(".pickle"):
            continue
        assert blob(gzip.decompress((data / (pin.dest + ".gz")).read_bytes())) == pin.blob, pin.dest
