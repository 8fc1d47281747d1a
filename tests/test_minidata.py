"""The fast tier: the build, the CLI (in-process) and the API (TestClient) on the synthetic
data folder of minidata.py, whose files reproduce each quirk of the real paper lists.
Their realdata twins are test_paperlists.py, test_cli_*.py and test_api.py."""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from talent_tracker.figures import analyses
from talent_tracker.web.app import create_app
from talent_tracker.web.site import PAGES

import minidata
from conftest import cli, copy_db, one, query

pytestmark = pytest.mark.fast


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    return minidata.build_mini(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="module")
def client(mini) -> TestClient:
    return TestClient(create_app(mini), base_url="http://127.0.0.1")


def names(db: Path, venue: str, year: int, paper_id: str) -> list[str]:
    return [n for (n,) in query(db, "SELECT author_name FROM authorships WHERE venue=? AND year=? AND paper_id=? "
                                    "ORDER BY author_position", [venue, year, paper_id])]


# --- every quirk of the files -------------------------------------------------------------

def test_every_file_is_a_venue_year(mini):
    got = query(mini, "SELECT venue, year FROM inputs ORDER BY 1, 2")
    assert got == sorted((("neurips" if rel.startswith("nips") else rel.split("/")[0]), int(rel[-9:-5] if rel.endswith(".json") else rel[-12:-8]))
                         for rel in minidata.FILES)


def test_authorships_equal_the_authors_listed(mini):
    listed = 0
    for _rel, records in minidata.FILES.items():
        for r in records:
            text = html.unescape(html.unescape(r.get("author", r.get("authors", ""))))
            sep = ";" if ";" in text else ","
            listed += len([n for n in text.split(sep) if n.strip() and n.strip() != "Jr"])
    # the folded oral copy of the 2017 paper brings no authorship of its own
    assert one(mini, "SELECT count(*) FROM authorships") == listed - 2


def test_semicolons_and_gzip(mini):
    assert names(mini, "neurips", 2018, "11001") == ["Toni Karvonen", "Chris J Oates", "Simo Sarkka"]


def test_comma_separated_authors(mini):
    assert names(mini, "neurips", 2019, "site_909d9fddd4") == ["Boaz Barak", "Chi-Ning Chou", "Zhixian Lei", "Tselil Schramm"]


def test_html_entities_are_unescaped_even_twice(mini):
    assert names(mini, "neurips", 2019, "site_0a1b2c3d4e")[0] == "Cyprien de Masson d'Autume"
    assert one(mini, "SELECT count(*) FROM authorships WHERE author_name LIKE '%&%'") == 0


def test_generational_suffix_is_not_an_author(mini):
    assert names(mini, "neurips", 1987, "2c0fd7c8c5") == ["J.L. WYATT Jr", "D.L. STANDLEY"]


def test_field_named_authors(mini):
    assert names(mini, "neurips", 2022, "NaW6T93F34m") == ["lingyu gu", "Yongqi Du", "yuan zhang"]


def test_per_author_fields_when_lists_line_up(mini):
    rows = query(mini, "SELECT author_name, openreview_id, affiliation, email_domain, job_title, alignment "
                       "FROM authorships WHERE paper_id='-440wKL2oJV' ORDER BY author_position")
    assert rows[0] == ("Aodong Li", "~Aodong_Li1", "University of California, Irvine", "uci.edu", "PhD student", "positional")
    assert rows[2][4] == "Full Professor"


def test_a_short_list_belongs_to_the_profiled_authors_in_order(mini):
    rows = query(mini, "SELECT author_name, affiliation, job_title, alignment FROM authorships "
                       "WHERE paper_id='-16dlERMZkO' ORDER BY author_position")
    assert rows == [("Janardhan Kulkarni", "Microsoft Research, Redmond", "Researcher", "profile_order"),
                    ("Yin Tat Lee", None, None, None),
                    ("Daogao Liu", "University of Washington, Seattle", "PhD student", "profile_order")]


def test_emails_from_author_ids(mini):
    assert query(mini, "SELECT email, email_domain, openreview_id FROM authorships WHERE author_name='Quoc V. Le'") == [
        ("qvl@google.com", "google.com", None)]


def test_answer_key_kept_apart_from_affiliation(mini):
    assert query(mini, "SELECT affiliation, source_institutions, source_countries FROM authorships "
                       "WHERE author_name='Chris J Oates'") == [
        ("Newcastle University, UK + Alan Turing Institute, UK", ["Newcastle University", "Alan Turing Institute"],
         ["United Kingdom", "United Kingdom"])]


