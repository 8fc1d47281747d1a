"""A small synthetic data folder with every quirk of the real paper lists, for the fast tier.

Each file is a few invented records in the layout of its real counterpart in
../shared/data/paperlists (Paper Copilot's lists), reproducing one or more quirks the
build must handle; the comment above each names the quirk. `write(root)` writes them as
`root/paperlists/...`; `build_mini(root)` also builds the database from them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

US, CN, GB = "United States", "China", "United Kingdom"


def _nips2018() -> list[dict]:
    # semicolon-separated `author`; `aff` per author, where `+` joins two institutions of
    # one author; the source's own answer key (aff_unique_norm, aff_country_unique) beside it
    def paper(i, title, status, authors, affs, norm, countries, index, country_index):
        return {"id": str(11000 + i), "title": title, "status": status, "track": "main",
                "site": f"https://nips.cc/virtual/2018/poster/{11000 + i}", "author": "; ".join(authors),
                "aff": "; ".join(affs), "aff_domain": ";".join("" for _ in authors),
                "aff_unique_norm": ";".join(norm), "aff_unique_index": ";".join(index),
                "aff_country_unique": ";".join(countries), "aff_country_unique_index": ";".join(country_index)}

    return [
        paper(1, "A Bayes-Sard Cubature Method", "Poster", ["Toni Karvonen", "Chris J Oates", "Simo Sarkka"],
              ["Aalto University, Finland", "Newcastle University, UK + Alan Turing Institute, UK", "Aalto University, Finland"],
              ["Aalto University", "Newcastle University", "Alan Turing Institute"], ["Finland", GB],
              ["0", "1+2", "0"], ["0", "1+1", "0"]),
        paper(2, "Learning to Rank Quickly", "Oral", ["Ada Lovelace", "Wei Zhang"],
              ["Stanford University", "Tsinghua University"], ["Stanford University", "Tsinghua University"],
              [US, CN], ["0", "1"], ["0", "1"]),
        paper(3, "Graphs All the Way Down", "Poster", ["Wei Zhang", "Grace Hopper", "Alan Turing"],
              ["Tsinghua University", "Massachusetts Institute of Technology", "University of Oxford"],
              ["Tsinghua University", "Massachusetts Institute of Technology", "University of Oxford"],
              [CN, US, GB], ["0", "1", "2"], ["0", "1", "2"]),
        paper(4, "Bandits in the Wild", "Spotlight", ["Li Na", "Grace Hopper"],
              ["Peking University", "Massachusetts Institute of Technology"],
              ["Peking University", "Massachusetts Institute of Technology"], [CN, US], ["0", "1"], ["0", "1"]),
        paper(5, "Optimal Transport Made Simple", "Poster", ["Marie Curie", "Li Na"],
              ["Google", "Peking University"], ["Google", "Peking University"], [US, CN], ["0", "1"], ["0", "1"]),
    ]


FILES: dict[str, list[dict]] = {
    # a generational suffix set apart by the separator: `WYATT; Jr` is one author; every
    # paper of the proceedings years is a `Poster`
    "nips/nips1987.json": [
        {"id": "2c0fd7c8c5", "title": "A Method for the Design of Stable Lateral Inhibition Networks",
         "author": "J.L. WYATT; Jr; D.L. STANDLEY", "status": "Poster"},
        {"id": "3d1fe8d9d6", "title": "Connectivity Versus Entropy", "author": "Yaser S. Abu-Mostafa",
         "status": "Poster"},
    ],
    # a paper listed again from its oral session, with bare names and a title differing in
    # case: folded into the paper, which becomes oral; an award talk that is no 2017 paper
    "nips/nips2017.json": [
        {"id": "9161", "title": "End-to-End Differentiable Proving", "status": "Poster", "track": "main",
         "site": "https://nips.cc/virtual/2017/poster/9161", "author": "Tim Rocktaschel; Sebastian Riedel",
         "aff": "University College London; University College London"},
        {"id": "10058", "title": "End-to-end Differentiable Proving", "status": "Oral", "track": "main",
         "site": "https://nips.cc/virtual/2017/oral/10058", "author": "Tim Rocktaschel; Sebastian Riedel"},
        {"id": "9253", "title": "A Unified Approach to Interpreting Model Predictions", "status": "Poster",
         "track": "main", "site": "https://nips.cc/virtual/2017/poster/9253", "author": "Scott M Lundberg; Su-In Lee",
         "aff": "University of Washington; University of Washington"},
        {"id": "10100", "title": "Test of Time Award", "status": "Oral", "track": "main",
         "author": "Ali Rahimi; Benjamin Recht", "aff": "Google; UC Berkeley"},
    ],
    "nips/nips2018.json.gz": _nips2018(),
    # authors separated by `, `; an apostrophe escaped twice (`&amp;#x27;`)
    "nips/nips2019.json": [
        {"id": "site_909d9fddd4", "title": "Adaptive Temporal-Difference Learning for Policy Evaluation",
         "author": "Boaz Barak, Chi-Ning Chou, Zhixian Lei, Tselil Schramm", "status": "Poster", "track": "main"},
        {"id": "site_0a1b2c3d4e", "title": "Language Models Learn Slowly",
         "author": "Cyprien de Masson d&amp;#x27;Autume, Ada Lovelace", "status": "Oral", "track": "main"},
    ],
    # OpenReview years: per-author ids, affiliations, e-mail domains and positions, `;`
    # separated; lists as long as the authors line up; lists as long as the authors with
    # a profile (`~` id) belong to those authors, in order
    "nips/nips2021.json": [
        {"id": "-440wKL2oJV", "title": "Detecting Anomalies Together", "track": "main", "status": "Poster",
         "author": "Aodong Li;Alex Boyd;Padhraic Smyth", "authorids": "~Aodong_Li1;~Alex_Boyd1;~Padhraic_Smyth1",
         "aff": "University of California, Irvine;University of California, Irvine;University of California, Irvine",
         "aff_domain": "uci.edu;uci.edu;uci.edu", "position": "PhD student;PhD student;Full Professor"},
        {"id": "-16dlERMZkO", "title": "Private Non-smooth ERM and SCO in Subquadratic Steps", "track": "main",
         "status": "Spotlight", "author": "Janardhan Kulkarni;Yin Tat Lee;Daogao Liu",
         "authorids": "~Janardhan_Kulkarni2;yintat@uw.edu;~Daogao_Liu1",
         "aff": "Microsoft Research, Redmond;University of Washington, Seattle", "aff_domain": "microsoft.com;uw.edu",
         "position": "Researcher;PhD student"},
        {"id": "Xy12Oral00", "title": "Scaling Laws for Everything", "track": "main", "status": "Oral",
         "author": "Wei Zhang;Ada Lovelace", "authorids": "~Wei_Zhang1;~Ada_Lovelace1",
         "aff": "Tsinghua University;Stanford University", "aff_domain": "tsinghua.edu.cn;stanford.edu",
         "position": "Associate Professor;PhD student"},
    ],
    # the field is `authors`, not `author`; the datasets track is not the main track
    "nips/nips2022.json": [
        {"id": "NaW6T93F34m", "title": "\"Lossless\" Compression of Deep Neural Networks", "track": "main",
         "status": "Poster", "authors": "lingyu gu, Yongqi Du, yuan zhang"},
        {"id": "DsTrack0001", "title": "A Benchmark of Benchmarks", "track": "Datasets and Benchmarks",
         "status": "Poster", "authors": "Ada Lovelace, Grace Hopper"},
    ],
    # e-mail addresses where later years have profile ids
    "iclr/iclr2018.json": [
        {"id": "B14TlG-RW", "title": "QANet: Combining Local Convolution with Global Self-Attention", "track": "main",
         "status": "Poster", "author": "Adams Wei Yu;Quoc V. Le", "authorids": "weiyu@cs.cmu.edu;qvl@google.com",
         "aff": ";", "aff_domain": ";", "position": ";"},
    ],
    # rejected and withdrawn submissions are listed too; a record with neither title nor
    # authors is broken
    "iclr/iclr2021.json": [
        {"id": "acc0000001", "title": "Regret Bounds Without Tears", "track": "main", "status": "Poster",
         "author": "Grace Hopper;Wei Zhang", "authorids": "~Grace_Hopper1;~Wei_Zhang1",
         "aff": "Massachusetts Institute of Technology;Tsinghua University", "aff_domain": "mit.edu;tsinghua.edu.cn",
         "position": "Full Professor;Associate Professor"},
        {"id": "rej0000001", "title": "A Rejected Idea", "track": "main", "status": "Reject", "author": "Joe Bloggs",
         "authorids": "~Joe_Bloggs1", "aff": "", "aff_domain": "", "position": ""},
        {"id": "wdr0000001", "title": "A Withdrawn Idea", "track": "main", "status": "Withdraw", "author": "Jane Roe",
         "authorids": "~Jane_Roe1", "aff": "", "aff_domain": "", "position": ""},
        {"id": "dsk0000001", "title": "A Desk-Rejected Idea", "track": "main", "status": "Desk Reject",
         "author": "John Doe", "authorids": "~John_Doe1", "aff": "", "aff_domain": "", "position": ""},
        {"id": "SJUdkecgx", "title": "", "track": "main", "status": "Reject", "author": "", "authorids": ""},
    ],
    # a record without a status: reported, never counted as accepted
    "icml/icml2017.json": [
        {"id": "e8550b0960", "title": "Understanding the Representation of Multilayer Perceptrons",
         "author": "Tasha Nagamine; Nima Mesgarani", "aff": "Columbia University; Columbia University"},
        {"id": "f9661c1a71", "title": "Deep Nets Are Fine", "author": "Ada Lovelace; Wei Zhang", "status": "Poster",
         "track": "main", "aff": "Stanford University; Tsinghua University"},
    ],
}


def write(root: Path) -> Path:
    """The synthetic paper lists under `root/paperlists`; returns that folder."""
    lists = root / "paperlists"
    for rel, records in FILES.items():
        path = lists / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(records).encode()
        path.write_bytes(gzip.compress(data, mtime=0) if rel.endswith(".gz") else data)
    return lists


def build_mini(root: Path, **selection) -> Path:
    """The database built from the synthetic paper lists (no universities list); `selection`:
    build's `venue_names` and `years`, e.g. one venue-year for what publishes."""
    from talent_tracker.build.pipeline import build

    db = root / "mini.duckdb"
    build(write(root), db, **selection)
    return db


