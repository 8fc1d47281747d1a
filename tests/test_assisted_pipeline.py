"""NeurIPS 2021, end to end: before any annotation the origin, graduate school and flow
charts say what is missing and the command that supplies it (nothing inferred is shown in
their place); then draw a sample, annotate it from the real evidence, import it, and see
assisted and sampled estimates with intervals, in the JSON API and in the browser."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import httpx
import pytest

from talent_tracker.build.pipeline import build

from conftest import PAPERLISTS, UNIVERSITIES, cli, serving

CHARTS = ("origin_countries", "graduate_countries", "flows", "retention")
TRAIL_ENTRY = re.compile(r"(\d{4}): (.*) \(([A-Z]{2})\)$")


@pytest.fixture(scope="module")
def neurips(shared, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("assisted") / "neurips.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips"], years="2019-2021", universities=UNIVERSITIES)
    return db


def annotate_from_the_evidence(sheet: Path) -> Path:
    """What an analyst reads off the sheet's own evidence: the affiliation trail. The earliest
    place stands for where they studied (origin and graduate school), the latest for work;
    nothing on the trail: could not determine."""
    with sheet.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        trail = sorted(m.groups() for entry in row["affiliation_trail"].split("; ")
                       if (m := TRAIL_ENTRY.match(entry.strip())))
        if not trail:
            row["notes"] = "could not determine"
            continue
        row.update(origin_country=trail[0][2], graduate_country=trail[0][2], work_country=trail[-1][2],
                   evidence_url=row["search_openreview"])
    filled = sheet.with_name("annotated.csv")
    with filled.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return filled


def api(base: str, name: str) -> dict:
    answer = httpx.get(f"{base}/api/analyses/{name}", params={"venue": "neurips", "years": "2021"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def flows_page(browser, base: str) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/flows")
    page.locator("body[data-ready]").wait_for(state="attached", timeout=60000)
    before = page.evaluate("document.body.dataset.ready")
    page.select_option("#years", "2021")
    page.locator(f"body[data-ready]:not([data-ready='{before}'])").wait_for(state="attached", timeout=60000)
    charts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('section.chart')].map(s => [
        s.dataset.chart, {method: s.dataset.method || null, text: s.querySelector('.chart-method').textContent,
                          svg: !!s.querySelector('.plot:not([hidden]) .main-svg'),
                          empty: s.querySelector('.empty:not([hidden])')?.textContent || "",
                          rows: s.querySelectorAll('table.data tr').length}]))""")
    page.close()
    assert errors == []
    return charts


@pytest.mark.browser
def test_no_sample_says_what_is_missing_then_estimates(neurips, browser, tmp_path):
    with serving(neurips) as base:
        for name in CHARTS:
            result = api(base, name)
            assert result["method"] == "unavailable" and result["rows"] == [], (name, result)
            said = " ".join(result["notes"])
            assert "talent-tracker sample --venue neurips --years 2021 --tier top20" in said, said
        page = flows_page(browser, base)
        for name in CHARTS:
            assert not page[name]["svg"] and page[name]["rows"] == 0, page[name]  # a sentence, never empty axes
            assert "talent-tracker sample" in page[name]["empty"], page[name]

        sheet = tmp_path / "sample.csv"
        drawn = cli("sample", "--db", neurips, "--venue", "neurips", "--years", "2021", "--size", "300", "--seed", "5",
                    "--output", sheet)
        assert drawn.returncode == 0, drawn.stderr
        imported = cli("careers", "import", annotate_from_the_evidence(sheet), "--db", neurips,
                       "--universities", UNIVERSITIES)
        assert imported.returncode == 0, imported.stderr

        methods = {"origin_countries": "assisted", "graduate_countries": "assisted", "flows": "sample",
                   "retention": "sample"}
        for name in CHARTS:
            result = api(base, name)
            assert result["method"] == methods[name], (name, result["notes"])
            assert result["sample_size"] >= 200 and result["population_size"] > 7000
            estimate, low, high = (result["columns"].index(c) for c in
                                   (("people", "low", "high") if name != "retention" else ("retention", "retention_low", "retention_high")))
            shown = [r for r in result["rows"] if r[estimate] is not None]
            assert shown and all(r[low] <= r[estimate] <= r[high] and r[low] < r[high] for r in shown)
            assert all(isinstance(r[estimate], int) for r in shown if name != "retention")  # people are whole
        origin = api(base, "origin_countries")
        us = next(r for r in origin["rows"] if r[0] == "US")
        assert 0.25 < us[4] < 0.6 and us[7] is None  # a share with an interval, not flagged
        # an origin country seen in fewer than 30 sampled people is flagged, its retention never scaled up
        retention = api(base, "retention")
        few = [r for r in retention["rows"] if r[4] < 30]
        assert few and all(r[1] is None and r[6].startswith("sample of") for r in few)
        assert all((r[1] is None) == bool(r[7]) for r in origin["rows"])
        page = flows_page(browser, base)
        for name in CHARTS:
            assert page[name]["method"] == methods[name] and page[name]["svg"], page[name]
            assert "estimated from a random sample" in page[name]["text"] and "n = " in page[name]["text"]
