"""Sample -> annotate -> import -> estimate, end to end on NeurIPS 2021, and the bad requests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from talent_tracker.annotations import ANNOTATION_COLUMNS
from talent_tracker.annotations.samples import CONTEXT_COLUMNS
from talent_tracker.build.pipeline import build

from conftest import PAPERLISTS, UNIVERSITIES, cli, copy_db, one, query


@pytest.fixture(scope="module")
def built(shared, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("estimates") / "base.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips"], years="2019-2021", universities=UNIVERSITIES)
    return db


@pytest.fixture
def db(built, tmp_path) -> Path:
    copy = tmp_path / "work.duckdb"
    copy_db(built, copy)
    return copy


def sample(db: Path, out: Path, *args: str):
    return cli("sample", "--db", db, "--venue", "neurips", "--years", "2021", "--output", out, *args)


def read_sheet(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.realdata
def test_same_seed_same_sample_and_a_sheet_to_fill(db, tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert sample(db, a, "--size", "150", "--seed", "7").returncode == 0
    assert sample(db, b, "--size", "150", "--seed", "7").returncode == 0
    assert sample(db, c, "--size", "150", "--seed", "8").returncode == 0
    rows_a, rows_c = read_sheet(a), read_sheet(c)
    assert rows_a == read_sheet(b) and len(rows_a) == 150
    assert [r["person_id"] for r in rows_a] != [r["person_id"] for r in rows_c]
    assert list(rows_a[0]) == [*ANNOTATION_COLUMNS, *CONTEXT_COLUMNS]
    assert all(r["origin_country"] == "" and r["papers"] and r["search_dblp"].startswith("https://dblp.org/")
               for r in rows_a)
    assert one(db, "SELECT count(*) FROM samples WHERE sample_id='neurips-2021-top20-person-150-seed7'") == 150


@pytest.mark.realdata
def test_paper_and_stratified_designs(db, tmp_path):
    paper = tmp_path / "paper.csv"
    assert sample(db, paper, "--design", "paper", "--size", "30", "--seed", "1").returncode == 0
    drawn = query(db, "SELECT count(DISTINCT paper), count(DISTINCT person_id) FROM samples "
                      "WHERE sample_id='neurips-2021-top20-paper-30-seed1'")[0]
    assert drawn[0] == 30 and drawn[1] == len(read_sheet(paper)) > 30
    strat = tmp_path / "strat.csv"
    assert sample(db, strat, "--design", "stratified", "--size", "200", "--seed", "1").returncode == 0
    strata = dict(query(db, "SELECT stratum, count(*) FROM samples WHERE sample_id='neurips-2021-top20-stratified-200-seed1' "
                            "GROUP BY 1"))
    assert set(strata) == {"top2", "top20"} and sum(strata.values()) == 200 and strata["top2"] >= 2


def fill_from_the_data(db: Path, sheet: Path) -> Path:
    """What an analyst would find for the sampled people, taken here from the data itself:
    the work country of their latest paper, and for students the graduate school (whose
    country also stands in for origin, for the test)."""
    rows = read_sheet(sheet)
    facts = {p: (w, g) for p, w, g in query(db, """
        SELECT p.person_id,
               (SELECT country FROM career_stages WHERE person_id = p.person_id AND stage = 'work'),
               (SELECT institution FROM career_stages WHERE person_id = p.person_id AND stage = 'graduate')
        FROM persons p""")}
    filled = sheet.with_name("filled.csv")
    with filled.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            work, graduate = facts.get(row["person_id"], (None, None))
            row["work_country"] = work or "could not determine"
            if graduate:
                row["graduate_institution"] = graduate
            writer.writerow(row)
    return filled


@pytest.mark.realdata
def test_sample_annotate_import_estimate(db, tmp_path):
    sheet = tmp_path / "sheet.csv"
    assert sample(db, sheet, "--size", "300", "--seed", "7").returncode == 0
    filled = fill_from_the_data(db, sheet)
    imported = cli("careers", "import", filled, "--db", db, "--universities", UNIVERSITIES)
    assert imported.returncode == 0, imported.stderr
    result = cli("estimate", "--db", db, "--venue", "neurips", "--years", "2021", "--tier", "top20", "--by", "work",
                 "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sample"]["sample_id"] == "neurips-2021-top20-person-300-seed7"
    us = next(f for f in data["figures"] if f["group"] == "US")
    N = data["population_size"]
    # a person sample and predictions for everyone: model-assisted by default
    assert data["method"] == "assisted" and us["method"] == "assisted"
    assert us["low"] < us["estimate"] < us["high"] and us["flag"] is None
    assert 0.3 < us["share"] < 0.7 and us["population_size"] == N
    assert all(f["low"] <= f["estimate"] <= f["high"] for f in data["figures"])
    plain = json.loads(cli("estimate", "--db", db, "--venue", "neurips", "--years", "2021", "--by", "work",
                           "--method", "sample", "--json").stdout)
    plain_us = next(f for f in plain["figures"] if f["group"] == "US")
    assert plain["method"] == "sample" and plain_us["method"] == "hypergeometric"
    # the predictions (every person's latest affiliation) carry most of the answer here
    assert us["high"] - us["low"] < 0.75 * (plain_us["high"] - plain_us["low"])
    graduate = json.loads(cli("estimate", "--db", db, "--venue", "neurips", "--years", "2021", "--by", "graduate",
                              "--json").stdout)
    assert graduate["figures"] and all(f["sample_size"] > 0 for f in graduate["figures"])


@pytest.mark.realdata
@pytest.mark.parametrize("tier", ["top20", "top2"])
def test_exact_work_counts_are_the_reports_with_bounds(db, tier):
    """Without a sample, work is counted exactly from the conference data, at any coverage, and
    `estimate`, `report` and the API count the same people."""
    result = cli("estimate", "--db", db, "--venue", "neurips", "--years", "2021", "--tier", tier, "--by", "work",
                 "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    report = json.loads(cli("report", "--db", db, "--venue", "neurips", "--years", "2021", "--tier", tier,
                            "--json").stdout)["work_countries"]
    assert data["method"] == "exact" and data["sample"] is None
    assert data["known"] == report["sample_size"] and data["population_size"] == report["population_size"]
    assert {f["group"]: f["estimate"] for f in data["figures"]} == {r[0]: r[2] for r in report["rows"]}
    unknown = data["population_size"] - data["known"]
    assert unknown == data["unknown"] > 0
    for f in data["figures"]:
        assert f["method"] == "exact" and (f["low"], f["high"]) == (f["estimate"], f["estimate"] + unknown)
        assert f["share_low"] <= f["share"] <= f["share_high"]
    from fastapi.testclient import TestClient

    from talent_tracker.web.app import create_app

    api = TestClient(create_app(db), base_url="http://127.0.0.1").get(
        "/api/estimates", params={"by": "work", "years": "2021", "tier": tier, "per_page": 500}).json()
    assert {r["group"]: r["figure"] for r in api["rows"]} == {f["group"]: f["estimate"] for f in data["figures"]}
    assert api["known"] == data["known"] and api["method"] == "exact"


@pytest.mark.realdata
def test_flow_and_retention(db, tmp_path):
    sheet = tmp_path / "sheet.csv"
    sample(db, sheet, "--size", "200", "--seed", "3")
    rows = read_sheet(sheet)
    filled = tmp_path / "flow.csv"
    with filled.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for i, row in enumerate(rows):
            # a made-up but valid mix: half from China, of whom a third stay
            row.update({"origin_country": "CN" if i % 2 else "US", "graduate_country": "US",
                        "work_country": "CN" if i % 6 == 1 else "US"})
            writer.writerow(row)
    assert cli("careers", "import", filled, "--db", db).returncode == 0
    data = json.loads(cli("estimate", "--db", db, "--venue", "neurips", "--years", "2021", "--by", "flow",
                          "--json").stdout)
    assert data["method"] == "sample" and data["sample"]["annotated"] == data["sample"]["drawn"] == 200
    paths = {f["group"]: f for f in data["figures"]}
    assert set(paths) == {"CN -> US -> US", "US -> US -> US", "CN -> US -> CN"}
    assert all(isinstance(f["estimate"], int) and f["low"] <= f["estimate"] <= f["high"] for f in paths.values())
    china = next(r for r in data["retention"] if r["origin"] == "CN")
    assert china["low"] < china["retention"] < china["high"] and abs(china["retention"] - 1 / 3) < 0.02
    # a sub-group: of the China-educated, where they work (a ratio whose interval allows for the
    # random number of China-educated drawn), the joint count hypergeometric
    within = json.loads(cli("estimate", "--db", db, "--venue", "neurips", "--years", "2021", "--by", "work",
                            "--within", "origin=CN", "--json").stdout)
    in_us = next(f for f in within["figures"] if f["group"] == "US")
    assert within["domain"]["sampled"] == 100 and in_us["method"] == "ratio" and in_us["domain_sampled"] == 100
    assert in_us["share_low"] < 2 / 3 < in_us["share_high"] and abs(in_us["share"] - 2 / 3) < 0.02
    ratio_width = in_us["share_high"] - in_us["share_low"]
    assert ratio_width > (in_us["high"] - in_us["low"]) / data["population_size"]  # a domain is a smaller sample
    # the same sample gives the net gain or loss per country, and the US's origin mix
    from talent_tracker.figures import analyses
    from talent_tracker.store.reading import Tracker
    f = analyses.filters_of(["neurips"], [2021], "top20")
    with Tracker(db) as tracker:
        net = {r[0]: r for r in analyses.net_flows(tracker, f).rows}
        mix = analyses.origin_mix(tracker, f, "US")
    assert net["US"][1] > 0 > net["CN"][1] and net["US"][2] <= net["US"][1] <= net["US"][3]
    assert mix.method == "sample" and {r[0] for r in mix.rows} == {"CN", "US"}
    assert abs(sum(r[4] for r in mix.rows) - 1) < 1e-3


@pytest.mark.realdata
@pytest.mark.parametrize("args, message", [
    (["sample", "--venue", "neurips", "--years", "2021", "--size", "99999", "--output", "{tmp}/s.csv"], "larger than the population"),
    (["sample", "--venue", "neurips", "--years", "1999", "--size", "10", "--output", "{tmp}/s.csv"], "is empty in this database"),
    (["sample", "--venue", "neurips", "--years", "2021", "--tier", "top5", "--output", "{tmp}/s.csv"], "'top5' is not one of 'top20', 'top2'"),
    (["sample", "--venue", "cvpr", "--years", "2021", "--output", "{tmp}/s.csv"], "unknown venue 'cvpr'"),
    (["sample", "--venue", "neurips", "--years", "2021", "--design", "snowball", "--output", "{tmp}/s.csv"], "'snowball' is not one of"),
    (["estimate", "--venue", "neurips", "--years", "2021", "--level", "1.5"], "strictly between 0 and 1"),
    (["estimate", "--venue", "neurips", "--years", "2021", "--by", "origin", "--method", "sample"],
     "no annotated sample of neurips 2021 top20: draw one (talent-tracker sample --venue neurips --years 2021"),
    (["estimate", "--venue", "neurips", "--years", "2021", "--by", "work", "--within", "origin=XX"], "sub-group"),
    (["estimate", "--venue", "neurips", "--years", "2021", "--by", "work", "--within", "origin=CN"],
     "no annotated sample of neurips 2021 top20"),
    (["estimate", "--venue", "neurips", "--years", "2021", "--by", "height"], "'height'"),
])
def test_bad_requests_are_one_line(db, tmp_path, args, message):
    result = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], "--db", db)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and result.stderr.strip().count("\n") == 0


@pytest.mark.realdata
def test_predicted_origin_strata_and_the_check_sheet(db, tmp_path):
    sheet = tmp_path / "po.csv"
    assert sample(db, sheet, "--design", "predicted-origin", "--size", "200", "--seed", "1").returncode == 0
    sid = "neurips-2021-top20-predicted-origin-200-seed1"
    strata = dict(query(db, "SELECT stratum, count(*) FROM samples WHERE sample_id = ? GROUP BY 1", [sid]))
    sizes = json.loads(one(db, "SELECT strata FROM sample_designs WHERE sample_id = ?", [sid]))
    assert {"US", "CN", "other"} <= set(strata) and set(strata) == set(sizes) and sum(strata.values()) == 200
    N = sum(sizes.values())
    assert all(abs(strata[h] - 200 * sizes[h] / N) <= 2 for h in strata if sizes[h] * 200 / N >= 2)
    # predictions are not shown on a random sample's sheet ...
    assert all(not r["stratum"].startswith("check") for r in read_sheet(sheet))
    # ... but are what a check sheet is about: the least certain first
    check = tmp_path / "check.csv"
    made = sample(db, check, "--check", "origin", "--size", "30")
    assert made.returncode == 0 and "not a sample" in made.stdout
    listed = read_sheet(check)
    assert len(listed) == 30 and all(r["stratum"].startswith("check origin: ") for r in listed)
    probabilities = [float(r["stratum"].split("p=")[1].split(",")[0]) if "p=" in r["stratum"] else 0.0
                     for r in listed]
    assert probabilities == sorted(probabilities)
    assert one(db, "SELECT count(*) FROM sample_designs WHERE design = 'check'") == 0