def test_rejected_and_withdrawn_are_present_but_not_accepted(mini):
    rows = dict(query(mini, "SELECT status, accepted FROM papers WHERE venue='iclr' AND year=2021"))
    assert rows == {"Poster": True, "Reject": False, "Withdraw": False, "Desk Reject": False}


def test_broken_record_is_skipped_and_counted(mini):
    assert query(mini, "SELECT venue, year, record FROM skips WHERE scope='record'") == [("iclr", 2021, "#4")]


def test_missing_status_is_reported_not_counted(mini):
    assert query(mini, "SELECT venue, year, record FROM skips WHERE reason='missing status'") == [("icml", 2017, "#0")]
    assert one(mini, "SELECT count(*) FROM papers WHERE venue='icml' AND year=2017 AND accepted") == 1


def test_an_oral_session_copy_is_folded_into_its_paper(mini):
    assert query(mini, "SELECT paper_id, tier FROM papers WHERE venue='neurips' AND year=2017 AND accepted ORDER BY 1") == [
        ("9161", "top2"), ("9253", "top20")]
    assert one(mini, "SELECT count(*) FROM skips WHERE scope='merge' AND year=2017") == 1


def test_an_award_talk_is_excluded(mini):
    assert query(mini, "SELECT accepted, tier FROM papers WHERE title='Test of Time Award'") == [(False, None)]
    assert one(mini, "SELECT count(*) FROM skips WHERE scope='excluded' AND year=2017") == 1


def test_only_the_main_track_counts(mini):
    assert query(mini, "SELECT paper_id, accepted FROM papers WHERE venue='neurips' AND year=2022 ORDER BY 1") == [
        ("DsTrack0001", False), ("NaW6T93F34m", True)]


def test_proceedings_years_have_no_top2(mini):
    assert query(mini, "SELECT DISTINCT tier FROM papers WHERE year=1987") == [("top20",)]
    assert query(mini, "SELECT oral_known FROM venue_years WHERE venue='neurips' AND year=1987") == [(False,)]


@pytest.mark.parametrize("name, country, institution", [
    ("Aodong Li", "US", "uci"), ("Wei Zhang", "CN", "tsinghua"), ("Alan Turing", "GB", "oxford"),
    ("Toni Karvonen", "FI", "aalto"), ("Adams Wei Yu", "US", "cmu")])
def test_affiliations_and_domains_resolve(mini, name, country, institution):
    assert (country, institution) in query(mini, "SELECT country, institution_id FROM authorships WHERE author_name=?", [name])


def test_one_person_per_profile_and_across_venues(mini):
    # Wei Zhang: NeurIPS 2018 twice, NeurIPS 2021 and ICLR 2021 under ~Wei_Zhang1, ICML 2017
    persons = {p for (p,) in query(mini, "SELECT DISTINCT person_id FROM authorships WHERE author_name='Wei Zhang'")}
    assert "~Wei_Zhang1" in persons
    assert one(mini, "SELECT count(*) FROM authorships WHERE person_id IS NULL") == 0
    assert one(mini, "SELECT count(DISTINCT person_id) FROM authorships") == one(mini, "SELECT count(*) FROM persons")


# --- the CLI, in-process ------------------------------------------------------------------

