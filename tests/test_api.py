"""The typed JSON API (web/api/): every list, filter, page and format checked against the
tables themselves.

Fast tier: the synthetic data of minidata.api_edition (`mini_api`, `mini_db`) for what needs
no real numbers. Realdata tier: the whole real database (`api`, `full_db`) for what does."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from talent_tracker.annotations import ANNOTATION_COLUMNS
from talent_tracker.build.pipeline import build
from talent_tracker.figures import analyses
from talent_tracker.web.api.search import plain_text
from talent_tracker.web.app import create_app
from talent_tracker.web.site import PAGES

import minidata
from conftest import ROOT, UNIVERSITIES, cli, copy_db, one, query

CAREER_SOURCES = {"annotation", "profile", "job_title", "trail", "affiliation", "email"}
# the analyses estimated from an annotated sample (nothing else stands in for them)
SAMPLED = {"origin_countries", "graduate_countries", "flows", "retention", "net_flows", "us_origin_mix"}


def client_for(db: Path, **options) -> TestClient:
    return TestClient(create_app(db, **options), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def api(full_db) -> TestClient:
    return client_for(full_db)


@pytest.fixture(scope="module")
def mini_db(tmp_path_factory) -> Path:
    """A synthetic NeurIPS 2020 (minidata.edition), the quirk lists of minidata.write and the
    names, affiliations and titles of minidata.API_FILES, built: for what needs no real
    numbers (the schema, searches, filters, paging and formats, refusals), in the fast tier."""
    root = minidata.api_edition(tmp_path_factory.mktemp("api"))
    db = root / "mini.duckdb"
    build(root / "paperlists", db)
    return db


@pytest.fixture(scope="module")
def mini_api(mini_db) -> TestClient:
    return client_for(mini_db)


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.text[:500])
    return response.json()


@pytest.mark.fast
def test_openapi_lists_the_api_and_the_analysis_names(mini_api):
    api = mini_api
    schema = ok(api.get("/openapi.json"))
    paths = [path for path, item in schema["paths"].items() if path.startswith("/api/") and "get" in item]
    assert len(paths) >= 10, paths
    for path in ("/api/analyses", "/api/persons", "/api/persons/{person_id}", "/api/institutions",
                 "/api/institutions/{institution_id}", "/api/papers", "/api/estimates", "/api/samples"):
        assert path in paths
    names = schema["components"]["schemas"]["AnalysisName"]["enum"]
    assert sorted(names) == sorted(analyses.ANALYSES)
    persons = {p["name"]: p for p in schema["paths"]["/api/persons"]["get"]["parameters"]}
    assert persons["format"]["schema"]["enum"] == ["json", "csv", "parquet"]
    assert persons["per_page"]["schema"]["maximum"] == 500 and persons["q"]["schema"]["anyOf"][0]["maxLength"]
    # typed answers: the list shape is a schema, not "any"
    assert set(schema["components"]["schemas"]["Page_PersonRow_"]["properties"]) == {
        "rows", "total", "page", "per_page", "next"}


@pytest.mark.realdata
def test_every_analysis_is_listed_and_returns_rows(api):
    listed = ok(api.get("/api/analyses"))
    assert listed["total"] == len(listed["rows"]) == len(analyses.ANALYSES)
    assert {r["name"] for r in listed["rows"]} == set(analyses.ANALYSES)
    for row in listed["rows"]:
        assert row["title"] and row["url"] == f"/api/analyses/{row['name']}"
        assert {p["name"] for p in row["parameters"]} == {"venue", "years", "tier", "place", "format"}
        # origin, graduate and flow figures are made per sampled population: they need years,
        # and without an annotated sample they say what is missing and how to get it
        result = ok(api.get(row["url"], params={"venue": "neurips", "years": "2021"}))
        if row["name"] in SAMPLED:
            assert result["method"] == "unavailable" and not result["rows"], row["name"]
            assert "talent-tracker sample --venue neurips --years 2021" in " ".join(result["notes"]), row["name"]
        else:
            assert result["rows"], row["name"]
        assert row["csv_url"] == row["url"] + "?format=csv"
        csv_text = api.get(row["csv_url"] + "&venue=neurips&years=2021").text
        assert csv_text.splitlines()[0] == ",".join(result["columns"])
    venue = next(p for p in listed["rows"][0]["parameters"] if p["name"] == "venue")
    assert venue["repeated"] is True
    place = next(p for p in listed["rows"][0]["parameters"] if p["name"] == "place")
    assert place["choices"] == ["lab", "hq"]
    # the name is an enum now, but an unknown one is still a 404 with one line
    missing = api.get("/api/analyses/nothing")
    assert missing.status_code == 404 and missing.json() == {"detail": "no analysis 'nothing'"}
    # the other query parameters behave as before
    assert api.get("/api/analyses/work_countries", params={"format": "xml"}).status_code == 400
    assert api.get("/api/analyses/work_countries", params={"venue": "cvpr"}).status_code == 400


@pytest.mark.realdata
def test_every_dashboard_page_links_the_json_of_its_charts(api):
    """Browser-free: each chart section of each page has a JSON link, which app.js points at
    the chart's API twin; that twin is listed and served."""
    listed = {r["name"]: r for r in ok(api.get("/api/analyses"))["rows"]}
    script = (ROOT / "src/talent_tracker/web/static/app.js").read_text()
    assert re.search(r'querySelector\("a\.json"\)\.href = apiUrl\(', script)
    assert "`/api/analyses/${name}?" in script and "`/api/countries/${" in script
    for key, (path, _, charts) in PAGES.items():
        html = ok_html(api.get(path if key != "countries" else "/countries/US"))
        sections = re.findall(r'<section class="chart" data-chart="([a-z_]+)">(.*?)</section>', html, re.S)
        assert [name for name, _ in sections] == charts, key
        for name, body in sections:
            assert '<a class="json"' in body, (key, name)
            if name == "country":
                assert ok(api.get("/api/countries/US"))["country"] == "US"
            elif name == "compare":
                assert "figures" in ok(api.get("/api/compare"))
            else:
                assert path in listed[name]["pages"], (key, name)
                answer = ok(api.get(listed[name]["url"], params={"years": "2021"}))
                assert answer["rows"] or (name in SAMPLED and answer["notes"]), (key, name)


