"""The analyst's path, end to end, as an analyst walks it: build -> draw a sample -> fill a
partial sheet (blanks, could-not-determine, an institution the registry lacks, several stages,
confirmations, a bad row) -> import -> estimate every stage, the flow and a sub-group ->
compare -> publish -> the API -> (browser tier) the Compare and Flows pages.

Fast tier: a synthetic NeurIPS 2020 (minidata.edition) with its own published figures.
Realdata and browser tiers: NeurIPS 2022 from ../shared/data, a 300-person sample with 200
origins filled in, then work; and an imported value kept through another analyst's saves on
the real server."""

from __future__ import annotations

import csv
import json
import random
import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from talent_tracker.build.pipeline import build
from talent_tracker.store.workspace import path_for
from talent_tracker.web.app import create_app

import minidata
from conftest import cli, copy_db, query, serving
from pagecheck import CHECK, SCREENSHOTS

SAMPLED_ANALYSES = ("origin_countries", "graduate_countries", "flows", "retention", "net_flows", "us_origin_mix")


def read_sheet(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_sheet(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def estimate(db: Path, years: str, *args: str) -> dict:
    ran = cli("estimate", "--db", db, "--venue", "neurips", "--years", years, *args, "--json")
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def share_of(rows: list[dict], stage: str, country: str) -> float:
    values = [r[f"{stage}_country"] for r in rows if len(r[f"{stage}_country"]) == 2]
    return sum(v == country for v in values) / len(values)


def compare_rows(db: Path) -> list[dict]:
    ran = cli("compare", "--db", db, "--json")
    assert ran.returncode == 0, ran.stderr
    table = cli("compare", "--db", db)
    assert table.returncode == 0 and "difference" in table.stdout, table.stderr
    return json.loads(ran.stdout)["figures"]


def check_the_api(db: Path, years: str) -> None:
    """Every sample-based analysis, the estimates and the comparison answer (no 500)."""
    with TestClient(create_app(db), base_url="http://127.0.0.1") as api:
        for name in SAMPLED_ANALYSES:
            answer = api.get(f"/api/analyses/{name}", params={"venue": "neurips", "years": years})
            assert answer.status_code == 200, (name, answer.text[:300])
        for by in ("origin", "graduate", "work", "flow"):
            answer = api.get("/api/estimates", params={"by": by, "years": years})
            # a flow with no complete path yet still has its net flows (origin and work alone)
            assert answer.status_code == 200 and (answer.json()["rows"] or answer.json()["net"]), (by, answer.text)
        assert api.get("/api/compare").status_code == 200


def check_published(db: Path, site: Path) -> None:
    ran = cli("publish", "--db", db, "--output", site)
    assert ran.returncode == 0, ran.stderr
    for page in ("index.html", "flows.html", "compare.html"):
        assert (site / page).is_file(), page
    compared = list((site / "data" / "compare").glob("*.js"))
    assert compared and "figures" in compared[0].read_text(encoding="utf-8")


# --- fast: the synthetic edition ------------------------------------------------------------

ORIGINS = ("CN", "CN", "CN", "CN", "US", "US", "IN", "DE", "KR", "CN")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = minidata.edition(tmp_path_factory.mktemp("edition"))
    db = root / "edition.duckdb"
    build(root, db)
    return db


@pytest.mark.fast
def test_the_analysts_path_on_a_synthetic_edition(synthetic, tmp_path):
    db = copy_db(synthetic, tmp_path / "db.duckdb")
    sheet = tmp_path / "sheet.csv"
    drawn = cli("sample", "--db", db, "--venue", "neurips", "--years", "2020", "--size", "120", "--seed", "7",
                "--output", sheet)
    assert drawn.returncode == 0, drawn.stderr
    rows = read_sheet(sheet)
    assert len(rows) == 120 and all(r["origin_country"] == "" for r in rows)

    # a partial sheet: origins for 80, 'could not determine' for 2, graduate school for 40,
    # an institution the registry lacks (with its country, and as the trail prints places), blanks
    for i, row in enumerate(rows):
        if i < 80:
            row["origin_country"] = ORIGINS[i % 10]
        elif i < 82:
            row["origin_country"] = "could not determine"
        if i < 40:
            row["graduate_country"] = "US" if i % 3 else row["origin_country"]
    rows[5].update(origin_institution="Lycée Louis-le-Grand", origin_country="FR")
    rows[6].update(graduate_institution="ETS Montreal (CA)", graduate_country="")
    bad = dict(rows[0], person_id="nobody-at-all")
    imported = cli("careers", "import", write_sheet(tmp_path / "first.csv", [*rows, bad]), "--db", db)
    assert imported.returncode == 1 and imported.stderr.count("not imported") == 1
    assert "unknown person 'nobody-at-all'" in imported.stderr

    origin = estimate(db, "2020", "--by", "origin")
    sample = origin["sample"]
    assert (sample["drawn"], sample["annotated"], sample["undetermined"], sample["not_annotated"]) == (120, 80, 2, 38)
    assert origin["method"] == "assisted" and origin["population_size"] == 3 * minidata.EDITION_PAPERS
    china = next(f for f in origin["figures"] if f["group"] == "CN")
    annotated = share_of(rows[:80], "origin", "CN")
    assert china["share_low"] <= annotated <= china["share_high"] and china["flag"] is None
    assert isinstance(china["estimate"], int) and china["low"] <= china["estimate"] <= china["high"]
    graduate = estimate(db, "2020", "--by", "graduate")
    assert graduate["sample"]["annotated"] == 40 and {f["group"] for f in graduate["figures"]} >= {"US", "CA"}
    # nobody's work was entered: work is exact (the conference data), never from the sample
    work = estimate(db, "2020", "--by", "work")
    assert work["method"] == "exact" and work["known"] == work["population_size"]
    refused = cli("estimate", "--db", db, "--venue", "neurips", "--years", "2020", "--by", "work",
                  "--method", "sample")
    assert refused.returncode == 2 and "has an analyst's value for work yet (0 of 120)" in refused.stderr
    figures = compare_rows(db)
    cn = next(f for f in figures if f["measure"] == "origin country" and f["category"] == "CN")
    assert cn["low"] <= 100 * annotated <= cn["high"] and cn["method"] == "assisted"
    assert cn["tracker"] is not None and cn["difference"] == round(cn["tracker"] - 40, 1)
    abroad = next(f for f in figures if f["measure"].startswith("work abroad"))
    assert abroad["tracker"] is None and "not available yet" in abroad["status"]
    europe = next(f for f in figures if f["category"] == "Europe")
    assert europe["low"] is not None and "region_groups.csv" in europe["differences"]

    # the second sheet: work, 30 confirmed from the inferred affiliation, 30 entered
    rows = read_sheet(sheet)
    for i, row in enumerate(rows[:60]):
        row["work_country"] = "confirm" if i < 30 else ("US" if i % 2 else ORIGINS[i % 10])
    second = cli("careers", "import", write_sheet(tmp_path / "second.csv", rows), "--db", db)
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(path_for(db)) as con:
        confirmed = con.execute("SELECT count(*) FROM submissions WHERE confirmed = '[\"work\"]'").fetchone()[0]
    assert confirmed == 30
    # the first sheet's origins are still there: a blank cell keeps what was entered
    assert estimate(db, "2020", "--by", "origin")["sample"]["annotated"] == 80
    work = estimate(db, "2020", "--by", "work")
    assert work["method"] == "assisted" and work["sample"]["annotated"] == 60
    flow = estimate(db, "2020", "--by", "flow")
    assert flow["method"] == "sample" and flow["sample"]["annotated"] == 40  # all three stages known
    origins = [("FR" if i == 5 else ORIGINS[i % 10]) for i in range(60)]
    assert flow["figures"] and flow["net"] and flow["abroad"]["sampled"] == sum(
        1 for i in range(60) if origins[i] != work_of(rows[i], i))
    within = estimate(db, "2020", "--by", "work", "--within", "origin=CN")
    assert within["domain"]["sampled"] == sum(1 for i in range(60) if ORIGINS[i % 10] == "CN" and i != 5)
    assert all(f["method"] == "ratio" for f in within["figures"])
    figures = compare_rows(db)
    abroad = next(f for f in figures if f["measure"].startswith("work abroad"))
    assert abroad["low"] is not None and abroad["method"] == "sample"
    mix = next(f for f in figures if f["measure"] == "origin of those working in the US")
    assert mix["low"] is not None and mix["status"]
    report = cli("report", "--db", db, "--venue", "neurips", "--years", "2020")
    assert report.returncode == 0, report.stderr
    check_the_api(db, "2020")
    check_published(db, tmp_path / "site")


def work_of(row: dict, i: int) -> str:
    """The work country the second sheet gives row i (30 confirmed: the affiliation's)."""
    if i < 30:
        return next(c for name, c in minidata.PLACES if name in row["affiliation_trail"])
    return "US" if i % 2 else ORIGINS[i % 10]


# --- realdata and browser: NeurIPS 2022 -----------------------------------------------------

def inferred_work(row: dict) -> bool:
    """Whether the sheet shows an inferred work place with a country (`work: Name (CC) [source]`)."""
    return re.search(r"(^|; )work: [^;]*\([A-Z]{2}\) \[", row["inferred_facts"]) is not None


@pytest.fixture(scope="module")
def neurips_2022(shared, tmp_path_factory) -> dict:
    """NeurIPS 2022 as the data folder gives it (the schedule's affiliations, the published
    figures), a 300-person sample, and 200 origins filled in by a (test) analyst."""
    root = tmp_path_factory.mktemp("path2022")
    db = root / "n22.duckdb"
    build(shared, db, venue_names=["neurips"], years="2022")
    sheet = root / "sheet.csv"
    drawn = cli("sample", "--db", db, "--venue", "neurips", "--years", "2022", "--size", "300", "--seed", "11",
                "--output", sheet)
    assert drawn.returncode == 0, drawn.stderr
    rows = read_sheet(sheet)
    rng = random.Random(2022)
    for i, row in enumerate(rows[:200]):
        row["origin_country"] = rng.choices(("CN", "US", "IN", "KR", "DE", "FR", "CA", "IR"),
                                            (47, 18, 6, 5, 4, 3, 3, 2))[0]
        if i % 4 == 0:
            row["graduate_country"] = "US" if rng.random() < 0.5 else row["origin_country"]
    rows[0].update(origin_institution="Lycée Louis-le-Grand", origin_country="FR")
    rows[200]["origin_country"] = "could not determine"
    imported = cli("careers", "import", write_sheet(root / "origins.csv", rows), "--db", db)
    assert imported.returncode == 0, imported.stderr
    return {"db": db, "root": root, "sheet": sheet, "rows": rows}


@pytest.mark.realdata
def test_the_analysts_path_on_neurips_2022(neurips_2022, tmp_path):
    db, rows = copy_db(neurips_2022["db"], tmp_path / "n22.duckdb"), neurips_2022["rows"]
    origin = estimate(db, "2022", "--by", "origin")
    assert (origin["sample"]["drawn"], origin["sample"]["annotated"]) == (300, 200)
    assert origin["sample"]["undetermined"] == 1 and origin["sample"]["not_annotated"] == 99
    china = next(f for f in origin["figures"] if f["group"] == "CN")
    assert china["share_low"] <= share_of(rows[:200], "origin", "CN") <= china["share_high"]
    # with no work annotation no sample-based work figure appears, anywhere
    assert estimate(db, "2022", "--by", "work")["method"] == "exact"
    figures = compare_rows(db)
    cn = next(f for f in figures if f["population"] == "NeurIPS 2022 accepted authors"
              and f["measure"] == "origin country" and f["category"] == "CN")
    assert cn["tracker"] is not None and cn["low"] <= cn["tracker"] <= cn["high"] and cn["people"] == 200
    assert cn["difference"] == round(cn["tracker"] - 47, 1)
    work = [f for f in figures if f["population"] == "NeurIPS 2022 accepted authors" and f["measure"] == "work country"]
    assert work and all(f["method"] == "exact" for f in work)
    assert all(f["tracker"] is None for f in figures if f["measure"].startswith("work abroad")
               or "of those with origin IN" in f["measure"])
    top2 = next(f for f in figures if f["population"] == "NeurIPS 2022 oral authors")
    assert "labelled 'Highlighted'" in top2["tier_definition"] and "people" in top2["tier_definition"]
    for name in ("flows", "retention", "net_flows", "us_origin_mix"):
        result = json.loads(cli("report", "--db", db, "--venue", "neurips", "--years", "2022", "--json").stdout)
        assert name not in result or result[name]["method"] == "unavailable"
    check_published(db, tmp_path / "site")

    # then work, confirmed from the inferred affiliation for half of the annotated
    rows = read_sheet(neurips_2022["sheet"])
    confirmed = 0
    for i, row in enumerate(rows[:200]):
        # confirmed where the sheet shows an inferred work place; looked up where it shows none
        row["work_country"] = ("confirm" if inferred_work(row) else "US") if i % 2 else ""
        confirmed += row["work_country"] == "confirm"
    imported = cli("careers", "import", write_sheet(tmp_path / "work.csv", rows), "--db", db)
    assert imported.returncode == 0, imported.stderr
    assert f"{100} stage entries imported" in imported.stdout and confirmed > 90
    flow = estimate(db, "2022", "--by", "flow")
    assert flow["method"] == "sample" and flow["retention"] and flow["net"] and flow["abroad"]
    assert estimate(db, "2022", "--by", "work")["sample"]["annotated"] == 100
    check_the_api(db, "2022")
    check_published(db, tmp_path / "site2")


@pytest.mark.realdata
def test_an_imported_value_survives_another_analysts_saves_on_the_real_server(neurips_2022, tmp_path):
    db = copy_db(neurips_2022["db"], tmp_path / "n22.duckdb")
    person = neurips_2022["rows"][250]["person_id"]
    header = ",".join(list(neurips_2022["rows"][0])[:10])
    (tmp_path / "de.csv").write_text(f"{header}\n{person},,,,,,DE,,,\n", encoding="utf-8")
    assert cli("careers", "import", tmp_path / "de.csv", "--db", db, "--annotator", "alice").returncode == 0
    token = cli("users", "add", "bob", "--db", db).stdout.strip()
    reviewer = cli("users", "add", "carol", "--role", "reviewer", "--db", db).stdout.strip()
    settled = lambda: query(db, "SELECT country FROM annotations WHERE person_id = ? AND stage = 'work'",  # noqa: E731
                            [person])
    with serving(db, "--annotate") as base:
        bob = {"Authorization": f"Bearer {token}"}

        def save(**fields):
            version = httpx.get(f"{base}/api/annotations/{person}", headers=bob).json()["version"]
            answer = httpx.post(f"{base}/api/annotations/{person}", headers=bob, json={"version": version, **fields})
            assert answer.status_code == 200, answer.text

        save(work_country="US")
        assert settled() == []  # a disagreement, for review
        review = httpx.get(f"{base}/annotate/review", headers={"Authorization": f"Bearer {reviewer}"})
        assert person in review.text and "alice" in review.text
        save(work_undetermined=True)
        assert settled() == [("DE",)]
    history = json.loads(cli("careers", "history", person, "--db", db, "--json").stdout)
    assert [(h["annotator"], h["after"]) for h in history] == [
        ("alice", "DE"), ("bob", "US"), ("bob", "could not determine")]


@pytest.mark.browser
def test_the_compare_and_flows_pages_after_the_analysts_path(neurips_2022, browser, tmp_path):
    db = copy_db(neurips_2022["db"], tmp_path / "n22.duckdb")
    rows = read_sheet(neurips_2022["sheet"])
    for i, row in enumerate(rows[:200]):  # every stage of the 200: paths to draw
        row["work_country"] = "confirm" if inferred_work(row) else "US"
        row["graduate_country"] = "US" if i % 3 else neurips_2022["rows"][i]["origin_country"]
    assert cli("careers", "import", write_sheet(tmp_path / "work.csv", rows), "--db", db).returncode == 0
    with serving(db) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/flows")
        page.locator("body[data-ready]").wait_for(state="attached", timeout=60000)
        before = page.evaluate("document.body.dataset.ready")
        page.select_option("#years", "2022")
        page.locator(f"body[data-ready]:not([data-ready='{before}'])").wait_for(state="attached", timeout=60000)
        charts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('section.chart')].map(s => [
            s.dataset.chart, {svg: !!s.querySelector('.plot:not([hidden]) .main-svg'),
                              empty: s.querySelector('.empty')?.textContent || '',
                              cells: [...s.querySelectorAll('table.data td')].map(td => td.textContent)}]))""")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "analyst_flows_1400.png"), full_page=True)
        assert all(c["svg"] or c["empty"] for c in charts.values()), charts
        assert charts["flows"]["svg"] and charts["origin_countries"]["svg"]
        # the Sankey and the sampled shares read right: no label cut, shares in percent, intervals
        assert page.evaluate(CHECK)["problems"] == []
        assert page.locator("section[data-chart=origin_countries] g.errorbar").count() > 0
        # shares read as percentages, people as whole numbers: never a bare decimal
        cells = [c for chart in charts.values() for c in chart["cells"]]
        assert cells and not [c for c in cells if re.fullmatch(r"-?[\d,]*\.\d+", c)]
        page.goto(base + "/compare")
        page.locator("body[data-ready]").wait_for(state="attached", timeout=60000)
        table = page.evaluate("[...document.querySelectorAll('table.data tr')].map(tr => [...tr.cells].map(c => c.textContent))")
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        page.close()
    assert errors == []
    head = table[0]
    assert {"published %", "tracker %", "interval", "difference (points)", "n"} <= set(head)
    # one block per edition, population and measure, then a line per category
    block = next(i for i, r in enumerate(table) if len(r) == 1 and r[0].startswith(
        "2023 edition — NeurIPS 2022 accepted authors (top20), origin country"))
    origin = next(r for r in table[block + 1:] if r[0] == "CN")
    assert origin[head.index("tracker %")] != "—" and origin[head.index("difference (points)")].startswith(("+", "-"))
    assert origin[head.index("n")] == "200" and "–" in origin[head.index("interval")]


@pytest.mark.fast
def test_person_years_count_each_person_once_per_year(tmp_path):
    """The article's unit: authors counted once per year of the range (person-years)."""
    lists = tmp_path / "paperlists" / "nips"
    lists.mkdir(parents=True)
    for year, first in ((2019, 0), (2020, 6), (2021, 12)):  # authors 6-11 publish in 2019 and 2020, ...
        papers = [{"id": f"p{year}{i}", "title": f"Paper {i} of {year}", "track": "main", "status": "Poster",
                   "author": "; ".join(f"Person{k} Name{k}" for k in range(first + 3 * i, first + 3 * i + 3)),
                   "authorids": ";".join(f"~Person{k}_Name{k}1" for k in range(first + 3 * i, first + 3 * i + 3)),
                   "aff": "; ".join(minidata.PLACES[k % len(minidata.PLACES)][0]
                                    for k in range(first + 3 * i, first + 3 * i + 3))}
                  for i in range(4)]
        (lists / f"nips{year}.json").write_text(json.dumps(papers), encoding="utf-8")
    db = tmp_path / "py.duckdb"
    build(lists.parent, db)
    per_year = query(db, "SELECT year, count(DISTINCT person_id) FROM authorships WHERE venue = 'neurips' "
                         "AND accepted AND year BETWEEN 2019 AND 2021 GROUP BY 1")
    people = query(db, "SELECT count(DISTINCT person_id) FROM authorships WHERE venue = 'neurips' AND accepted "
                       "AND year BETWEEN 2019 AND 2021")[0][0]
    N = sum(n for _, n in per_year)
    assert people < N  # someone published in two of those years
    sheet = tmp_path / "py.csv"
    drawn = cli("sample", "--db", db, "--venue", "neurips", "--years", "2019-2021", "--unit", "person-year",
                "--size", str(N), "--output", sheet)
    assert drawn.returncode == 0 and f"{N:,} person-years of {N:,}" in drawn.stdout, drawn.stderr
    rows = read_sheet(sheet)
    assert len(rows) == people  # one row per person, however many of their years were drawn
    for row in rows:
        row["origin_country"] = "CN" if int(row["display_name"].split()[1][4:]) % 3 else "US"
    assert cli("careers", "import", write_sheet(tmp_path / "filled.csv", rows), "--db", db).returncode == 0
    result = estimate(db, "2019-2021", "--unit", "person-year", "--by", "origin")
    assert result["unit"] == "person-year" and result["population_size"] == N
    # every unit drawn: the counts are exact, in person-years
    years_of = dict(query(db, "SELECT person_id, count(DISTINCT year) FROM authorships WHERE venue = 'neurips' "
                              "AND accepted AND year BETWEEN 2019 AND 2021 GROUP BY 1"))
    expected = {}
    for row in rows:
        expected[row["origin_country"]] = expected.get(row["origin_country"], 0) + years_of[row["person_id"]]
    assert {f["group"]: (f["estimate"], f["low"], f["high"]) for f in result["figures"] if f["estimate"]} == {
        c: (k, k, k) for c, k in expected.items()}
    assert (N, people) == (36, 24)  # 4 papers x 3 authors x 3 years; 24 people, 12 of them in two years
    as_people = estimate(db, "2019-2021", "--by", "origin", "--method", "exact")
    assert as_people["population_size"] == people and as_people["unit"] == "person"
