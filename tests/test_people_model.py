"""The people model: trained by `people train`, used by a build, the same people on DuckDB
and on Spark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.people.clusters import bcubed
from talent_tracker.people.evaluation import THRESHOLDS
from talent_tracker.people.linkage import Model, site

from conftest import PAPERLISTS, UNIVERSITIES, cli, one, query

PEOPLE = "SELECT venue, year, paper_id, author_position, person_id FROM authorships ORDER BY ALL"


@pytest.fixture(scope="module")
def db_2021(shared, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("people2021") / "p.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips", "iclr"], years="2021", universities=UNIVERSITIES)
    return db


@pytest.mark.realdata
def test_spark_finds_the_same_people_as_duckdb(db_2021, tmp_path):
    spark_db = tmp_path / "spark.duckdb"
    result = cli("build", "--data", PAPERLISTS, "--db", spark_db, "--venue", "neurips", "--venue", "iclr",
                 "--years", "2021", "--universities", UNIVERSITIES, "--people-backend", "spark")
    assert result.returncode == 0, result.stderr[-2000:]
    duck, spark = query(db_2021, PEOPLE), query(spark_db, PEOPLE)
    assert [r[:4] for r in duck] == [r[:4] for r in spark]
    precision, recall, f1 = bcubed([r[4] for r in spark], [r[4] for r in duck])
    assert f1 >= 0.995, (precision, recall, f1)
    settings = json.loads(one(spark_db, "SELECT value FROM build_info WHERE key = 'settings'"))
    assert settings["people_backend"] == "spark"


@pytest.mark.realdata
def test_train_writes_a_model_a_build_uses(db_2021, tmp_path):
    model_file = tmp_path / "model.json"
    result = cli("people", "train", "--db", db_2021, "--output", model_file)
    assert result.returncode == 0, result.stderr
    model = Model.load(model_file)
    assert model.threshold in THRESHOLDS and model.provenance["trained_on"] == ["iclr 2021", "neurips 2021"]
    assert 0 < model.prior < 0.01
    # every comparison has one m and one u per level, and a shared co-author is evidence for
    levels = model.parameters["coauthors"]
    assert len(levels["m"]) == len(levels["u"]) == 4 and levels["m"][0] > levels["u"][0]
    db = tmp_path / "with-model.duckdb"
    built = cli("build", "--data", PAPERLISTS, "--db", db, "--venue", "icml", "--years", "2019",
                "--people-model", model_file)
    assert built.returncode == 0, built.stderr
    settings = json.loads(one(db, "SELECT value FROM build_info WHERE key = 'settings'"))
    assert settings["people_model"] == str(model_file) and settings["people_threshold"] == model.threshold


@pytest.mark.realdata
def test_training_needs_ids(tmp_path):
    db = tmp_path / "no-ids.duckdb"
    build(PAPERLISTS, db, venue_names=["icml"], years="2019")
    result = cli("people", "train", "--db", db, "--output", tmp_path / "m.json")
    assert result.returncode == 2 and "no venue-year of this database carries OpenReview ids" in result.stderr


@pytest.mark.realdata
def test_a_bad_model_file_or_backend_is_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    for args, message in ((["--people-model", bad], "not a readable people model"),
                          (["--people-backend", "oracle"], "'oracle' is not one of 'duckdb', 'spark'")):
        result = cli("build", "--data", PAPERLISTS, "--db", tmp_path / "x.duckdb", "--venue", "icml", "--years", "2019",
                     *args)
        assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.fast
def test_email_sites_come_from_the_public_suffix_list():
    # a hand-written rule lumped all of `re.kr`, `gc.ca` and `oz.au` together
    assert site("kaist.re.kr") != site("etri.re.kr")
    assert site("nrc-cnrc.gc.ca") != site("canada.gc.ca")
    assert site("cs.stanford.edu") == site("stanford.edu") == "stanford.edu"
    assert site("mails.tsinghua.edu.cn") == "tsinghua.edu.cn" and site("gmail.com") is None
