"""`export` and `summary` through the real command."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from conftest import cli, one

AUTHORSHIP_COLUMNS = ["venue", "year", "paper_id", "status", "accepted", "tier", "author_position", "author_name",
                      "openreview_id", "email_domain", "affiliation", "job_title"]
PAPER_COLUMNS = ["venue", "year", "paper_id", "title", "track", "status", "accepted", "tier"]


@pytest.mark.realdata
def test_export_csv_has_the_contract_columns_and_all_rows(full_db, tmp_path):
    out = tmp_path / "authorships.csv"
    result = cli("export", "authorships", "--db", full_db, "--format", "csv", "--output", out)
    assert result.returncode == 0, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert set(AUTHORSHIP_COLUMNS) <= set(reader.fieldnames)
        rows = [r for r in reader if r["venue"] == "neurips" and r["year"] == "2018"]
    assert len(rows) == 3827
    assert sum(1 for r in rows if r["accepted"] == "true") == 3827
    assert {r["tier"] for r in rows} == {"top2", "top20"}
    first = next(r for r in rows if r["paper_id"] == "11572" and r["author_position"] == "1")
    assert first["author_name"] == "Toni Karvonen" and first["email_domain"] == "aalto.fi"


@pytest.mark.realdata
def test_export_parquet_and_json(full_db, tmp_path):
    parquet = tmp_path / "papers.parquet"
    assert cli("export", "papers", "--db", full_db, "--format", "parquet", "--output", parquet).returncode == 0
    table = pq.read_table(parquet)
    assert set(PAPER_COLUMNS) <= set(table.column_names)
    assert table.num_rows == one(full_db, "SELECT count(*) FROM papers")
    js = tmp_path / "venue_years.json"
    assert cli("export", "venue_years", "--db", full_db, "--format", "json", "--output", js).returncode == 0
    rows = json.loads(js.read_text())
    assert len(rows) == 58 and rows[0]["venue"] == "iclr"


@pytest.mark.realdata
def test_export_errors_are_one_line(full_db, tmp_path):
    for args, message in [
        (["nope", "--db", full_db, "--format", "csv", "--output", tmp_path / "x"], "no table 'nope'"),
        (["papers", "--db", full_db, "--format", "xlsx", "--output", tmp_path / "x"], "'xlsx' is not one of 'csv', 'parquet', 'json'"),
        (["papers", "--db", tmp_path / "missing.duckdb", "--output", tmp_path / "x"], "database not found"),
        (["papers", "--db", full_db, "--output", tmp_path / "no" / "x.csv"], "output directory not found"),
    ]:
        result = cli("export", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert result.stderr.strip().count("\n") == 0


@pytest.mark.realdata
def test_summary_json_counts(full_db):
    result = cli("summary", "--db", full_db, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {(r["venue"], r["year"]): r for r in data["venue_years"]}
    assert len(rows) == 58
    nips2018 = rows[("neurips", 2018)]
    assert nips2018["accepted_papers"] == 1009 and nips2018["authorships"] == 3827
    assert nips2018["top2_papers"] == 30 and nips2018["top20_papers"] == 979
    assert nips2018["distinct_author_names"] == one(
        full_db, "SELECT count(DISTINCT author_name) FROM authorships WHERE venue='neurips' AND year=2018")
    assert rows[("neurips", 2017)]["duplicates_merged"] == 11
    assert rows[("iclr", 2017)]["records_skipped"] == 1
    reasons = {(r["venue"], r["year"], r["reason"]): r["count"] for r in data["skips"]}
    assert reasons[("neurips", 2021, "per-author list does not line up with the authors")] > 0


@pytest.mark.realdata
def test_summary_table(full_db):
    result = cli("summary", "--db", full_db)
    assert result.returncode == 0
    assert "neurips" in result.stdout and "1,009" in result.stdout and "3,827" in result.stdout
    assert "missing status" in result.stdout
