"""The tracker in a real browser (Debian's Chromium driven by Playwright), served and published:
the compare page, the API, escaping. Every page as a reader sees it: test_pages.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conftest import ROOT, cli

ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(full_db):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "talent_tracker.cli", "serve", "--db", str(full_db),
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the access log
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/api/meta", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("the server did not start (run talent-tracker serve by hand to see why)")
    yield url
    proc.terminate()
    proc.wait(10)


def visit(browser, url: str, shot: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    problems, outside = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "file://", "data:", "blob:")) else None)
    page.goto(url)
    # locators, not wait_for_function: its string predicates are eval'd, which the CSP refuses
    page.locator("body[data-ready]").wait_for(state="attached", timeout=60000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    return page, problems, outside


@pytest.mark.browser
@pytest.mark.parametrize("where", ["served", "published"])
def test_the_compare_page_puts_published_figures_beside_ours(browser, server, neurips_site, where):
    url = server + "/compare" if where == "served" else (neurips_site / "compare.html").as_uri()
    page, problems, outside = visit(browser, url, f"compare_{where}")
    assert problems == [] and outside == []
    assert json.loads(page.locator("section[data-chart=compare] .plot").get_attribute("data-rendered"))[1] > 0
    text = page.inner_text("section[data-chart=compare] table.data")
    assert "NeurIPS 2022 oral authors" in text and "NeurIPS 2019 accepted authors" in text
    # NeurIPS 2019 work has a figure now (the official accepted-papers page); a row without one
    # (origin: no annotated sample yet) says so, and what would give it, rather than faking it
    assert "not available yet" in text and "sample" in text
    assert page.locator("section[data-chart=compare] .main-svg").count() > 0
    page.close()


@pytest.mark.realdata
def test_api_json_twins_and_openapi(server):
    schema = httpx.get(server + "/openapi.json").json()
    assert "/api/analyses/{name}" in schema["paths"] and "/api/countries/{code}" in schema["paths"]
    result = httpx.get(server + "/api/analyses/work_countries", params={"venue": "neurips", "years": "2018"}).json()
    # 91% of NeurIPS 2018 authors have a country: partial, with its coverage, not "exact"
    assert result["method"] == "partial" and 0.9 < result["coverage"] < 0.95 and result["rows"][0][0] == "US"
    hq = httpx.get(server + "/api/analyses/work_countries", params={"venue": "neurips", "place": "hq"}).json()
    assert hq["filters"].endswith("(headquarters)")
    assert httpx.get(server + "/api/analyses/work_countries", params={"place": "moon"}).status_code == 422
    csv_text = httpx.get(server + "/api/analyses/top_institutions", params={"venue": "neurips", "format": "csv"}).text
    assert csv_text.startswith("institution,country,sector,people")
    bad = httpx.get(server + "/api/analyses/work_countries", params={"venue": "cvpr"})
    assert bad.status_code == 400 and "unknown venue" in bad.json()["detail"]
    assert httpx.get(server + "/api/analyses/nothing").status_code == 404


@pytest.mark.browser
def test_untrusted_text_is_escaped(server, browser):
    # a query string trying to inject markup comes back refused, or as data, never as markup
    evil = "<img src=x onerror=alert(1)>"
    assert httpx.get(server + "/api/countries/" + evil).status_code in (400, 404, 422)
    assert httpx.get(server + "/countries/" + evil).status_code == 422  # longer than a country code
    page, problems, _ = visit(browser, server + "/countries/%3Cb%3E", "escape")
    assert page.evaluate("document.querySelectorAll('main b, header b').length") == 0
    assert page.evaluate("document.body.dataset.country") == "<B>"  # kept as text, not markup
    assert problems == []
    page.close()


@pytest.mark.realdata
def test_report_in_the_terminal(full_db):
    result = cli("report", "--db", full_db, "--venue", "neurips", "--years", "2018")
    assert result.returncode == 0, result.stderr
    assert "Where they work" in result.stdout and "United States" in result.stdout
    data = json.loads(cli("report", "--db", full_db, "--venue", "neurips", "--years", "2018", "--json").stdout)
    assert data["work_countries"]["rows"][0][0] == "US"