def ok_html(response) -> str:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.mark.realdata
def test_person_search_finds_a_real_person(api, full_db):
    person_id, name = query(full_db, "SELECT person_id, display_name FROM persons WHERE n_papers >= 20 "
                                     "AND display_name SIMILAR TO '[A-Za-z .-]+' ORDER BY n_papers DESC, person_id "
                                     "LIMIT 1")[0]
    surname = name.split()[-1]
    found = ok(api.get("/api/persons", params={"q": surname.upper(), "per_page": 500}))
    assert person_id in [r["person_id"] for r in found["rows"]]
    # every name that holds the text, whatever its case (or its accents), and no other
    expected = one(full_db, "SELECT count(*) FROM persons WHERE contains(lower(display_name), ?)", [surname.lower()])
    assert found["total"] >= expected > 0
    assert all(surname.lower() in plain_text(r["display_name"]) for r in found["rows"])
    row = next(r for r in found["rows"] if r["person_id"] == person_id)
    n_papers, first, last = query(full_db, "SELECT n_papers, first_year, last_year FROM persons WHERE person_id = ?",
                                  [person_id])[0]
    assert (row["display_name"], row["n_papers"], row["first_year"], row["last_year"]) == (name, n_papers, first, last)
    assert row["url"] == f"/api/persons/{person_id}"
    # the latest affiliation is the latest paper's that has one
    latest = one(full_db, "SELECT max(year) FROM authorships WHERE person_id = ? AND (affiliation IS NOT NULL OR "
                          "institution_id IS NOT NULL OR country IS NOT NULL)", [person_id])
    assert row["latest_year"] == latest
    # most papers first
    papers = [r["n_papers"] for r in found["rows"]]
    assert papers == sorted(papers, reverse=True)
    # accents are optional: the name without them, or with them, finds the person
    accented, name = query(full_db, "SELECT person_id, display_name FROM persons WHERE n_papers >= 5 AND "
                                    "display_name <> strip_accents(display_name) AND "
                                    "strip_accents(display_name) SIMILAR TO '[A-Za-z .-]+' "
                                    "ORDER BY n_papers DESC, person_id LIMIT 1")[0]
    plain = one(full_db, "SELECT lower(strip_accents(?))", [name])
    for text in (plain, name.upper()):
        hits = ok(api.get("/api/persons", params={"q": text, "per_page": 500}))["rows"]
        assert accented in [r["person_id"] for r in hits], (text, name)


