"""Hostile inputs: huge teams, misaligned giant lists, gzip bombs, huge fields, non-files,
deep nesting, lone surrogates, huge numbers, many mentions of one name, a nested
universities list.

Each builds in bounded time and memory, is reported in `skips`, and costs no good paper.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from talent_tracker import limits
from talent_tracker.build.pipeline import build
from talent_tracker.errors import UserError
from talent_tracker.people.clusters import Mentions, resolve_people

from conftest import PAPERLISTS, UNIVERSITIES, one, query

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
    good = json.dumps(GOOD).encode()
    # nesting: a million levels in 2 KB of gzip (the whole file), 100,000 inside one record
    with gzip.open(nips / "nips2037.json.gz", "wb") as handle:
        handle.write(b"[" * 1_000_000 + b"]" * 1_000_000)
    (nips / "nips2038.json").write_bytes(b"[" + b"[" * 100_000 + b"]" * 100_000 + b"," + good + b"]")
    # a lone surrogate, bytes that are not UTF-8, a number past a float, a 30-digit id
    (nips / "nips2039.json").write_bytes(b'[{"title":"\\udc00 lone","author":"Lone Surrogate","id":"lone"},'
                                         b'{"title":"bad \xff byte","author":"Bad Byte","id":"byte"},'
                                         b'{"title":1e400,"author":"Huge Number","id":123456789012345678901234567890},'
                                         + good + b"]")
    # a number of more digits than Python converts (ijson's C parser crashed on it)
    (nips / "nips2043.json").write_bytes(b'[' + good + b', {"title": "x", "author": "Long Number", "id": 1'
                                         + b"0" * 5_000 + b"}]")
    # many mentions of one name: the same two authors on 10,000 papers, 20,000 x Wei Wang,
    # and 199,999 names that differ only by digits
    (nips / "nips2040.json").write_text(json.dumps(
        [{"title": f"Pair paper {i}", "author": "Grace Hopper;Edsger Dijkstra", "status": "Poster", "id": f"pair{i}"}
         for i in range(10_000)] + [GOOD]))
    (nips / "nips2041.json").write_text(json.dumps(
        [{"title": f"Wang paper {i}", "author": "Wei Wang", "status": "Poster", "id": f"w{i}"}
         for i in range(20_000)] + [GOOD]))
    (nips / "nips2042.json").write_text(json.dumps(
        [{"title": f"P paper {i}", "author": f"P{i} Q{i}", "status": "Poster", "id": f"p{i}"}
         for i in range(199_999)] + [GOOD]))
    # the real universities list, with one entry nested a million levels deep among them
    universities = gzip.decompress(UNIVERSITIES.read_bytes()).strip()
    assert universities.endswith(b"]")
    (root / "world-universities").mkdir()
    with gzip.open(root / "world-universities" / "world_universities_and_domains.json.gz", "wb") as handle:
        handle.write(universities[:-1] + b', {"name": ' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}]")
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
    assert hostile_build["seconds"] < 120 and hostile_build["peak_mib"] < 3072, hostile_build


@pytest.mark.realdata
def test_good_papers_are_kept(hostile_build):
    db = hostile_build["db"]
    # the real list beside the hostile ones is whole
    assert one(db, "SELECT count(*) FROM papers WHERE year = 2018 AND accepted") == 1009
    # the good paper in every hostile file that could be read survives
    assert query(db, "SELECT year FROM papers WHERE paper_id = 'good' ORDER BY 1") == [
        (2030,), (2031,), (2033,), (2038,), (2039,), (2040,), (2041,), (2042,)]


@pytest.mark.realdata
def test_deep_nesting_costs_its_record(hostile_build):
    db = hostile_build["db"]
    assert query(db, "SELECT year, record, reason FROM skips WHERE year IN (2037, 2038) ORDER BY 1") == [
        (2037, "#0", "record nested deeper than 64 levels"), (2038, "#0", "record nested deeper than 64 levels")]


@pytest.mark.realdata
def test_odd_values_cost_their_field_not_the_file(hostile_build):
    db = hostile_build["db"]
    titles = dict(query(db, "SELECT paper_id, title FROM papers WHERE year = 2039"))
    assert titles == {"lone": "\ufffd lone", "byte": "bad \ufffd byte", "123456789012345678901234567890": "",
                      "good": "A good paper"}
    reasons = dict(query(db, "SELECT reason, sum(count) FROM skips WHERE year = 2039 GROUP BY 1"))
    assert reasons["text with invalid characters (lone surrogates) replaced"] == 1
    assert reasons["bytes that are not UTF-8 text replaced"] == 1
    assert reasons["number too large to read: the field is left empty"] == 1


@pytest.mark.realdata
def test_a_number_past_python_s_digit_limit_is_a_one_line_skip(hostile_build):
    skipped = query(hostile_build["db"], "SELECT scope, reason, detail FROM skips WHERE year = 2043")
    assert len(skipped) == 1 and skipped[0][:2] == ("file", "malformed file"), skipped
    assert skipped[0][2].startswith("not valid JSON") and len(skipped[0][2]) < 300, skipped


@pytest.mark.realdata
def test_many_mentions_of_one_name(hostile_build):
    db = hostile_build["db"]
    # every mention is kept, and names that differ by digits are never one block or person
    assert one(db, "SELECT count(*) FROM authorships WHERE year = 2041 AND author_name = 'Wei Wang'") == 20_000
    assert one(db, "SELECT count(DISTINCT person_id) FROM authorships WHERE year = 2042") == 200_001
    # one person per paper and author, whatever the block size
    assert one(db, "SELECT count(*) FROM (SELECT year, paper_id, person_id FROM authorships WHERE year IN (2040, 2041) "
                   "GROUP BY ALL HAVING count(*) > 1)") == 0


@pytest.mark.realdata
def test_a_nested_university_costs_its_entry(hostile_build):
    db = hostile_build["db"]
    # the list is read, and the build says what was left out of it
    assert "universities left out (no name and country code, or past a cap): 1\n" in hostile_build["stderr"]
    assert "curated registry only" not in hostile_build["stderr"]
    assert one(db, "SELECT count(*) FROM institutions WHERE institution_id LIKE 'wu-%'") > 50


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
    """A distinct name of letters only for each number."""
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