def test_summary_json_counts(mini):
    result = cli("summary", "--db", mini, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sum(row["accepted_papers"] for row in data["venue_years"]) == one(mini, "SELECT count(*) FROM papers WHERE accepted")


def test_summary_table_fits_100_columns(mini):
    result = cli("summary", "--db", mini)
    assert result.returncode == 0 and "neurips" in result.stdout.lower()
    assert max(map(len, result.stdout.splitlines())) <= 100


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_holds_every_row(mini, tmp_path, fmt):
    out = tmp_path / f"authorships.{fmt}"
    result = cli("export", "authorships", "--db", mini, "--format", fmt, "--output", out)
    assert result.returncode == 0, result.stderr
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    elif fmt == "json":
        rows = json.loads(out.read_text("utf-8"))
    else:
        rows = pq.read_table(out).to_pylist()
    assert len(rows) == one(mini, "SELECT count(*) FROM authorships")
    assert {"venue", "year", "paper_id", "author_name", "country"} <= set(rows[0])


def test_report_in_the_terminal(mini):
    result = cli("report", "--db", mini, "--venue", "neurips", "--years", "2018")
    assert result.returncode == 0, result.stderr
    assert "United States" in result.stdout or "US" in result.stdout
    assert max(map(len, result.stdout.splitlines())) <= 100


def test_person_command(mini):
    result = cli("person", "~Wei_Zhang1", "--db", mini)
    assert result.returncode == 0, result.stderr
    # the profile's two papers and the id-less ones the model joins to them (the same
    # Tsinghua Wei Zhang, sharing co-authors): the command says what the database holds
    papers = one(mini, "SELECT count(DISTINCT (venue, year, paper_id)) FROM authorships WHERE person_id = "
                       "(SELECT person_id FROM authorships WHERE openreview_id = '~Wei_Zhang1' LIMIT 1)")
    assert papers >= 2 and f"Wei Zhang (~Wei_Zhang1): {papers} papers" in result.stdout
    assert "Tsinghua University (CN" in result.stdout and "Regret Bounds Without" in result.stdout


def test_venues_command_explains_the_labels():
    result = cli("venues")
    assert result.returncode == 0 and "Highlighted" in result.stdout


def test_resolve_command():
    result = cli("resolve", "Tsinghua University", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["institution_id"], answer["country"], answer["sector"]) == ("tsinghua", "CN", "academia")


def test_sample_then_exact_estimate(mini, tmp_path):
    db = copy_db(mini, tmp_path / "db.duckdb")
    sheet = tmp_path / "sheet.csv"
    drawn = cli("sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "3", "--seed", "7",
                "--output", sheet)
    assert drawn.returncode == 0, drawn.stderr
    assert len(list(csv.DictReader(sheet.open(encoding="utf-8")))) == 3
    estimate = cli("estimate", "--db", db, "--venue", "neurips", "--years", "2018", "--by", "work", "--json")
    assert estimate.returncode == 0, estimate.stderr
    answer = json.loads(estimate.stdout)
    # every author of NeurIPS 2018 has a work country (their one affiliation): exact counts
    expected = dict(query(db, "SELECT country, count(DISTINCT person_id) FROM authorships a JOIN papers p "
                              "USING (venue, year, paper_id) WHERE venue='neurips' AND year=2018 AND p.accepted GROUP BY ALL"))
    assert answer["method"] == "exact" and answer["population_size"] == sum(expected.values())
    assert {f["group"]: (f["estimate"], f["low"], f["high"]) for f in answer["figures"]} == {
        country: (n, n, n) for country, n in expected.items()}


@pytest.mark.parametrize("args, message", [
    (["summary", "--db", "missing.duckdb"], "missing.duckdb"),
    (["report", "--venue", "cvpr"], "unknown venue 'cvpr'"),
    (["export", "nosuchtable", "--output", "x.csv"], "nosuchtable"),
    (["build", "--data", "no/such/folder"], "no/such/folder"),
    (["sample", "--size", "0", "--output", "x.csv"], "--size"),
    (["report", "--years", "20x9"], "20x9"),
    (["estimate", "--venue", "neurips", "--years", "2018", "--level", "1.5"], "level"),
])
def test_errors_are_one_line_and_exit_2(tmp_path, args, message):
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr, result.stderr


def test_help_fits_100_columns():
    result = cli("--help")
    assert result.returncode == 0 and "build" in result.stdout
    assert max(map(len, result.stdout.splitlines())) <= 100


# --- the API and the pages, in-process ----------------------------------------------------

def test_meta_lists_the_venue_years(client):
    meta = client.get("/api/meta").json()
    assert {y["year"] for y in meta["venues"]["neurips"]} >= {1987, 2017, 2018, 2019, 2021, 2022}


@pytest.mark.parametrize("name", ["work_countries", "paper_countries", "top_institutions", "trends", "tier_comparison"])
def test_analyses_answer_with_rows(client, name):
    answer = client.get(f"/api/analyses/{name}", params={"venue": "neurips"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"]


def test_work_countries_count_the_people(client, mini):
    rows = client.get("/api/analyses/work_countries", params={"venue": "neurips", "years": "2018"}).json()["rows"]
    counts = {r[0]: r[2] for r in rows}
    expected = dict(query(mini, "SELECT country, count(DISTINCT person_id) FROM authorships a JOIN papers p "
                                "USING (venue, year, paper_id) WHERE venue='neurips' AND year=2018 AND p.accepted "
                                "GROUP BY ALL"))
    assert {k: counts.get(k) for k in expected} == expected


def test_the_analyses_bound_their_parameters_as_the_api_does(client):
    # one set of query parameters for the pages' analyses and the API's lists: venues are bounded too
    many = client.get("/api/analyses/work_countries", params={"venue": ["neurips"] * 11, "years": "2018"})
    assert many.status_code == 422, many.text
    assert client.get("/api/persons", params={"venue": ["neurips"] * 11}).status_code == 422
    ten = client.get("/api/analyses/work_countries", params={"venue": ["neurips"] * 10, "years": "2018"})
    assert ten.status_code == 200 and ten.json()["rows"]
    assert client.get("/api/analyses/work_countries", params={"place": "moon"}).status_code == 422


def test_analysis_as_csv(client):
    answer = client.get("/api/analyses/work_countries", params={"venue": "neurips", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert len(answer.text.splitlines()) >= 2


def test_persons_search_and_detail(client):
    found = client.get("/api/persons", params={"q": "Zhang"}).json()
    assert any(p["person_id"] == "~Wei_Zhang1" for p in found["rows"])
    detail = client.get("/api/persons/~Wei_Zhang1").json()
    assert {p["title"] for p in detail["papers"]} >= {"Scaling Laws for Everything", "Regret Bounds Without Tears"}


def test_papers_as_parquet(client, mini):
    listed = client.get("/api/papers", params={"venue": "neurips"}).json()
    answer = client.get("/api/papers", params={"venue": "neurips", "format": "parquet"})
    assert answer.status_code == 200
    table = pq.read_table(io.BytesIO(answer.content))
    assert table.num_rows == len(listed["rows"]) == listed["total"] == one(mini, "SELECT count(*) FROM papers WHERE venue='neurips'")
    assert set(table.column("paper_id").to_pylist()) == {r["paper_id"] for r in listed["rows"]}


@pytest.mark.parametrize("path, status", [
    ("/api/persons/nobody", 404), ("/api/analyses/nothing", 404), ("/api/papers?format=xml", 400),
    ("/api/analyses/work_countries?years=20x9", 400), ("/api/institutions?page=0", 422),
    ("/api/persons?q=" + "x" * 500, 422)])
def test_bad_requests_are_refused_with_a_message(client, path, status):
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_with_its_assets(client, page):
    path = PAGES[page][0]
    html = client.get(path)
    assert html.status_code == 200 and "/vendor/plotly.min.js" in html.text
    assert html.headers["content-security-policy"]


@pytest.mark.parametrize("asset, kind", [("/vendor/plotly.min.js", "javascript"),
                                         ("/vendor/topojson-client.min.js", "javascript"),
                                         ("/vendor/countries-110m.json", "json"),
                                         ("/static-vendor/topojson/world_110m.json", "json")])
def test_the_installed_web_assets_are_served(client, asset, kind):
    answer = client.get(asset)
    assert answer.status_code == 200 and kind in answer.headers["content-type"] and len(answer.content) > 1000


# --- publish, on one small database ----------------------------------------------------------

def test_publish_writes_the_site_with_its_map(tmp_path):
    db = minidata.build_mini(tmp_path, venue_names=["neurips"], years="2018")  # one venue-year: quick
    site = tmp_path / "site"
    result = cli("publish", "--db", db, "--output", site)
    assert result.returncode == 0, result.stderr
    assert (site / "index.html").is_file() and (site / "map.html").is_file()
    world = (site / "static" / "world.js").read_text("utf-8")
    assert world.startswith("window.TT_WORLD = ") and '"countries"' in world
    assert (site / "static" / "plotly.min.js").stat().st_size > 1_000_000
    data = [p for p in (site / "data").rglob("*") if p.is_file()]
    assert data and all(p.suffix == ".js" for p in data)


def test_gzip_and_plain_lists_read_alike(tmp_path):
    lists = minidata.write(tmp_path)
    plain = json.loads(gzip.decompress((lists / "nips" / "nips2018.json.gz").read_bytes()))
    assert plain == minidata.FILES["nips/nips2018.json.gz"]


def test_years_read_as_spans():
    # a note over 38 years names their runs, not each year
    assert analyses.year_spans([1987, 1988, 1989, 1991, 2023, 2024, 2021]) == "1987–1989, 1991, 2021, 2023–2024"
    assert analyses.year_spans([2019]) == "2019" and analyses.year_spans([]) == ""
