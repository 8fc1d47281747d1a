"""Paper Copilot's author files (sources/author_files.py): profiles aligned to authors by id,
by name and by elimination; records joined to papers by id or by author list; what the
list lacks filled, never replaced. Quirks on small synthetic files of the same format in the
fast tier; coverage on the real files in the realdata tier."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from talent_tracker.build.pipeline import build
from talent_tracker.sources import author_files

from conftest import cli, query


def record(rid: str, authors: list[str], ids: list[str], profiles: list[str], **per_profile: list[str]) -> dict:
    out = {"id": rid, "author": ";".join(authors), "authorids": ";".join(ids), "or_profile": ";".join(profiles)}
    for field in author_files.PER_PROFILE:
        out[field] = ";".join(per_profile.get(field, [""] * len(profiles)))
    return out


@pytest.mark.fast
def test_profiles_are_aligned_to_authors_by_id_name_and_elimination():
    rec = record(
        "abc", ["Ada Lovelace", "Haotian Xue", "Sanmi Koyejo", "Wei Zhang"],
        ["~Ada_Lovelace1", "~Haotian_Xue1", "~Sanmi_Koyejo1", "wz@tsinghua.edu.cn"],
        # or_profile order differs; Xue's profile is spelt surname first, Koyejo's was renamed
        ["wz@tsinghua.edu.cn", "~Ada_Lovelace1", "~Xue_Haotian1", "~Oluwasanmi_O_Koyejo1"],
        aff=["Tsinghua University", "University of Oxford", "NVIDIA", "Stanford University"],
        aff_domain=["tsinghua.edu.cn", "OX.AC.UK", "nvidia.com", "stanford.edu"],
        position=["PhD student", "Professor", "Researcher", "Associate Professor"],
        orcid=["", "0000-0002-1825-0097", "", ""])
    submission, left = author_files._submission(rec)
    assert left == 0
    got = [(p.name, p.openreview_id, p.affiliation, p.email_domain, p.job_title) for p in submission.authors]
    assert got == [
        ("Ada Lovelace", "~Ada_Lovelace1", "University of Oxford", "ox.ac.uk", "Professor"),
        ("Haotian Xue", "~Haotian_Xue1", "NVIDIA", "nvidia.com", "Researcher"),
        ("Sanmi Koyejo", "~Sanmi_Koyejo1", "Stanford University", "stanford.edu", "Associate Professor"),
        ("Wei Zhang", None, "Tsinghua University", "tsinghua.edu.cn", "PhD student"),  # an e-mail is no profile id
    ]
    assert submission.authors[0].links == (("orcid", "0000-0002-1825-0097"),)


@pytest.mark.fast
def test_a_profile_no_rule_can_place_is_counted_not_guessed():
    rec = record("abc", ["Ada Lovelace", "Grace Hopper", "Alan Turing"], ["~Ada_Lovelace1", "", ""],
                 ["~Ada_Lovelace1", "~Someone_Else1", "~Another_One1"], aff=["Oxford", "MIT", "Cambridge"])
    submission, left = author_files._submission(rec)
    assert left == 2 and [p.affiliation for p in submission.authors] == ["Oxford", None, None]
    # empty profile entries (no profile at all) are not counted
    assert author_files._submission(record("x", ["A B", "C D"], ["~A_B1", "~C_D1"], ["", ""]))[1] == 0


def _write(path: Path, records: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(records).encode()))


@pytest.mark.fast
def test_a_build_fills_what_the_lists_lack(tmp_path):
    """NeurIPS 2023 joins by OpenReview id, NeurIPS 2024 (site_ ids) by the author list; the
    list's own affiliation is kept; a public reject of no listed paper is counted."""
    lists = tmp_path / "paperlists" / "nips"
    lists.mkdir(parents=True)
    (lists / "nips2023.json").write_text(json.dumps([
        {"id": "or2023a", "title": "One", "status": "Poster", "track": "main", "author": "Ada Lovelace, Wei Zhang",
         "aff": "Imperial College London; "},
    ]), encoding="utf-8")
    (lists / "nips2024.json").write_text(json.dumps([
        {"id": "site_1", "title": "Two", "status": "Oral", "track": "main", "author": "Grace Hopper, Alan Turing"},
        {"id": "site_2", "title": "Three", "status": "Poster", "track": "main", "author": "Nobody Known"},
    ]), encoding="utf-8")
    _write(tmp_path / "paperlists-authors" / "nips" / "nips2023.json.gz", [
        record("or2023a", ["Ada Lovelace", "Wei Zhang"], ["~Ada_Lovelace1", "~Wei_Zhang7"],
               ["~Ada_Lovelace1", "~Wei_Zhang7"], aff=["University of Oxford", "Tsinghua University"],
               aff_domain=["ox.ac.uk", "tsinghua.edu.cn"], position=["Professor", "MS student"]),
        record("rejected", ["Some One"], ["~Some_One1"], ["~Some_One1"], aff=["MIT"]),
    ])
    _write(tmp_path / "paperlists-authors" / "nips" / "nips2024.json.gz", [
        record("or2024b", ["Grace Hopper", "Alan Turing"], ["~Grace_Hopper1", "~Alan_Turing1"],
               ["~Alan_Turing1", "~Grace_Hopper1"], aff=["University of Cambridge", "Stanford University"]),
    ])
    db = tmp_path / "t.duckdb"
    build(tmp_path, db, venue_names=["neurips"], years="2023-2024")
    rows = query(db, "SELECT author_name, openreview_id, affiliation, affiliation_source, job_title, email_domain, "
                     "country FROM authorships ORDER BY year, paper_id, author_position")
    assert rows == [
        ("Ada Lovelace", "~Ada_Lovelace1", "Imperial College London", "list", "Professor", "ox.ac.uk", "GB"),
        ("Wei Zhang", "~Wei_Zhang7", "Tsinghua University", "paperlists-authors", "MS student", "tsinghua.edu.cn",
         "CN"),
        ("Grace Hopper", "~Grace_Hopper1", "Stanford University", "paperlists-authors", None, None, "US"),
        ("Alan Turing", "~Alan_Turing1", "University of Cambridge", "paperlists-authors", None, None, "GB"),
        ("Nobody Known", None, None, None, None, None, None),
    ]
    reasons = dict(query(db, "SELECT reason, sum(count) FROM skips GROUP BY reason"))
    assert reasons["author-file record of no paper of the list"] == 1
    assert reasons["author-file record joined to its paper by the author list (no shared id)"] == 1