# --- an edition large enough to sample: the analyst's path in the fast tier ----------------

# (affiliation as printed, country) of the synthetic authors, all in the curated registry
PLACES = [("Stanford University", "US"), ("Massachusetts Institute of Technology", "US"), ("Google", "US"),
          ("Carnegie Mellon University", "US"), ("Tsinghua University", "CN"), ("Peking University", "CN"),
          ("Zhejiang University", "CN"), ("University of Oxford", "GB"), ("Google DeepMind", "GB"),
          ("Mila - Quebec AI Institute", "CA"), ("Technical University of Munich", "DE"), ("Inria", "FR"),
          ("KAIST", "KR"), ("National University of Singapore", "SG"), ("Indian Institute of Science", "IN")]
EDITION_PAPERS = 100


def edition(root: Path) -> Path:
    """A synthetic NeurIPS 2020 of EDITION_PAPERS accepted papers (one in ten oral) with three
    authors each, every author on one paper with a registry affiliation, and published
    figures for it in the layout of published/macropolo_tracker.csv; returns the data folder."""
    papers = []
    for i in range(EDITION_PAPERS):
        authors = [f"Author{3 * i + k} Surname{3 * i + k}" for k in range(3)]
        affs = [PLACES[(7 * i + 3 * k) % len(PLACES)][0] for k in range(3)]
        papers.append({"id": f"syn{i:04d}", "title": f"Synthetic Paper Number {i}", "track": "main",
                       "status": "Oral" if i % 10 == 0 else "Poster", "author": ", ".join(authors),
                       "aff": "; ".join(affs)})
    folder = root / "paperlists" / "nips"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nips2020.json").write_text(json.dumps(papers), encoding="utf-8")
    published = root / "published"
    published.mkdir(exist_ok=True)
    source = "https://example.org/synthetic"
    rows = [("top20", "work country", "US", 45, ""), ("top20", "origin country", "CN", 40, ""),
            ("top20", "origin country", "US", 20, ""), ("top20", "origin country", "Europe", 15, "Europe as one region"),
            ("top20", "origin of those working in the US", "CN", 35, ""),
            ("top20", "work abroad (work country differs from origin)", "all", 50, ""),
            ("top20", "graduate country of those with origin CN", "CN", 50, ""),
            ("top20", "work country of those with origin IN", "IN", 20, ""),
            ("top2", "work country", "US", 60, "oral authors")]
    lines = ["edition,population,tier,measure,category,percent,note,source"]
    for tier, measure, category, percent, note in rows:
        population = "NeurIPS 2020 " + ("oral" if tier == "top2" else "accepted") + " authors"
        lines.append(f"2021,{population},{tier},{measure},{category},{percent},{note},{source}")
    (published / "macropolo_tracker.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


# --- the API's searches, filters and pages in the fast tier (test_api.py) ----------------------

def _openreview(pid: str, title: str, status: str, authors: list[str], affs: list[str]) -> dict:
    # the OpenReview layout of nips2021 above: per-author profile ids, affiliations, domains
    return {"id": pid, "title": title, "track": "main", "status": status, "author": ";".join(authors),
            "authorids": ";".join("~" + a.replace(" ", "_") + "1" for a in authors), "aff": ";".join(affs),
            "aff_domain": ";".join("" for _ in authors), "position": ";".join("" for _ in authors)}


# statuses of the generated ICLR 2020 papers, in turn: orals (`Talk`), other accepted, refused
ICLR2020_STATUSES = ("Talk", "Poster", "Spotlight", "Reject", "Withdraw", "Poster")
ICLR2020_PAPERS = 36  # three Tsinghua authors each: more people there than a page of top people

API_FILES: dict[str, list[dict]] = {
    # many authors of one institution; titles holding `Transformer` (one paper in three),
    # accepted or not
    "iclr/iclr2020.json": [
        _openreview(f"icl20p{i:03d}", f"Transformer Study {i}" if i % 3 == 0 else f"Graph Study {i}",
                    ICLR2020_STATUSES[i % len(ICLR2020_STATUSES)],
                    [f"Scholar{3 * i + k} Family{3 * i + k}" for k in range(3)], ["Tsinghua University"] * 3)
        for i in range(ICLR2020_PAPERS)],
    # `transformer` in any case; a French affiliation on an accepted and on a refused paper;
    # affiliations that a spreadsheet would read as formulas (`=`, `@`, `+` first); Chinese
    # industry labs by an alias
    "iclr/iclr2022.json": [
        _openreview("icl22p001", "Vision TRANSFORMERS at Scale", "Oral", ["Wei Zhang", "Marie Dubois"],
                    ["Tsinghua University", "Inria"]),
        _openreview("icl22p002", "Do transformers Dream?", "Poster", ["Dana Formula", "Sam Formula", "Pat Formula"],
                    ["=University of British Columbia", "@Home Research", "+Plus Lab"]),
        _openreview("icl22p003", "A Rejected Transformer", "Reject", ["Jean Martin"], ["Inria"]),
        _openreview("icl22p004", "Recommending What to Buy", "Spotlight", ["Ming Li", "Hong Wang"],
                    ["Alibaba Group", "Baidu Research"]),
    ],
    # names with accents, with a hyphen, in another script, and their plain look-alikes; orals
    # (top2) and spotlights (top20) of ICML's own layout
    "icml/icml2021.json": [
        {"id": "site_api0001", "title": "Orals Are Rare", "author": "Ada Lovelace, Erik Johansson, Thomas Müller, Łukasz Kaiser",
         "status": "Oral", "track": "main", "site": "https://icml.cc/virtual/2021/poster/90001"},
        {"id": "site_api0002", "title": "Names Are Hard", "author": "Erik Johansson, Xiao-Hua Zhou",
         "status": "Oral", "track": "main", "site": "https://icml.cc/virtual/2021/poster/90002"},
        {"id": "site_api0003", "title": "Spotlights Are Not", "author": "Thomas Muller, Lukas Weber, Hua Chen, 王伟",
         "status": "Spotlight", "track": "main", "site": "https://icml.cc/virtual/2021/poster/90003"},
    ],
}


def api_edition(root: Path) -> Path:
    """The synthetic NeurIPS 2020 of `edition`, the quirk lists of `write` and API_FILES in
    one data folder, for the API's searches, filters and pages; returns the data folder."""
    edition(root)
    lists = write(root)
    for rel, records in API_FILES.items():
        (lists / rel).parent.mkdir(parents=True, exist_ok=True)
        (lists / rel).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return root