@pytest.mark.fast
@pytest.mark.parametrize("text", ["x", "ng", "Zhang", "son ", "mül", "ŁUK", "-hua", "qzqz"])
def test_person_search_matches_a_scan_of_every_name(mini_api, mini_db, text):
    """The search index (three letters at a time) finds exactly what reading every name would."""
    api = mini_api
    needle = plain_text(text.strip())
    names = query(mini_db, "SELECT person_id, display_name FROM persons")
    expected = {p for p, n in names if needle in plain_text(n or "")}
    assert bool(expected) == (text != "qzqz"), text  # the synthetic names hold every text but the last
    found = ok(api.get("/api/persons", params={"q": text, "per_page": 500}))
    assert found["total"] == len(expected)
    assert {r["person_id"] for r in found["rows"]} <= expected
    if len(expected) <= 500:
        assert {r["person_id"] for r in found["rows"]} == expected


@pytest.mark.fast
def test_person_search_filters_like_the_analyses(mini_api, mini_db):
    api = mini_api
    # orals of NeurIPS 2019 to 2021 and ICML 2021 in the synthetic data; other venues, years and tiers beside them
    params = {"venue": ["neurips", "ICML"], "years": "2019-2021", "tier": "top2", "per_page": 500}
    found = ok(api.get("/api/persons", params=params))
    expected = dict(query(mini_db, "SELECT person_id, count(*) FROM authorships WHERE accepted AND tier = 'top2' "
                                   "AND venue IN ('neurips', 'icml') AND year BETWEEN 2019 AND 2021 GROUP BY 1"))
    assert found["total"] == len(expected) > 0
    assert one(mini_db, "SELECT count(*) FROM authorships WHERE accepted AND tier = 'top2' AND venue = 'icml' "
                        "AND year = 2021") > 0
    for row in found["rows"]:
        assert row["papers_in_filter"] == expected[row["person_id"]]
    # a name within the filter
    row = found["rows"][0]
    narrowed = ok(api.get("/api/persons", params={**params, "q": row["display_name"]}))
    assert row["person_id"] in [r["person_id"] for r in narrowed["rows"]]
    assert narrowed["total"] <= found["total"]


