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
    from talent_tracker.sources.download import UNIVERSITIES_PATH, UNIVERSITIES_REPOSITORY, fetch_universities

    content = gzip.decompress((PAPERLISTS.parent / "world-universities" / "world_universities_and_domains.json.gz").read_bytes())
    respx.get(CONTENTS_URL.format(repo=UNIVERSITIES_REPOSITORY, path=UNIVERSITIES_PATH)).mock(
        return_value=httpx.Response(200, json={"sha": blob(content), "size": len(content)}))
    respx.get(RAW_URL.format(repo=UNIVERSITIES_REPOSITORY, ref="master", path=UNIVERSITIES_PATH)).mock(
        side_effect=[httpx.Response(500), httpx.Response(200, content=content)])
    with httpx.Client() as http:
        result = fetch_universities(tmp_path, http=http, backoff=0)
    assert result.status == "downloaded"
    assert len(load_universities(tmp_path / "world-universities" / UNIVERSITIES_PATH)) == 10251
