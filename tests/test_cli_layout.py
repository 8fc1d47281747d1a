"""The command line read at 100 columns: tables that fit without cutting a cell, `--help`
for every command, one spelling of every option (`--years` everywhere, `--year` still
read), typer's choices and their one-line errors, honest titles and missing values.

In-process (typer's CliRunner, COLUMNS=100) against real databases: the session's build of
the whole data folder (conftest's full_db) and a NeurIPS build made here with the CLI's
own `build --years`: 2012 has no oral label, 2013, 2021 and 2022 have one.
"""

from __future__ import annotations

import json
import re
import time
from typing import get_args

import httpx
import pytest
import typer
from typer.testing import CliRunner

from talent_tracker.cli import app as cli_app
from talent_tracker.cli import data as cli_data
from talent_tracker.cli import render as cli_render
from talent_tracker.cli import report as cli_report
from talent_tracker.cli.commands import app
from talent_tracker.store import exports

from conftest import SHARED, one, query, serving

WIDTH = 100
runner = CliRunner()


def run(*args, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(WIDTH), **(env or {})})


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, (args, result.stdout[-2000:], result.stderr)
    return result


def one_line_error(result, *parts: str) -> str:
    """The run failed with exit code 2 and one line on stderr saying all of `parts`."""
    assert result.exit_code == 2, (result.exit_code, result.stdout[-500:], result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for part in parts:
        assert part in result.stderr, (part, result.stderr)
    return result.stderr


def fits(text: str) -> None:
    """Nothing cut short, nothing past 100 columns."""
    assert "…" not in text
    widest = max(map(len, text.splitlines()))
    assert widest <= WIDTH, widest


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("│").split("│")]


