"""Paper Copilot's author files (sources/author_files.py): profiles aligned to authors by id,
by name and by elimination; records joined to papers by id or by author list; what the
list lacks filled, never replaced. Quirks on small synthetic files of the same format in the
fast tier; coverage on the real files in the realdata tier."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from talent_tracker import links
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
    assert submission.authors[0].links == (("orcid", "https://orcid.org/0000-0002-1825-0097"),)


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
    list's own affiliation is kept; a paper the list gives no authors takes the file's; a
    public reject of no listed paper is counted."""
    lists = tmp_path / "paperlists" / "nips"
    lists.mkdir(parents=True)
    (lists / "nips2023.json").write_text(json.dumps([
        {"id": "or2023a", "title": "One", "status": "Poster", "track": "main", "author": "Ada Lovelace, Wei Zhang",
         "aff": "Imperial College London; "},
        {"id": "or2023c", "title": "Authorless", "status": "Poster", "track": "main", "author": ""},
    ]), encoding="utf-8")
    (lists / "nips2024.json").write_text(json.dumps([
        {"id": "site_1", "title": "Two", "status": "Oral", "track": "main", "author": "Grace Hopper, Alan Turing"},
        {"id": "site_2", "title": "Three", "status": "Poster", "track": "main", "author": "Nobody Known"},
    ]), encoding="utf-8")
    _write(tmp_path / "paperlists-authors" / "nips" / "nips2023.json.gz", [
        record("or2023a", ["Ada Lovelace", "Wei Zhang"], ["~Ada_Lovelace1", "~Wei_Zhang7"],
               ["~Ada_Lovelace1", "~Wei_Zhang7"], aff=["University of Oxford", "Tsinghua University"],
               aff_domain=["ox.ac.uk", "tsinghua.edu.cn"], position=["Professor", "MS student"],
               homepage=["https://ada.example.org/", ""], dblp=["251/5608", ""], orcid=["", "0000-0002-1825-0098"],
               linkedin=["https://www.linkedin.com/feed/", "wei-zhang-7"]),
        record("or2023c", ["Katherine Johnson"], ["~Katherine_Johnson1"], ["~Katherine_Johnson1"],
               aff=["NASA"], aff_domain=["nasa.gov"]),
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
        ("Katherine Johnson", "~Katherine_Johnson1", "NASA", "paperlists-authors", None, "nasa.gov", "US"),
        ("Grace Hopper", "~Grace_Hopper1", "Stanford University", "paperlists-authors", None, None, "US"),
        ("Alan Turing", "~Alan_Turing1", "University of Cambridge", "paperlists-authors", None, None, "GB"),
        ("Nobody Known", None, None, None, None, None, None),
    ]
    # links as direct URLs; a feed page and an iD with a wrong check digit are counted, not kept
    assert query(db, "SELECT openreview_id, kind, url, last_year FROM profile_links ORDER BY 1, 2") == [
        ("~Ada_Lovelace1", "dblp", "https://dblp.org/pid/251/5608.html", 2023),
        ("~Ada_Lovelace1", "homepage", "https://ada.example.org/", 2023),
        ("~Wei_Zhang7", "linkedin", "https://www.linkedin.com/in/wei-zhang-7", 2023),
    ]
    person = json.loads(cli("person", "~Ada_Lovelace1", "--db", db, "--json").stdout)
    assert [(link["kind"], link["url"]) for link in person["profile_links"]] == [
        ("homepage", "https://ada.example.org/"), ("dblp", "https://dblp.org/pid/251/5608.html")]
    reasons = dict(query(db, "SELECT reason, sum(count) FROM skips GROUP BY reason"))
    assert reasons["author-file profile link that is no link of its kind (left out)"] == 2
    assert reasons["author-file record of no paper of the list"] == 1
    assert reasons["paper without authors in the list: its authors taken from the author file"] == 1
    assert reasons["author-file record joined to its paper by the author list (no shared id)"] == 1


@pytest.mark.fast
def test_a_malformed_author_file_is_one_skip(tmp_path):
    path = tmp_path / "nips2023.json.gz"
    path.write_bytes(gzip.compress(b'[{"id": "a", "author": "A B"}, {"id": '))
    skips = []
    assert author_files.read(path, ("neurips", 2023), skips.append, "f") == []
    assert [s.scope for s in skips] == ["file"]


@pytest.mark.fast
@pytest.mark.parametrize("kind,value,expected", [
    ("homepage", "ruizhao26.github.io", "https://ruizhao26.github.io"),
    ("homepage", "javascript:alert(1)", None),
    ("homepage", "http:// https://olinguyen.com/", None),
    ("dblp", "81/5094-1.html", "https://dblp.org/pid/81/5094-1.html"),
    ("dblp", "https://dblp.uni-trier.de/pid/251/5608.html", "https://dblp.org/pid/251/5608.html"),
    ("dblp", "https://dblp.org/pers/s/Simsekli:Umut.html", "https://dblp.org/pers/s/Simsekli:Umut.html"),
    ("dblp", "conf/iclr/KimKBLYS24", None),
    ("google_scholar", "L9Y5FbwAAAAJ", "https://scholar.google.com/citations?user=L9Y5FbwAAAAJ"),
    ("google_scholar", "https://scholar.google.com.tw/citations?user=7t2jzpgAAAAJ&hl=en",
     "https://scholar.google.com/citations?user=7t2jzpgAAAAJ"),
    ("google_scholar", "https://scholar.google.com/citations?hl=en", None),
    ("google_scholar", "https://evil.example/citations?user=7t2jzpgAAAAJ", None),
    ("orcid", "my-orcid?orcid=0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097"),
    ("orcid", "0000-0002-1825-0098", None),
    ("linkedin", "hengshuang-zhao-347b8391/?originalSubdomain=hk", "https://www.linkedin.com/in/hengshuang-zhao-347b8391"),
    ("linkedin", "https://www.linkedin.com/mwlite/in/pedrobizarro", "https://www.linkedin.com/in/pedrobizarro"),
    ("linkedin", "https://www.linkedin.com/feed/?trk=homepage", None),
])
def test_profile_links_become_direct_urls_or_nothing(kind, value, expected):
    assert links.url(kind, value) == expected


# --- the real files --------------------------------------------------------------------------

@pytest.mark.realdata
@pytest.mark.parametrize("venue,year,least", [("neurips", 2023, 0.85), ("neurips", 2024, 0.75), ("icml", 2025, 0.79),
                                               ("iclr", 2023, 0.72)])
def test_the_author_files_place_the_editions_with_names_only(full_db, venue, year, least):
    report = json.loads(cli("report", "--db", full_db, "--venue", venue, "--years", str(year), "--json").stdout)
    assert report["work_countries"]["coverage"] >= least
    joined = query(full_db, "SELECT count(*) FILTER (WHERE affiliation_source = 'paperlists-authors'), "
                            "count(openreview_id), count(*) FROM authorships WHERE venue = ? AND year = ? AND accepted",
                   [venue, year])[0]
    assert joined[0] > 0.5 * joined[2] and joined[1] > 0.9 * joined[2], joined


@pytest.mark.realdata
def test_annotators_get_direct_links_in_the_sheet_the_queue_and_the_form(shared, tmp_path):
    """NeurIPS 2023 from the data folder: the sheet, the sample's queue and the person's form
    in a real server give each person's own pages beside the searches."""
    import csv

    import httpx

    from conftest import serving

    db = tmp_path / "t.duckdb"
    build(shared, db, venue_names=["neurips"], years="2023")
    sheet = tmp_path / "sheet.csv"
    assert cli("sample", "--db", db, "--venue", "neurips", "--years", "2023", "--size", "40", "--seed", "3",
               "--output", sheet).returncode == 0
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    with_pages = [r for r in rows if r["profile_dblp"] or r["profile_homepage"]]
    assert len(with_pages) >= 0.5 * len(rows), len(with_pages)
    assert all(r["profile_dblp"].startswith("https://dblp.org/") for r in rows if r["profile_dblp"])
    token = cli("users", "add", "ann", "--role", "annotator", "--db", db).stdout.strip()
    person = with_pages[0]["person_id"]
    with serving(db, "--annotate") as base:
        login = httpx.post(f"{base}/annotate/login", data={"token": token}, headers={"Origin": base})
        cookies = dict(login.cookies)
        sample_id = with_pages[0]["sample_id"]
        queue = httpx.get(f"{base}/annotate/samples/{sample_id}", cookies=cookies)
        form = httpx.get(f"{base}/annotate/person/{person}", cookies=cookies)
    assert queue.status_code == 200 and form.status_code == 200
    own = with_pages[0]["profile_dblp"] or with_pages[0]["profile_homepage"]
    assert own.replace("&", "&amp;") in queue.text
    assert 'id="profile-links"' in form.text and own.replace("&", "&amp;") in form.text
    assert 'rel="noopener noreferrer nofollow"' in form.text


@pytest.mark.realdata
def test_papers_have_a_country_and_two_sources_mostly_agree(full_db):
    """Paper-level coverage of the editions since 2021 (≥ 90%, NeurIPS 2024 included), and
    where the list or schedule and the author files both give an affiliation, the same
    country for at least 92% of the pairs (NeurIPS 2021: 96%)."""
    for year in (2021, 2022, 2023, 2024):
        report = json.loads(cli("report", "--db", full_db, "--years", str(year), "--json").stdout)
        assert report["paper_countries"]["coverage"] >= 0.90, year
    agreement = {(v, y): (same / pairs) for v, y, same, pairs in query(
        full_db, "SELECT venue, year, same_country, country_pairs FROM affiliation_agreement")}
    assert agreement[("neurips", 2021)] >= 0.95 and agreement[("neurips", 2022)] >= 0.92
    assert agreement[("iclr", 2021)] >= 0.92


@pytest.mark.fast
def test_a_name_on_thousands_of_papers_costs_a_bounded_comparison():
    """Joining by author list compares an entry with the papers sharing its names, up to
    limits.MAX_AUTHOR_CANDIDATES; past that (one name on 5,000 papers) it is left unmatched."""
    from talent_tracker import limits
    from talent_tracker.records import Authorship, Paper
    from talent_tracker.sources.listings import papers_sharing_authors

    by_author = {"wei wang": set(range(5000)), "ada lovelace": {7}}
    assert papers_sharing_authors(["ada lovelace"], by_author, set()) == {7}
    assert papers_sharing_authors(["ada lovelace"], by_author, {7}) == set()
    assert papers_sharing_authors(["wei wang"], by_author, set()) is None
    assert limits.MAX_AUTHOR_CANDIDATES < 5000
    papers = [Paper("neurips", 2024, f"site_{i}", f"T{i}", "main", "Poster", "paperlists", "f", str(i),
                    authors=[Authorship(1, "Wei Wang")]) for i in range(5000)]
    skips = []
    author_files.merge(papers, [author_files.Submission("x", (author_files.Profile("Wei Wang", "~Wei_Wang1", "MIT"),))],
                       "f", ("neurips", 2024), skips.append)
    assert [s.reason for s in skips] == ["author-file record of no paper of the list"]
    assert all(p.authors[0].affiliation is None for p in papers)