@pytest.mark.realdata
def test_a_person_with_careers_provenance_and_papers(api, full_db):
    person_id = query(full_db, "SELECT person_id FROM careers GROUP BY 1 ORDER BY count(DISTINCT source) DESC, "
                               "count(*) DESC, person_id LIMIT 1")[0][0]
    detail = ok(api.get(f"/api/persons/{person_id}"))
    assert detail["person"]["person_id"] == person_id
    facts = query(full_db, "SELECT stage, source, institution_id, country, evidence FROM careers WHERE person_id = ?",
                  [person_id])
    assert len(detail["careers"]) == len(facts) >= 3
    assert sorted(map(repr, ((c["stage"], c["source"], c["institution_id"], c["country"], c["evidence"])
                             for c in detail["careers"]))) == sorted(map(repr, facts))
    for fact in detail["careers"]:
        assert fact["source"] in CAREER_SOURCES and fact["evidence"] and fact["confidence"] is not None
    # the selected fact of each stage is the one career_stages (and so every figure) uses
    chosen = {c["stage"]: (c["source"], c["institution_id"], c["evidence"]) for c in detail["careers"]
              if c["selected"]}
    assert chosen == {stage: (source, inst, evidence) for stage, source, inst, evidence in query(
        full_db, "SELECT stage, source, institution_id, evidence FROM career_stages WHERE person_id = ?", [person_id])}
    papers = query(full_db, "SELECT venue, year, paper_id FROM authorships WHERE person_id = ?", [person_id])
    assert sorted((p["venue"], p["year"], p["paper_id"]) for p in detail["papers"]) == sorted(papers)
    for paper in detail["papers"]:
        assert paper["title"] and isinstance(paper["accepted"], bool)
        assert paper["tier"] in ("top20", "top2", None) and (paper["tier"] is not None) == paper["accepted"]
    years = [p["year"] for p in detail["papers"]]
    assert years == sorted(years, reverse=True)


@pytest.mark.fast
def test_unknown_person_or_institution_is_a_404(mini_api):
    api = mini_api
    missing = api.get("/api/persons/~Nobody_At_All1")
    assert missing.status_code == 404 and missing.json() == {"detail": "no person '~Nobody_At_All1'"}
    assert api.get("/api/institutions/nowhere").status_code == 404
    assert api.get("/api/persons/" + "x" * 300).status_code == 422


@pytest.mark.fast
def test_pages_are_consistent(mini_api, mini_db):
    api = mini_api
    per_page = 10  # the synthetic NeurIPS 2020 has 30 oral authors: three pages
    params = {"venue": "neurips", "years": "2020", "tier": "top2", "per_page": per_page}
    first = ok(api.get("/api/persons", params=params))
    second = ok(api.get("/api/persons", params={**params, "page": 2}))
    expected = one(mini_db, "SELECT count(DISTINCT person_id) FROM authorships WHERE venue = 'neurips' AND "
                            "year = 2020 AND accepted AND tier = 'top2'")
    assert first["total"] == second["total"] == expected > 2 * per_page
    ids_1, ids_2 = [r["person_id"] for r in first["rows"]], [r["person_id"] for r in second["rows"]]
    assert len(ids_1) == len(ids_2) == per_page and not set(ids_1) & set(ids_2)
    assert first["next"].startswith("/api/persons?") and "page=2" in first["next"]
    assert ok(api.get(first["next"]))["rows"] == second["rows"]
    # every page together: each person once, the last page short and without a next
    last = math.ceil(expected / per_page)
    seen = []
    for page in range(1, last + 1):
        rows = ok(api.get("/api/persons", params={**params, "page": page}))
        seen += [r["person_id"] for r in rows["rows"]]
        assert (rows["next"] is None) == (page == last)
    assert len(seen) == len(set(seen)) == expected
    assert ok(api.get("/api/persons", params={**params, "page": last + 1}))["rows"] == []
    # papers page the same way
    papers_1 = ok(api.get("/api/papers", params={"venue": "iclr", "per_page": 10}))
    papers_2 = ok(api.get("/api/papers", params={"venue": "iclr", "per_page": 10, "page": 2}))
    assert papers_1["total"] == papers_2["total"] == one(mini_db, "SELECT count(*) FROM papers WHERE venue = 'iclr'")
    assert papers_2["rows"] and not {r["paper_id"] for r in papers_1["rows"]} & {r["paper_id"] for r in papers_2["rows"]}


