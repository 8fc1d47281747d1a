"""The people model: trained by `people train`, used by a build, the same people on DuckDB
and on Spark."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_NAME_BLOCK
from talent_tracker.people.clusters import Mentions, bcubed, resolve_people
from talent_tracker.people.evaluation import THRESHOLDS
from talent_tracker.people.linkage import Model, features, site

from conftest import PAPERLISTS, UNIVERSITIES, cli, one, query, script

PEOPLE = "SELECT venue, year, paper_id, author_position, person_id FROM authorships ORDER BY ALL"


@pytest.fixture(scope="module")
def db_2021(shared, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("people2021") / "p.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips", "iclr"], years="2021", universities=UNIVERSITIES)
    return db


@pytest.mark.realdata
def test_spark_finds_the_same_people_as_duckdb(db_2021, tmp_path):
    spark_db = tmp_path / "spark.duckdb"
    checkpoints = set(Path(tempfile.gettempdir()).glob("talent-tracker-spark-*"))
    # in a process of its own, which ends as a build does (Spark's session lives as long as its process)
    result = script("build", "--data", PAPERLISTS, "--db", spark_db, "--venue", "neurips", "--venue", "iclr",
                    "--years", "2021", "--universities", UNIVERSITIES, "--people-backend", "spark")
    assert result.returncode == 0, result.stderr[-2000:]
    duck, spark = query(db_2021, PEOPLE), query(spark_db, PEOPLE)
    assert [r[:4] for r in duck] == [r[:4] for r in spark]
    precision, recall, f1 = bcubed([r[4] for r in spark], [r[4] for r in duck])
    assert f1 >= 0.995, (precision, recall, f1)
    settings = json.loads(one(spark_db, "SELECT value FROM build_info WHERE key = 'settings'"))
    assert settings["people_backend"] == "spark"
    # Spark's checkpoint folder goes with the build that made it
    assert set(Path(tempfile.gettempdir()).glob("talent-tracker-spark-*")) == checkpoints


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
    # labels of one year cannot tell how people move between years: every gap is no evidence
    # (m = u), not evidence against as a u sampled over all the years built would make it
    years = model.parameters["years"]
    assert years["u"][0] == pytest.approx(1.0) and all(m == u for m, u in zip(years["m"], years["u"]))
    assert set(model.parameters) >= {"venue", "years", "coauthors", "institution"}
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


def _mentions(rows) -> Mentions:
    """Mentions from (venue, year, paper, position, name, institution, title) rows."""
    v, y, p, k, n, inst, title = (list(c) for c in zip(*rows))
    none = [None] * len(rows)
    return Mentions(v, y, p, k, n, list(none), list(none), list(none), inst, list(none), title)


@pytest.mark.fast
def test_a_paper_at_two_venues_is_compared_once_and_its_authors_stay_one_person():
    paper = [("Ada Lovelace", "uni-a"), ("Wei Wang", "uni-b"), ("Wei Wang", "uni-b"), ("Alan Turing", "uni-a")]
    rows = [(venue, 2023, "p1", i, name, inst, "Sparse attention for long graphs")
            for venue in ("neurips", "workshop") for i, (name, inst) in enumerate(paper)]
    rows += [("neurips", 2023, "p2", 0, "Wei Wang", "uni-c", "Robotic grasping"),
             ("neurips", 2023, "p2", 1, "Grace Hopper", "uni-c", "Robotic grasping")]
    mentions = _mentions(rows)
    same_as = features(mentions).column("same_as").to_pylist()
    # each workshop mention copies its NeurIPS twin; the four Wei Wangs (two per paper, alike
    # in all) are all compared
    assert same_as == [0, 1, 2, 3, 0, 5, 6, 3, 8, 9]
    people = resolve_people(mentions)
    assert all(people[i] == people[i + 4] for i in range(4))
    assert people[1] != people[2]  # two authors of one paper are never one person
    assert len(set(people)) == 6


@pytest.mark.fast
def test_a_copy_needs_co_authors_to_count_as_the_same_person():
    rows = [("neurips", 2023, p, 0, "Wei Wang", None, None) for p in ("a", "b")]
    assert features(_mentions(rows)).column("same_as").to_pylist() == [0, 1]


@pytest.mark.fast
def test_co_authors_are_the_team_less_the_mention_and_title_words_the_papers():
    rows = [("neurips", 2023, "p1", i, name, None, "Sparse attention graphs") for i, name in
            enumerate(["Ada Lovelace", "Wei Wang", "Alan Turing"])]
    rows += [("neurips", 2023, "p2", 0, "Grace Hopper", None, None),  # alone: no co-authors, no words
             ("neurips", 2024, "p3", 0, "Wei Wang", None, "Graphs"), ("neurips", 2024, "p3", 1, "Wei Wang", None, "Graphs")]
    table = features(_mentions(rows))
    codes = {name: code for name, code in zip(["ada lovelace", "wei wang", "alan turing"], range(3))}
    assert table.column("coauthors").to_pylist() == [
        [codes["wei wang"], codes["alan turing"]], [codes["ada lovelace"], codes["alan turing"]],
        [codes["ada lovelace"], codes["wei wang"]], None, None, None]  # p3's team is one name key
    words = table.column("words").to_pylist()
    assert words[0] == words[1] == words[2] and len(words[0]) == 3 and words[3] is None and len(words[4]) == 1


@pytest.mark.fast
def test_a_large_name_block_is_cut_into_overlapping_chunks():
    size = MAX_NAME_BLOCK * 2 + 100
    rows = [("neurips", 2000 + i % 20, f"p{i}", 0, "Wei Wang", f"uni-{i % 37:02d}", None) for i in range(size)]
    rows += [("neurips", 2020, "q", 0, "Ada Lovelace", None, None)]
    table = features(_mentions(rows))
    chunk_a, chunk_b = table.column("chunk_a").to_pylist(), table.column("chunk_b").to_pylist()
    # sorted by institution, site and year, cut every MAX_NAME_BLOCK, the second cut half a chunk later
    order = sorted(range(size), key=lambda i: (rows[i][5], rows[i][1], i))
    half = MAX_NAME_BLOCK // 2
    assert [chunk_a[i] for i in order] == [rank // MAX_NAME_BLOCK for rank in range(size)]
    assert [chunk_b[i] for i in order] == [(rank + half) // MAX_NAME_BLOCK for rank in range(size)]
    assert (chunk_a[-1], chunk_b[-1]) == (0, None)  # a small block is compared whole


@pytest.mark.fast
def test_a_model_of_other_comparisons_is_one_line(tmp_path):
    shipped = Model.load()
    parameters = dict(shipped.parameters, institution={"m": [0.9], "u": [0.1]})  # one level where three are
    path = tmp_path / "old.json"
    Model(parameters, shipped.prior, shipped.threshold).save(path)
    rows = [("neurips", 2023, p, 0, "Wei Wang", None, None) for p in ("a", "b")]
    with pytest.raises(UserError, match=r"does not fit the comparison 'institution'.*people train"):
        resolve_people(_mentions(rows), model=Model.load(path))


@pytest.mark.fast
def test_names_read_before_the_places_change_give_the_same_features_and_people():
    # a build's helper makes name_features and fixed_links from the mentions before the
    # profile-year fill, which changes only where authors are: the features and the
    # people are those made from the filled mentions alone
    from talent_tracker.people.clusters import fixed_links
    from talent_tracker.people.linkage import name_features

    rows = [("neurips", 2023, "p1", 0, "Zhi-Hua Zhou", None, "Deep forest"),
            ("neurips", 2023, "p1", 1, "Wei Wang", "uni-b", "Deep forest"),
            ("icml", 2024, "p2", 0, "Zhi-Hua Zhou", "nju", "Deep forest again"),
            ("icml", 2024, "p2", 1, "Wei Wang", None, "Deep forest again"),
            ("icml", 2024, "p3", 0, "W. Wang", "uni-b", "Graphs"),
            ("icml", 2024, "p3", 1, "Ada Lovelace", None, "Graphs")]
    before = _mentions(rows)
    filled = _mentions([(*row[:5], row[5] or "nju", row[6]) for row in rows])
    named, fixed = name_features(before), fixed_links(before)
    assert features(filled, lambda: named).equals(features(filled))
    assert features(filled, lambda: named).column("inst").to_pylist() == ["nju", "uni-b", "nju", "nju", "uni-b", "nju"]
    assert resolve_people(filled, named=lambda: named, fixed=lambda: fixed) == resolve_people(filled)


@pytest.mark.fast
@pytest.mark.parametrize("removed", [[], [0], [3, 4, 9], list(range(0, 3000, 2)), [2999]])
def test_the_compared_mentions_are_the_table_less_the_copies_whichever_way_they_are_cut(removed):
    import numpy as np
    import pyarrow as pa

    from talent_tracker.people.linkage import _without

    table = pa.table({"unique_id": list(range(3000)), "words": [[i, i + 1] if i % 3 else None for i in range(3000)]})
    kept = _without(table, np.array(removed, np.int64))
    assert kept.column("unique_id").to_pylist() == [i for i in range(3000) if i not in set(removed)]
    assert kept.column("words").to_pylist() == [[i, i + 1] if i % 3 else None for i in range(3000) if i not in set(removed)]
