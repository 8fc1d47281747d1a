"""Hostile inputs: huge teams, misaligned giant lists, gzip bombs, huge fields, non-files.

Each builds in bounded time and memory, is reported in `skips`, and costs no good paper.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from conftest import PAPERLISTS, one, query
from talent_tracker import limits
from talent_tracker.build import build
from talent_tracker.errors import UserError
from talent_tracker.people import Mentions, resolve_people

GOOD = {"title": "A good paper", "author": "Ada Lovelace;Alan Turing", "status": "Poster", "id": "good",
        "aff": "University of Oxford;University of Cambridge"}


def gzip_bomb(path: Path, gigabytes: int, prefix: bytes, suffix: bytes) -> None:
    """`prefix`, `gigabytes` GiB of spaces, `suffix`, as concatenated gzip members (a few MB)."""
    member = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = member.compress(b" " * (64 << 20)) + member.flush()
    with path.open("wb") as handle:
        head = zlib.compressobj(9, zlib.DEFLATED, 31)
        handle.write(head.compress(prefix) + head.flush())
        for _ in range(gigabytes * 16):
            handle.write(block)
        tail = zlib.compressobj(9, zlib.DEFLATED, 31)
        handle.write(tail.compress(suffix) + tail.flush())


@pytest.fixture(scope="module")
def hostile(shared, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "paperlists"
    nips = root / "nips"
    nips.mkdir(parents=True)
    (nips / "nips2018.json.gz").symlink_to(PAPERLISTS / "nips" / "nips2018.json.gz")
    team = ";".join(f"Author{i} Member{i}" for i in range(10_000))
    (nips / "nips2030.json").write_text(json.dumps([{"title": "Huge team", "author": team, "status": "Poster",
                                                     "id": "huge"}, GOOD]))
    names = ";".join(f"First{i} Last{i}" for i in range(20_000))
    (nips / "nips2031.json").write_text(json.dumps([{
        "title": "Misaligned", "author": names, "status": "Poster", "id": "m",
        "aff": ";".join(f"Institute {i}" for i in range(19_999)),
        "authorids": ";".join(f"~First{i}_Last{i}1" for i in range(20_000))}, GOOD]))
    gzip_bomb(nips / "nips2032.json.gz", 6, b'[{"title": "bomb", "author": "x", "aff": "', b'"}]')
    (nips / "nips2033.json").write_text(json.dumps([
        {"title": "Long affiliation", "author": "Solo Author", "status": "Poster", "id": "long",
         "aff": "University " + "x y " * 2_500_000}, GOOD]))
    # a byte-order mark, and ids that collide once suffixed
    papers = [dict(GOOD, id="a", title="first a"), dict(GOOD, id="a", title="second a"),
              dict(GOOD, id="a-2", title="own a-2")]
    (nips / "nips2034.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(papers).encode())
    os.mkfifo(nips / "nips2035.json")
    (nips / "nips2036.json").symlink_to("nips2036.json")
    return root


@pytest.fixture(scope="module")
def hostile_build(hostile, tmp_path_factory) -> dict:
    """The CLI build of the hostile folder, with its wall time and peak memory."""
    db = tmp_path_factory.mktemp("hostile-db") / "h.duckdb"
    measure = ("import resource, subprocess, sys, time\n"
               "t = time.perf_counter()\n"
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.stderr.write(r.stderr)\n")
    exe = Path(sys.executable).parent / "talent-tracker"
    result = subprocess.run([sys.executable, "-c", measure, str(exe), "build", "--data", str(hostile), "--db", str(db)],
                            capture_output=True, text=True, timeout=300)
    code, seconds, kib = result.stdout.split()
    return {"db": db, "code": int(code), "seconds": float(seconds), "peak_mib": int(kib) / 1024,
            "stderr": result.stderr}


@pytest.mark.realdata
def test_hostile_files_build_fast_in_bounded_memory(hostile_build):
    assert hostile_build["code"] == 0, hostile_build["stderr"]
    assert "Traceback" not in hostile_build["stderr"]
    assert hostile_build["seconds"] < 60 and hostile_build["peak_mib"] < 2048, hostile_build


@pytest.mark.realdata
def test_good_papers_are_kept(hostile_build):
    db = hostile_build["db"]
    # the real list beside the hostile ones is whole
    assert one(db, "SELECT count(*) FROM papers WHERE year = 2018 AND accepted") == 1009
    # the good paper in every hostile file that could be read survives
    assert query(db, "SELECT year FROM papers WHERE paper_id = 'good' ORDER BY 1") == [(2030,), (2031,), (2033,)]


@pytest.mark.realdata
def test_huge_team_is_cut_to_the_cap_and_counted(hostile_build):
    db = hostile_build["db"]
    assert one(db, "SELECT n_authors FROM papers WHERE paper_id = 'huge'") == limits.MAX_AUTHORS
    assert one(db, "SELECT sum(count) FROM skips WHERE year = 2030 AND reason LIKE 'paper has more than%'") == 9_000


@pytest.mark.realdata
def test_misaligned_giant_list_is_not_placed(hostile_build):
    db = hostile_build["db"]
    assert one(db, "SELECT count(affiliation) FROM authorships WHERE paper_id = 'm'") == 0
    assert one(db, "SELECT sum(count) FROM skips WHERE year = 2031 AND reason LIKE 'per-author list of an over-long%'") \
        == 19_999


@pytest.mark.realdata
def test_gzip_bomb_is_stopped_at_a_cap(hostile_build):
    db = hostile_build["db"]
    reason = query(db, "SELECT reason, detail FROM skips WHERE year = 2032 AND scope = 'file'")
    assert reason == [("malformed file", "a record larger than 16 MiB")]
    assert one(db, "SELECT count(*) FROM papers WHERE year = 2032") == 0


@pytest.mark.realdata
def test_huge_field_is_cut_short_and_counted(hostile_build):
    db = hostile_build["db"]
    assert one(db, "SELECT length(affiliation) FROM authorships WHERE paper_id = 'long'") == limits.MAX_FIELD_CHARS
    assert one(db, "SELECT sum(count) FROM skips WHERE year = 2033 AND reason LIKE 'value longer than%'") >= 1


@pytest.mark.realdata
def test_ids_stay_unique_and_a_bom_is_accepted(hostile_build):
    db = hostile_build["db"]
    rows = query(db, "SELECT paper_id, title FROM papers WHERE year = 2034 ORDER BY title")
    assert rows == [("a", "first a"), ("a-2", "own a-2"), ("a-3", "second a")]
    people = query(db, "SELECT person_id, count(DISTINCT paper_id) FROM authorships WHERE year = 2034 GROUP BY 1")
    # the same two authors on three papers, and no person id shared by two different authorships of one paper
    assert one(db, "SELECT count(*) FROM (SELECT paper_id, person_id FROM authorships WHERE year = 2034 "
                   "GROUP BY ALL HAVING count(*) > 1)") == 0
    assert len(people) == 2


@pytest.mark.realdata
def test_fifos_and_symlink_loops_are_counted_skips(hostile_build):
    db = hostile_build["db"]
    skipped = dict(query(db, "SELECT source_file, detail FROM skips WHERE reason = 'not a readable file'"))
    assert skipped == {"nips/nips2035.json": "not a regular file (a FIFO, socket or device)",
                       "nips/nips2036.json": "symlink loop"}


@pytest.mark.fast
def test_person_resolution_is_linear_in_team_size():
    """Co-author evidence must not cost the square of the team: 10 papers of 5,000 authors
    (per-mention co-author sets would hold 250 million entries)."""
    papers, team = 10, 5_000
    n = papers * team
    mentions = Mentions(
        venue=["neurips"] * n, year=[2030] * n, paper_id=[f"p{i // team}" for i in range(n)],
        position=[i % team + 1 for i in range(n)], name=[_letters(i % team) for i in range(n)],
        openreview_id=[None] * n, email=[None] * n, email_domain=[None] * n, institution_id=[None] * n)
    started = time.perf_counter()
    people = resolve_people(mentions)
    assert time.perf_counter() - started < 20
    # the same 5,000 names on every paper: no person spans two names, nearly every name is one person
    names_of: dict[str, set] = {}
    for person, name in zip(people, mentions.name):
        names_of.setdefault(person, set()).add(name)
    assert all(len(names) == 1 for names in names_of.values())
    assert team <= len(names_of) <= team * 1.01


def _letters(number: int) -> str:
    """A distinct name of letters only for each number (digits are not part of a name key)."""
    first = "".join(chr(97 + (number // 26 ** k) % 26) for k in range(3))
    return f"{first.title()} {first[::-1].title()}son"


@pytest.mark.realdata
def test_the_caps_never_bite_on_the_real_data(full_db):
    reasons = [r[0] for r in query(full_db, "SELECT DISTINCT reason || ' ' || detail FROM skips")]
    capped = [r for r in reasons if any(word in r for word in ("cut short", "more than", "budget", "larger than",
                                                              "over-long", "not a readable file"))]
    assert capped == [] and len(reasons) > 10


@pytest.mark.fast
def test_conference_csv_cuts_a_huge_field_and_stops_a_bomb(tmp_path):
    good = "NIPS,2018,A good paper,Ada Lovelace,University of Oxford\n"
    long_field = tmp_path / "long" / "papers.csv"
    long_field.parent.mkdir()
    long_field.write_text("Conference,Year,Title,Author,Affiliation\n"
                          f"NIPS,2018,Long affiliation,Solo Author,\"University {'x y ' * 2_500_000}\"\n" + good)
    db = tmp_path / "long.duckdb"
    build(long_field, db, source="conference-csv")
    assert one(db, "SELECT count(*) FROM papers") == 2
    assert one(db, "SELECT max(length(affiliation)) FROM authorships") == limits.MAX_FIELD_CHARS
    bomb = tmp_path / "bomb" / "papers.csv.gz"
    bomb.parent.mkdir()
    gzip_bomb(bomb, 1, b"Conference,Year,Title,Author,Affiliation\n" + good.encode() + b'NIPS,2018,"', b'",x,y\n')
    # a file that cannot be read whole gives nothing (and the build says so in one line)
    with pytest.raises(UserError, match="no papers found"):
        build(bomb, tmp_path / "bomb.duckdb", source="conference-csv")