@pytest.mark.fast
@pytest.mark.parametrize("path,params,key", [
    ("/api/persons", {"q": "surname1", "per_page": 100}, "person_id"),
    ("/api/papers", {"venue": "neurips", "years": "2020", "tier": "top2"}, "paper_id"),
    ("/api/institutions", {"country": "US"}, "institution_id"),
    ("/api/analyses", {}, "name"),
])
def test_csv_and_parquet_hold_the_rows_of_the_json(mini_api, path, params, key):
    api = mini_api
    data = ok(api.get(path, params=params))
    assert data["rows"]
    as_csv = api.get(path, params={**params, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    name = path.rsplit("/", 1)[1]
    assert as_csv.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    assert as_csv.headers["x-total-count"] == str(data["total"])
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(rows[0]) == list(data["rows"][0])
    assert [r[key] for r in rows] == [_as_csv(r[key]) for r in data["rows"]]
    for parsed, original in zip(rows, data["rows"], strict=True):
        assert parsed == {k: _as_csv(v) for k, v in original.items()}
    as_parquet = api.get(path, params={**params, "format": "parquet"})
    assert as_parquet.status_code == 200
    assert as_parquet.headers["content-disposition"] == f'attachment; filename="{name}.parquet"'
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == list(data["rows"][0])
    assert table.to_pylist() == [{k: _nested_as_text(v) for k, v in r.items()} for r in data["rows"]]


def _as_csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and isinstance(value, str) else text


def _nested_as_text(value):
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    return value


@pytest.mark.fast
def test_csv_cells_are_never_formulas(mini_api, mini_db):
    api = mini_api
    # affiliations in the data start with `=`, `@` or `+` (`=University of British Columbia`)
    person, name, affiliation = query(mini_db, """
        SELECT person_id, display_name, affiliation FROM (
            SELECT person_id, affiliation, row_number() OVER (PARTITION BY person_id ORDER BY year DESC,
                   accepted DESC, venue, paper_id, author_position) AS rank
            FROM authorships WHERE person_id IS NOT NULL
              AND (affiliation IS NOT NULL OR institution_id IS NOT NULL OR country IS NOT NULL))
        JOIN persons USING (person_id)
        WHERE rank = 1 AND regexp_matches(affiliation, '^[=+@]') ORDER BY person_id LIMIT 1""")[0]
    params = {"q": name, "per_page": 500}
    row = next(r for r in ok(api.get("/api/persons", params=params))["rows"] if r["person_id"] == person)
    assert row["latest_affiliation"] == affiliation
    rows = list(csv.reader(io.StringIO(api.get("/api/persons", params={**params, "format": "csv"}).text)))
    cell = next(r for r in rows if r[0] == person)[rows[0].index("latest_affiliation")]
    assert cell == "'" + affiliation
    for r in rows[1:]:
        assert not any(c[:1] in ("=", "+", "@") for c in r), r


@pytest.mark.fast
def test_bad_input_is_refused_in_one_line(mini_api):
    api = mini_api
    for path in ("/api/persons", "/api/papers", "/api/institutions", "/api/samples", "/api/analyses"):
        bad = api.get(path, params={"format": "xml"})
        assert bad.status_code == 400 and bad.json() == {"detail": "unknown format 'xml' (choose json, csv or parquet)"}
    assert api.get("/api/estimates", params={"by": "work", "format": "xml"}).status_code == 400
    for params, message in (({"years": "20x"}, "is not a year"), ({"years": "2019-2010"}, "comes after"),
                            ({"years": "1066"}, "between 1950 and 2100"), ({"venue": "cvpr"}, "unknown venue"),
                            ({"venue": "x" * 100}, "at most 40 characters")):
        for path in ("/api/persons", "/api/papers"):
            bad = api.get(path, params=params)
            assert bad.status_code == 400 and message in bad.json()["detail"], (path, params, bad.text)
    for params in ({"per_page": 501}, {"per_page": 0}, {"page": 0}, {"q": "x" * 201}, {"tier": "top5"},
                   {"venue": ["neurips"] * 11}):
        assert api.get("/api/persons", params=params).status_code == 422, params
    assert api.get("/api/institutions", params={"sector": "church"}).status_code == 422
    assert api.get("/api/institutions", params={"country": "USA"}).status_code == 422
    assert api.get("/api/estimates", params={"by": "religion"}).status_code == 422
    assert api.get("/api/estimates", params={"by": "work", "level": 1.5}).status_code == 422


@pytest.mark.fast
def test_institutions_search_and_filters(mini_api, mini_db):
    api = mini_api
    found = ok(api.get("/api/institutions", params={"country": "cn", "sector": "industry", "per_page": 500}))
    expected = query(mini_db, "SELECT institution_id FROM institutions WHERE country = 'CN' AND sector = 'industry'")
    assert found["total"] == len(expected) > 3
    assert {r["institution_id"] for r in found["rows"]} == {r[0] for r in expected}
    assert all(r["country"] == "CN" and r["sector"] == "industry" for r in found["rows"])
    people = [r["people"] for r in found["rows"]]
    assert people == sorted(people, reverse=True)
    # by name or alias, any case
    tsinghua = one(mini_db, "SELECT institution_id FROM institutions WHERE name = 'Tsinghua University'")
    assert tsinghua in [r["institution_id"] for r in ok(api.get("/api/institutions", params={"q": "TSINGHUA"}))["rows"]]
    alias_of = query(mini_db, "SELECT institution_id, aliases[1] FROM institutions WHERE len(aliases) > 0 "
                              "AND institution_id = 'google'")[0]
    assert alias_of[0] in [r["institution_id"] for r in
                           ok(api.get("/api/institutions", params={"q": alias_of[1].lower()}))["rows"]]
    # one institution, its counts as the authorships have them
    detail = ok(api.get(f"/api/institutions/{tsinghua}"))
    people, authorships = query(mini_db, "SELECT count(DISTINCT person_id), count(*) FROM authorships "
                                         "WHERE institution_id = ?", [tsinghua])[0]
    assert (detail["people"], detail["authorships"]) == (people, authorships) and people > 100
    assert detail["institution"]["country"] == "CN" and detail["institution"]["sector"] == "academia"
    assert len(detail["top_people"]) == 25
    top = detail["top_people"][0]
    assert top["authorships"] == one(mini_db, "SELECT count(*) FROM authorships WHERE institution_id = ? AND "
                                              "person_id = ?", [tsinghua, top["person_id"]])
    assert ok(api.get(top["url"]))["person"]["person_id"] == top["person_id"]
    row = next(r for r in found["rows"] if r["institution_id"] == expected[0][0])
    assert row["people"] == one(mini_db, "SELECT count(DISTINCT person_id) FROM authorships WHERE institution_id = ?",
                                [row["institution_id"]])
    # parents and children link both ways
    google = ok(api.get("/api/institutions/google"))
    assert google["parent"]["institution_id"] == one(mini_db, "SELECT parent FROM institutions "
                                                              "WHERE institution_id = 'google'")
    assert "google" in [c["institution_id"] for c in ok(api.get(google["parent"]["url"]))["children"]]


@pytest.mark.fast
def test_papers_filters_and_title_search(mini_api, mini_db):
    api = mini_api
    found = ok(api.get("/api/papers", params={"venue": "neurips", "years": "2020", "tier": "top2"}))
    assert found["total"] == one(mini_db, "SELECT count(*) FROM papers WHERE venue = 'neurips' AND year = 2020 "
                                          "AND accepted AND tier = 'top2'") > 0
    assert all(r["venue"] == "neurips" and r["year"] == 2020 and r["tier"] == "top2" for r in found["rows"])
    titled = ok(api.get("/api/papers", params={"q": "Transformer", "venue": "iclr", "years": "2020-2022",
                                               "per_page": 500}))
    assert titled["total"] == one(mini_db, "SELECT count(*) FROM papers WHERE venue = 'iclr' AND year BETWEEN 2020 "
                                           "AND 2022 AND contains(lower(title), 'transformer')") > 10
    assert all("transformer" in r["title"].lower() for r in titled["rows"])
    # without a tier, rejected submissions too
    every = ok(api.get("/api/papers", params={"venue": "iclr", "years": "2021", "per_page": 1}))
    assert every["total"] == one(mini_db, "SELECT count(*) FROM papers WHERE venue = 'iclr' AND year = 2021")
    assert every["total"] > one(mini_db, "SELECT count(*) FROM papers WHERE venue = 'iclr' AND year = 2021 "
                                         "AND accepted")
    french = ok(api.get("/api/papers", params={"country": "fr", "years": "2022", "tier": "top20"}))
    assert french["total"] == one(mini_db, "SELECT count(*) FROM papers WHERE year = 2022 AND accepted AND "
                                           "list_contains(countries, 'FR')") > 0
    # a paper's authors, in order, and who they are
    paper = found["rows"][0]
    authors = query(mini_db, "SELECT author_name, person_id FROM authorships WHERE venue = ? AND year = ? AND "
                             "paper_id = ? ORDER BY author_position",
                    [paper["venue"], paper["year"], paper["paper_id"]])
    assert list(zip(paper["authors"], paper["person_ids"], strict=True)) == authors


@pytest.mark.realdata
def test_estimates_without_a_sample_are_exact_or_say_why(api):
    exact = ok(api.get("/api/estimates", params={"by": "work", "years": "2021"}))
    assert exact["method"] == "exact" and exact["sample"] is None and 0.5 < exact["coverage"] < 1
    assert all(r["low"] == r["figure"] and r["high"] == r["figure"] + exact["population_size"] - exact["known"]
               for r in exact["rows"])
    # direct evidence of origin covers few people: counted, bounded, and too uncertain to show
    direct = ok(api.get("/api/estimates", params={"by": "origin", "years": "2021"}))
    assert direct["method"] == "exact" and direct["coverage"] < 0.1
    assert direct["rows"] and all(r["figure"] is None and r["flag"].startswith("only ") for r in direct["rows"])
    none = api.get("/api/estimates", params={"by": "origin", "years": "2021", "method": "sample"})
    assert none.status_code == 400 and "no annotated sample of neurips 2021 top20" in none.json()["detail"]
    assert api.get("/api/estimates", params={"by": "work", "years": "2021", "venue": "cvpr"}).status_code == 400


@pytest.mark.fast
def test_no_workspace_is_an_empty_list_of_samples(mini_db, tmp_path):
    db = tmp_path / "bare.duckdb"
    import shutil

    shutil.copy(mini_db, db)
    from talent_tracker.store.workspace import path_for
    assert not path_for(db).exists()
    bare = client_for(db)
    assert ok(bare.get("/api/samples")) == {"rows": [], "total": 0, "page": 1, "per_page": 50, "next": None}


@pytest.fixture(scope="module")
def sampled(full_db, tmp_path_factory):
    """A copy of the database with a sample of NeurIPS 2021 and an annotation."""
    root = tmp_path_factory.mktemp("api-sampled")
    db = copy_db(full_db, root / "s.duckdb")
    drawn = cli("sample", "--db", db, "--venue", "neurips", "--years", "2021", "--size", "120", "--seed", "3",
                "--output", root / "sheet.csv")
    assert drawn.returncode == 0, drawn.stderr
    person = query(db, "SELECT person_id FROM samples ORDER BY person_id LIMIT 1")[0][0]
    sheet = root / "annotated.csv"
    row = {c: "" for c in ANNOTATION_COLUMNS} | {"person_id": person, "origin_institution": "Stanford University",
                                                 "evidence_url": "https://example.org/cv"}
    sheet.write_text(",".join(ANNOTATION_COLUMNS) + "\n" + ",".join(row[c] for c in ANNOTATION_COLUMNS) + "\n")
    imported = cli("careers", "import", sheet, "--db", db, "--universities", UNIVERSITIES)
    assert imported.returncode == 0, imported.stderr
    return {"db": db, "person": person}


@pytest.mark.realdata
def test_samples_and_estimates_from_them(sampled):
    api = client_for(sampled["db"])
    samples = ok(api.get("/api/samples"))
    assert samples["total"] == 1
    sample = samples["rows"][0]
    assert (sample["venues"], sample["years"], sample["tier"], sample["design"], sample["size"], sample["seed"]) == \
        (["neurips"], [2021], "top20", "person", 120, 3)
    assert sample["people"] == sample["units"] == 120 and sample["annotated"] == 1 and sample["unit"] == "person"
    assert sample["population_size"] == one(sampled["db"], "SELECT count(DISTINCT person_id) FROM authorships WHERE "
                                                           "venue = 'neurips' AND year = 2021 AND accepted")
    parquet = pq.read_table(io.BytesIO(api.get("/api/samples", params={"format": "parquet"}).content)).to_pylist()
    assert parquet[0]["sample_id"] == sample["sample_id"] and parquet[0]["years"] == [2021]
    result = ok(api.get("/api/estimates", params={"by": "origin", "years": "2021", "method": "sample"}))
    assert result["method"] == "sample" and result["sample"]["sample_id"] == sample["sample_id"]
    assert (result["sample"]["drawn"], result["sample"]["annotated"], result["sample"]["not_annotated"]) == (120, 1, 119)
    assert result["population_size"] == sample["population_size"] and result["rows"]
    for row in result["rows"]:
        assert row["N"] == sample["population_size"] and row["n"] == 1
        assert row["low"] <= row["high"] and row["method"] and 0 < row["coverage"] <= 1
        assert (row["figure"] is None) == (row["flag"] is not None)
    assert sum(r["sampled"] for r in result["rows"]) == result["rows"][0]["n"]
    assisted = ok(api.get("/api/estimates", params={"by": "origin", "years": "2021"}))
    assert assisted["method"] == "assisted" and all(r["predicted"] is not None for r in assisted["rows"])
    # nobody's work was annotated: work is exact, and no sample-based work figure exists
    assert ok(api.get("/api/estimates", params={"by": "work", "years": "2021"}))["method"] == "exact"
    refused = api.get("/api/estimates", params={"by": "work", "years": "2021", "method": "sample"})
    assert refused.status_code == 400 and "has an analyst's value for work yet (0 of 120)" in refused.json()["detail"]
    flow = api.get("/api/estimates", params={"by": "flow", "years": "2021", "method": "sample", "format": "json"})
    assert flow.status_code == 400 and "origin and graduate and work" in flow.json()["detail"]
    as_csv = list(csv.DictReader(io.StringIO(api.get("/api/estimates", params={
        "by": "origin", "years": "2021", "method": "sample", "format": "csv"}).text)))
    assert [r["group"] for r in as_csv] == [r["group"] for r in result["rows"]]


@pytest.mark.realdata
def test_a_person_shows_annotations_except_to_blind_annotators(sampled):
    person = sampled["person"]
    facts = ok(client_for(sampled["db"]).get(f"/api/persons/{person}"))["careers"]
    annotated = [f for f in facts if f["source"] == "annotation"]
    assert len(annotated) == 1 and annotated[0]["institution_id"] == "stanford" and annotated[0]["selected"]
    assert "https://example.org/cv" in annotated[0]["evidence"]
    blind = client_for(sampled["db"], annotate=True, blind=True, universities=UNIVERSITIES)
    hidden = ok(blind.get(f"/api/persons/{person}"))["careers"]
    assert [f for f in hidden if f["source"] == "annotation"] == []
    assert len(hidden) == len(facts) - 1
    # with the annotation mode on, the form's autocomplete has its own path beside the institutions list
    autocomplete = ok(blind.get("/api/annotate/institutions", params={"q": "tsinghua"}))
    assert isinstance(autocomplete, list) and autocomplete[0]["name"] == "Tsinghua University"
    assert ok(blind.get("/api/institutions", params={"q": "tsinghua"}))["rows"][0]["name"] == "Tsinghua University"
    assert ok(blind.get("/api/persons", params={"q": "bengio"}))["total"] > 0