@pytest.mark.fast
def test_a_malformed_author_file_is_one_skip(tmp_path):
    path = tmp_path / "nips2023.json.gz"
    path.write_bytes(gzip.compress(b'[{"id": "a", "author": "A B"}, {"id": '))
    skips = []
    assert author_files.read(path, ("neurips", 2023), skips.append, "f") == []
    assert [s.scope for s in skips] == ["file"]


# --- the real files --------------------------------------------------------------------------

@pytest.mark.realdata
@pytest.mark.parametrize("venue,year,least", [("neurips", 2023, 0.84), ("neurips", 2024, 0.74), ("icml", 2025, 0.78),
                                               ("iclr", 2023, 0.70)])
def test_the_author_files_place_the_editions_with_names_only(full_db, venue, year, least):
    report = json.loads(cli("report", "--db", full_db, "--venue", venue, "--years", str(year), "--json").stdout)
    assert report["work_countries"]["coverage"] >= least
    joined = query(full_db, "SELECT count(*) FILTER (WHERE affiliation_source = 'paperlists-authors'), "
                            "count(openreview_id), count(*) FROM authorships WHERE venue = ? AND year = ? AND accepted",
                   [venue, year])[0]
    assert joined[0] > 0.5 * joined[2] and joined[1] > 0.9 * joined[2], joined