def body(text: str, title: str) -> list[list[str]]:
    """The body lines of the table after the line holding `title`, as cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    top = next(i for i in range(start, len(lines)) if lines[i].startswith("┡"))
    end = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
    return [cells(line) for line in lines[top + 1:end]]


@pytest.fixture(scope="module")
def nips(shared, tmp_path_factory):
    db = tmp_path_factory.mktemp("layout") / "nips.duckdb"
    ok("build", "--data", SHARED, "--db", db, "--venue", "neurips", "--years", "2012-2013,2021-2022")
    return db


# --- summary ------------------------------------------------------------------------------

@pytest.mark.realdata
def test_summary_fits_100_columns_without_cutting_a_cell(full_db):
    result = ok("summary", "--db", full_db)
    fits(result.stdout)
    data = json.loads(ok("summary", "--db", full_db, "--json").stdout)
    rows = body(result.stdout, "talent-tracker summary of")
    assert len(rows) == len(data["venue_years"]) == 58
    shown = [(title, key) for title, key in cli_data.SUMMARY_COLUMNS if title in cli_data.SUMMARY_SHOWN]
    assert 8 <= len(shown) < len(cli_data.SUMMARY_COLUMNS)
    by_key = {(r["venue"], r["year"]): r for r in data["venue_years"]}
    for row in rows:  # every cell whole, as the JSON has it
        expected = by_key[(row[0], int(row[1]))]
        assert row == [cli_data._summary_value(expected, key) for _, key in shown]
    nips2018 = next(r for r in rows if r[:2] == ["neurips", "2018"])
    assert "1,009" in nips2018 and "3,827" in nips2018
    # a year without an oral label has no top2 papers to count: n/a, not 0
    assert next(r for r in rows if r[:2] == ["icml", "2019"])[4] == "n/a"
    assert "Not shown (--wide or --json)" in result.stdout
    assert "missing status" in result.stdout  # the skip reasons follow


@pytest.mark.realdata
def test_summary_wide_shows_every_column(full_db):
    result = ok("summary", "--db", full_db, "--wide")
    assert "…" not in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.startswith("┃ venue"))
    assert cells(header.replace("┃", "│")) == [title for title, _ in cli_data.SUMMARY_COLUMNS]
    data = {(r["venue"], r["year"]): r for r in json.loads(ok("summary", "--db", full_db, "--json").stdout)["venue_years"]}
    rows = body(result.stdout, "talent-tracker summary of")
    assert len(rows) == 58
    for row in rows:
        expected = data[(row[0], int(row[1]))]
        assert row == [cli_data._summary_value(expected, key) for _, key in cli_data.SUMMARY_COLUMNS]
    assert "Not shown" not in result.stdout


# --- help -----------------------------------------------------------------------------------

def commands(command=None, path=()):
    command = command or typer.main.get_command(app)
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


@pytest.mark.fast
def test_every_help_fits_100_columns_and_shows_flags_as_flags():
    seen = 0
    for path, command in commands():
        result = ok(*path, "--help")
        text = result.stdout
        fits(text)
        assert "<bool>" not in text, path  # --json, not --json <bool>
        assert "[default: None]" not in text and "[default: False]" not in text, path
        for param in command.params:
            for name in param.opts:
                if name.startswith("--"):
                    listed = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None
                    assert listed != bool(getattr(param, "hidden", False)), (path, name)
        seen += 1
    assert seen >= 25
    for path, choices in [(("sample",), "<top20|top2>"), (("estimate",), "<origin|graduate|work|flow>"),
                          (("estimate",), "<exact|assisted|sample>"), (("report",), "<lab|hq>"),
                          (("export",), "<csv|parquet|json>"), (("users", "add"), "<annotator|reviewer|admin>"),
                          (("build",), "<duckdb|spark>"), (("evaluate-people",), "<duckdb|spark>")]:
        assert choices in ok(*path, "--help").stdout, (path, choices)
    designs = ok("sample", "--help").stdout
    assert all(design in designs for design in ("person", "paper", "stratified", "predicted-origin"))
    assert "[default: talent-tracker.duckdb]" in ok("summary", "--help").stdout
    assert "--year " not in ok("estimate", "--help").stdout  # the old spelling is hidden


@pytest.mark.fast
def test_the_choices_are_the_back_ends():
    from talent_tracker import annotations, population
    from talent_tracker.build import pipeline
    from talent_tracker.figures import estimates, sampling
    from talent_tracker.people import linkage
    assert get_args(cli_app.Tier) == population.TIERS
    assert get_args(cli_app.Design) == sampling.DESIGNS
    assert get_args(cli_app.By) == estimates.BY
    assert get_args(cli_app.Method) == estimates.METHODS
    assert get_args(cli_app.Role) == annotations.ROLES
    assert get_args(cli_app.Source) == pipeline.SOURCES
    assert get_args(cli_app.ExportFormat) == exports.EXPORT_FORMATS
    assert get_args(cli_app.Backend) == linkage.BACKENDS


# --- one spelling: --years ------------------------------------------------------------------

@pytest.mark.realdata
def test_build_took_years(nips):
    assert query(nips, "SELECT DISTINCT venue, year FROM papers ORDER BY ALL") == [
        ("neurips", 2012), ("neurips", 2013), ("neurips", 2021), ("neurips", 2022)]


@pytest.mark.realdata
def test_years_on_every_command_that_filters_by_year(nips, tmp_path, monkeypatch):
    venues = ok("venues", "--venue", "neurips", "--years", "2012-2013")
    fits(venues.stdout)
    assert [r[:2] for r in body(venues.stdout, "Decision labels") if r[0]] == [["neurips", "2012"],
                                                                              ["neurips", "2013"]]
    report = json.loads(ok("report", "--db", nips, "--years", "2021", "--json").stdout)
    assert report["work_countries"]["filters"] == "neurips 2021 top20"
    assert report["work_countries"]["population_size"] == one(
        nips, "SELECT count(DISTINCT person_id) FROM authorships WHERE accepted AND year = 2021")
    sheet = tmp_path / "sample.csv"
    drawn = ok("sample", "--db", nips, "--venue", "neurips", "--years", "2021", "--size", "60", "--seed", "3",
               "--output", sheet)
    assert "neurips-2021-top20-person-60-seed3" in drawn.stdout and sheet.stat().st_size > 0
    estimate = json.loads(ok("estimate", "--db", nips, "--venue", "neurips", "--years", "2021", "--by", "work",
                             "--json").stdout)
    assert estimate["population"] == "neurips 2021 top20"
    # nobody in the sample has an analyst's value yet: work is counted exactly, for the same people
    assert estimate["method"] == "exact" and estimate["notes"] == [
        "Sample neurips-2021-top20-person-60-seed3 has no analyst's value for work yet: exact counts instead."]
    assert estimate["population_size"] == report["work_countries"]["population_size"]
    # fetch: the years reach the downloader (which is not run: no network here)
    import talent_tracker.sources.download

    asked = []
    monkeypatch.setattr(talent_tracker.sources.download, "fetch_paperlists",
                        lambda venues, years, cache, **kw: asked.append(([v.key for v in venues], years)) or [])
    monkeypatch.setattr(talent_tracker.sources.download, "fetch_sources",
                        lambda cache, wanted, **kw: asked.append(sorted(
                            vy for vy in [("neurips", 2019), ("neurips", 2022), ("iclr", 2019)] if wanted(vy))) or [])
    ok("fetch", "--venue", "neurips", "--years", "2010-2012,2019", "--cache", tmp_path / "cache")
    assert asked == [(["neurips"], [2010, 2011, 2012, 2019]), [("neurips", 2019)]]


@pytest.mark.realdata
def test_the_old_year_still_works_with_a_note(nips, tmp_path):
    new, old = tmp_path / "new.csv", tmp_path / "old.csv"
    ok("sample", "--db", nips, "--venue", "neurips", "--years", "2022", "--size", "20", "--seed", "9", "--output", new)
    result = ok("sample", "--db", nips, "--venue", "neurips", "--year", "2022", "--size", "20", "--seed", "9",
                "--output", old)
    assert result.stderr == "note: --year is deprecated: use --years (same values)\n"
    assert "neurips-2022-top20-person-20-seed9" in result.stdout
    assert old.read_text() == new.read_text()
    args = ("estimate", "--db", nips, "--venue", "neurips", "--by", "work", "--json")
    with_old = run(*args, "--year", "2022")
    assert with_old.exit_code == 0 and with_old.stderr.startswith("note: --year is deprecated")
    assert json.loads(with_old.stdout) == json.loads(ok(*args, "--years", "2022").stdout)
    one_line_error(run(*args, "--year", "2022", "--years", "2021"), "give --years only")
    # a failure with the old spelling is still one line: the note joins the error
    one_line_error(run("sample", "--db", nips, "--venue", "neurips", "--year", "2022", "--output",
                       tmp_path / "missing" / "x.csv"),
                   "output directory not found", "; note: --year is deprecated: use --years")
    one_line_error(run("estimate", "--db", nips, "--venue", "neurips"), "choose --years")
    one_line_error(run("sample", "--db", nips, "--years", "2022", "--output", tmp_path / "x.csv"), "--venue")


@pytest.mark.realdata
def test_evaluate_people_backend_is_spelled_as_in_build(tmp_path):
    db = tmp_path / "icml.duckdb"
    ok("build", "--data", SHARED / "paperlists", "--db", db, "--venue", "icml", "--years", "2019",
       "--people-backend", "duckdb")
    one_line_error(run("evaluate-people", "--db", db, "--people-backend", "duckdb"), "carries OpenReview ids")
    old = run("evaluate-people", "--db", db, "--backend", "duckdb")  # the old spelling, still read
    one_line_error(old, "carries OpenReview ids", "; note: --backend is deprecated: use --people-backend")


# --- choices and required options -----------------------------------------------------------

@pytest.mark.realdata
@pytest.mark.parametrize("args, option, value", [
    (["sample", "--venue", "neurips", "--years", "2021", "--output", "x.csv"], "--tier", "top5"),
    (["estimate", "--venue", "neurips", "--years", "2021"], "--tier", "top5"),
    (["report"], "--tier", "top5"),
    (["estimate", "--venue", "neurips", "--years", "2021"], "--by", "height"),
    (["estimate", "--venue", "neurips", "--years", "2021"], "--method", "guess"),
    (["sample", "--venue", "neurips", "--years", "2021", "--output", "x.csv"], "--design", "snowball"),
    (["sample", "--venue", "neurips", "--years", "2021", "--output", "x.csv"], "--check", "height"),
    (["export", "papers", "--output", "x.xlsx"], "--format", "xlsx"),
    (["report"], "--place", "moon"),
    (["users", "add", "alice"], "--role", "king"),
    (["build", "--data", "nowhere"], "--source", "csv"),
    (["build", "--data", "nowhere"], "--people-backend", "gpu"),
    (["evaluate-people"], "--people-backend", "gpu"),
])
def test_a_wrong_choice_is_one_line_and_exit_2(nips, tmp_path, monkeypatch, args, option, value):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*args, "--db", str(nips), option, value], env={"COLUMNS": str(WIDTH)})
    message = one_line_error(result, f"'{option}'", f"'{value}' is not one of")
    assert "Value error" not in message and result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.realdata
def test_export_needs_output(nips, tmp_path):
    one_line_error(run("export", "papers", "--db", nips), "Missing option '--output'")
    assert re.search(r"\*\s+--output\s", ok("export", "--help").stdout)
    assert "[required]" in ok("export", "--help").stdout
    out = tmp_path / "papers.json"
    assert "rows of papers" in ok("export", "papers", "--db", nips, "--format", "json", "--output", out).stdout
    assert len(json.loads(out.read_text())) == one(nips, "SELECT count(*) FROM papers")


# --- report ---------------------------------------------------------------------------------

ASIA = "institutions in Asia (East Asia, South Asia, Southeast Asia)"  # the title says what Asia is


@pytest.mark.realdata
def test_report_titles_count_the_rows_shown(nips):
    # the oral authors of one year: fewer institutions than the analyses ask for (25; 15 in Asia)
    args = ("report", "--db", nips, "--years", "2013", "--tier", "top2")
    data = json.loads(ok(*args, "--json").stdout)
    world, asia = data["top_institutions"], data["top_institutions_asia"]
    assert world["title"] == f"Top {len(world['rows'])} institutions worldwide" and 0 < len(world["rows"]) < 25
    assert asia["title"] == f"Top {len(asia['rows'])} {ASIA}" and 0 < len(asia["rows"]) < 15
    text = ok(*args).stdout
    fits(text)
    titles = re.findall(r"^Top (\d+) institutions (?:worldwide|in Asia \(.*?\)) — .*$", text, re.M)
    assert len(titles) == 2
    for name, shown in zip(("top_institutions", "top_institutions_asia"), titles):
        heading = next(line for line in text.splitlines() if line.startswith(f"Top {shown} institutions"))
        rows = [r for r in body(text, heading) if r[-1]]  # a wrapped name continues with no count
        assert int(shown) == len(rows) == min(len(data[name]["rows"]), cli_report.REPORT_ROWS), name
    assert f"Top {len(world['rows'])} institutions worldwide" in text
    assert f"Top {len(asia['rows'])} {ASIA}" in text
    assert "Top 25 institutions" not in text and "Top 15 institutions" not in text


@pytest.mark.realdata
def test_tier_comparison_shows_missing_as_a_dash(nips):
    data = json.loads(ok("report", "--db", nips, "--years", "2012", "--json").stdout)["tier_comparison"]
    assert data["rows"] and all(row[2] is None for row in data["rows"])  # 2012: no oral label
    text = ok("report", "--db", nips, "--years", "2012").stdout
    rows = body(text, "Top 2% against top 20%")
    assert [r[0] for r in rows] == [row[0] for row in data["rows"]]
    assert all(r[2] == cli_render.MISSING and re.fullmatch(r"0\.\d{3}", r[1]) for r in rows)
    assert "-: no value (not zero)" in text
    # where both tiers exist, shares are shown as numbers
    both = body(ok("report", "--db", nips, "--years", "2021").stdout, "Top 2% against top 20%")
    assert all(re.fullmatch(r"0\.\d{3}", r[2]) for r in both[:3])


@pytest.mark.realdata
def test_every_report_table_fits_100_columns(nips):
    fits(ok("report", "--db", nips, "--years", "2021-2022", "--place", "hq").stdout)


# --- the universities list, found once ------------------------------------------------------

@pytest.mark.realdata
def test_resolve_uses_the_list_the_database_was_built_with(nips, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no talent-tracker-data/ here
    # a university the curated registry does not hold: only the world-universities list knows it
    result = ok("resolve", "Universidad de Antioquia", "--db", nips, "--json")
    assert result.stderr == ""
    assert json.loads(result.stdout)["institution_id"] == "wu-udea.edu.co"
    for _ in range(2):  # the same on every call: no warning
        assert ok("resolve", "Universidad de Antioquia", "--db", nips).stderr == ""
    # only where there really is no list does it say so, once
    alone = ok("resolve", "Universidad de Antioquia", "--db", tmp_path / "none.duckdb", "--json")
    assert json.loads(alone.stdout)["institution_id"] is None
    assert alone.stderr.count("\n") == 1 and alone.stderr.startswith("warning: no world-universities list")


# --- serve ----------------------------------------------------------------------------------

@pytest.mark.realdata
def test_serve_logs_one_line_per_request(nips, tmp_path):
    log = tmp_path / "serve.log"
    with serving(nips, log=log) as base:
        before = len(log.read_text().splitlines())
        assert httpx.get(base + "/api/meta").status_code == 200
        assert httpx.get(base + "/no-such-page").status_code == 404
        deadline = time.time() + 10  # the server writes its log line after the response
        while time.time() < deadline and len(log.read_text().splitlines()) < before + 2:
            time.sleep(0.05)
    lines = log.read_text().splitlines()
    assert lines[0].startswith("talent-tracker at http://127.0.0.1:")
    new = lines[before:]
    assert len(new) == 2, lines
    assert '"GET /api/meta HTTP/1.1" 200' in new[0] and '"GET /no-such-page HTTP/1.1" 404' in new[1]
