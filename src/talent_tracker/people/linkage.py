"""The people model: how likely two authorships are one researcher (Fellegi-Sunter, Splink).

Pairs of authorships that share a name key (`first last`, see people.name_key) are
compared; in a name block of more than MAX_NAME_BLOCK mentions, only pairs near each
other in the block sorted by institution, e-mail site and year (two overlapping
chunkings of the block: the sorted-neighbourhood method, Hernandez & Stolfo 1995), so
the pairs grow linearly with the mentions of one name, never with their square. Two
mentions that both carry an OpenReview id are not compared: the same id joins them
whatever they score and two ids never join (clusters.py). The comparisons:

- first name and surname, each exact, with a term-frequency adjustment: a match on a
  rare name part is strong evidence, on `Wang` or `Wei` weak. Frequencies are counted
  separately for first names and surnames over the whole corpus being built (whole-name
  frequencies, or none, were measured to fail on shared names);
- middle initials: equal, different, or missing on one side;
- co-authors: how many of the paper's other authors (name keys) the two share, at
  least 3, 2 or 1 (papers of more than MAX_COAUTHOR_TEAM authors give none);
- institution: the same institution, else the same country, else different;
- e-mail site: the registrable domain of the e-mail domain (the public-suffix list,
  so `kaist.re.kr` and `etri.re.kr` are two sites); webmail says nothing;
- years apart: at most 1, 3, 6, or more;
- title keywords the two papers share (at least 4, 2 or 1): people keep to their topics;
- venue: the same conference or another.

Each level's m and u probabilities (how often it occurs between two mentions of one
person, and between two different people) are estimated by `talent-tracker people train`:
u by random sampling of pairs, m from pairs that share an OpenReview id (for years apart
and venue, u too comes from the labelled venue-years: see _within_labels). They live in
`people_model.json` with the prior (the share of random pairs that are one person, from
the labels) and the match weight at which a pair is linked, tuned on the labelled
venue-years with their ids hidden (evaluation.py). A build only predicts: the same
comparisons on DuckDB (embedded) or Apache Spark (local, or a cluster), built by Splink
in each backend's SQL from the comparisons here and the stored parameters.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa

from talent_tracker import jsonread
from talent_tracker.errors import UserError
from talent_tracker.institutions.places import WEBMAIL
from talent_tracker.limits import MAX_COAUTHOR_TEAM, MAX_NAME_BLOCK, MAX_SMALL_FILE_BYTES, cores
from talent_tracker.names import name_key, name_tokens

BACKENDS = ("duckdb", "spark")
MODEL_FILE = "people_model.json"
# words that say nothing about a paper's topic
_STOP_WORDS = frozenset("""a an the of for and in on with to from by via using towards toward under over into
    is are be as at its it this that their through learning neural network networks deep model models method
    methods approach approaches based data towards new efficient improved improving""".split())
_WORD = re.compile(r"[a-z]{4,}")


def comparisons(parameters: dict[str, dict] | None = None, backend: str = "duckdb") -> list:
    """The comparisons, with their trained m and u probabilities when given."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    found = [
        cl.ExactMatch("first").configure(term_frequency_adjustments=True),
        cl.ExactMatch("last").configure(term_frequency_adjustments=True),
        cl.CustomComparison(output_column_name="middle", comparison_levels=[
            cll.NullLevel("middle"), cll.ExactMatchLevel("middle"), cll.ElseLevel()]),
        _shared("coauthors", [3, 2, 1], backend),
        cl.CustomComparison(output_column_name="institution", comparison_levels=[
            cll.NullLevel("inst"), cll.ExactMatchLevel("inst"), cll.ExactMatchLevel("country"), cll.ElseLevel()]),
        cl.ExactMatch("site"),
        cl.CustomComparison(output_column_name="years", comparison_levels=[
            cll.NullLevel("year"),
            cll.CustomLevel("abs(year_l - year_r) <= 1", "at most a year apart"),
            cll.CustomLevel("abs(year_l - year_r) <= 3", "at most 3 years apart"),
            cll.CustomLevel("abs(year_l - year_r) <= 6", "at most 6 years apart"),
            cll.ElseLevel()]),
        _shared("words", [4, 2, 1], backend),
        cl.ExactMatch("venue"),
    ]
    if not parameters:
        return found
    trained = []  # a model trained before a comparison existed does without it
    for creator in found:
        name = creator.create_output_column_name()
        if name in parameters:
            try:
                creator.configure(m_probabilities=parameters[name]["m"], u_probabilities=parameters[name]["u"])
            except (ValueError, TypeError, KeyError) as exc:  # a model of other comparisons: one line
                raise UserError(f"the people model does not fit the comparison {name!r} ({str(exc).strip()[:120]}); "
                                "retrain it with `talent-tracker people train`") from None
            trained.append(creator)
    return trained


def _shared(column: str, sizes: list[int], backend: str):
    """How many codes two lists share, at least each of `sizes` (Splink's ArrayIntersectAtSizes).

    On DuckDB the count is the left list filtered by membership in the right: 3-5 times
    faster than the size of list_intersect, which the levels' CASE computes once per level.
    The two counts are equal because each list holds a code at most once (features)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    if backend != "duckdb":
        return cl.ArrayIntersectAtSizes(column, sizes)
    count = f"len(list_filter({column}_l, lambda x: list_contains({column}_r, x)))"
    return cl.CustomComparison(output_column_name=column, comparison_levels=[
        cll.NullLevel(column), *(cll.CustomLevel(f"{count} >= {size}", f"at least {size} shared") for size in sizes),
        cll.ElseLevel()])


def settings(parameters: dict[str, dict] | None = None, prior: float | None = None, backend: str = "duckdb"):
    from splink import SettingsCreator
    from splink.blocking_rule_library import CustomRule

    extra = {"probability_two_random_records_match": prior} if prior else {}
    # within a name's chunks (see _chunks); never two mentions that both carry an OpenReview
    # id: the same id joins them whatever they score, two ids never join (clusters.py)
    rules = [CustomRule(f"l.name_key = r.name_key AND l.{chunk} = r.{chunk} AND (l.profile IS NULL OR r.profile IS NULL)")
             for chunk in ("chunk_a", "chunk_b")]
    return SettingsCreator(link_type="dedupe_only", blocking_rules_to_generate_predictions=rules,
                           comparisons=comparisons(parameters, backend), retain_intermediate_calculation_columns=False,
                           retain_matching_columns=False,
                           **extra)


@dataclass(frozen=True)
class Model:
    """Trained parameters (data, in people_model.json), and the threshold a build links at."""

    parameters: dict[str, dict]  # comparison -> {"m": [...], "u": [...]} per level, null level excluded
    prior: float  # probability that two random authorships are one person
    threshold: float  # a pair is one person at this match weight (log2 odds) or above
    provenance: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Model:
        if path is not None and not os.path.lexists(path):
            raise UserError(f"{path}: people model not found (make one with `talent-tracker people train`)")
        try:
            data = (jsonread.document_file(Path(path), MAX_SMALL_FILE_BYTES, "people model") if path is not None
                    else json.loads(resources.files(__package__).joinpath(MODEL_FILE).read_text("utf-8")))
            return cls(data["parameters"], float(data["prior"]), float(data["threshold"]), data.get("provenance", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"{path or MODEL_FILE}: not a readable people model ({exc})") from None

    def save(self, path: Path) -> None:
        data = {"parameters": self.parameters, "prior": self.prior, "threshold": self.threshold,
                "provenance": self.provenance}
        tmp = Path(path).with_name(f".{Path(path).name}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", "utf-8")
        os.replace(tmp, path)


def warm() -> None:
    """Load what predicting and linking will need (Splink, the public-suffix list, SciPy's
    graph routines) ahead of time: the build calls it while its workers read."""
    import scipy.sparse.csgraph  # noqa: F401 - clusters._components
    import splink.comparison_library  # noqa: F401
    from splink import DuckDBAPI, Linker  # noqa: F401

    _suffixes()


# --- the mentions as Splink compares them -------------------------------------------------

@lru_cache(maxsize=1)
def _suffixes():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@cache
def site(domain: str | None) -> str | None:
    """The registrable part of an e-mail domain (`cs.stanford.edu` -> `stanford.edu`,
    `kaist.re.kr` stays itself); None for webmail or nothing."""
    if not domain or domain in WEBMAIL:
        return None
    found = _suffixes().privatesuffix(domain.lower().strip("."))
    return None if found in WEBMAIL else found


@cache
def title_words(title: str | None) -> tuple[str, ...]:
    return tuple(sorted({w for w in _WORD.findall((title or "").lower()) if w not in _STOP_WORDS}))


@cache
def _name_parts(name: str) -> tuple[str, str | None, str | None, str | None]:
    """A name's key, first token, last token (if two or more) and middle initials."""
    tokens = name_tokens(name)
    return (name_key(name), tokens[0] if tokens else None, tokens[-1] if len(tokens) > 1 else None,
            "".join(t[0] for t in tokens[1:-1]) or None)


@dataclass(frozen=True)
class Named:
    """What the features take from the names and their papers alone, not from where the
    authors are (which a build's profile-year fill may change) nor from the titles: a build
    makes it in a helper process while it gathers the mentions and reads the titles."""

    keys: list[str]
    first: list[str | None]
    last: list[str | None]
    middle: list[str | None]
    coauthors: pa.ListArray  # per mention, its co-authors' name keys as codes
    teams: list[int]  # per paper, a code for its co-author team (equal teams, equal codes)


def name_features(mentions) -> Named:
    n = len(mentions.name)
    keys, first, last, middle = (list(c) for c in zip(*map(_name_parts, mentions.name))) if n else ([], [], [], [])
    codes: dict[str, int] = {}
    paper_of, n_papers = mentions.paper_index
    team: list[list[int]] = [[] for _ in range(n_papers)]
    for paper, key in zip(paper_of, keys):
        if key:
            team[paper].append(codes.setdefault(key, len(codes)))
    teams = [sorted(set(t)) if len(t) <= MAX_COAUTHOR_TEAM else [] for t in team]
    coauthors = _coauthors(teams, np.asarray(paper_of, np.int64), [codes.get(k, -1) if k else -1 for k in keys])
    return Named(keys, first, last, middle, coauthors, _interned(teams))


def _title_words(mentions) -> tuple[pa.ListArray, list[int]]:
    """Per mention, its paper's title words as codes; per paper, a code for its words."""
    paper_of, n_papers = mentions.paper_index
    titles = getattr(mentions, "title", None) or [None] * len(paper_of)
    codes: dict[str, int] = {}
    words_of: list[list[int] | None] = [None] * n_papers
    for i, paper in enumerate(paper_of):
        if words_of[paper] is None:
            words_of[paper] = [codes.setdefault(w, len(codes)) for w in title_words(titles[i])]
    # a mention's title words are its paper's: one list per paper, taken per mention
    words = pa.array([w or None for w in words_of], pa.list_(pa.int32())).take(pa.array(paper_of, pa.int64()))
    return words, _interned(words_of)


def features(mentions, named: Callable[[], Named] | None = None) -> pa.Table:
    """One row per authorship: what the comparisons read (`unique_id` is its index),
    `same_as`, the mention it copies (see _same_as; its own index if none), and `profile`,
    its OpenReview id (two mentions with ids are not compared: see settings). `named`:
    gives name_features(mentions) when that is made elsewhere (asked for once the titles
    are read).

    Co-authors and title words are lists of integer codes (the same name key or word, the
    same code): comparing lists of integers is about half the cost of lists of strings."""
    words, titles = _title_words(mentions)
    found = named() if named else name_features(mentions)
    n = len(mentions.name)
    paper_of, _ = mentions.paper_index
    sites = [site(d) for d in mentions.email_domain]
    country = getattr(mentions, "country", None) or [None] * n
    same_as = _same_as(paper_of, found.keys, found.coauthors.is_valid().to_pylist(), found.teams, titles,
                       found.first, found.last, found.middle, mentions.institution_id, country, sites, mentions.year)
    chunk_a, chunk_b = _chunks(found.keys, mentions.institution_id, sites, mentions.year, same_as)
    return pa.table({
        "unique_id": pa.array(range(n), pa.int64()),
        "same_as": pa.array(same_as, pa.int64()),
        "name_key": [k or None for k in found.keys],
        "chunk_a": pa.array(chunk_a, pa.int32()), "chunk_b": pa.array(chunk_b, pa.int32()),
        "first": found.first, "last": found.last, "middle": found.middle,
        "coauthors": found.coauthors,
        "inst": mentions.institution_id,
        "country": country,
        "site": sites,
        "year": pa.array(mentions.year, pa.int32()),
        "venue": mentions.venue,
        "words": words,
        "profile": pa.array(mentions.openreview_id, pa.string()),
    })


def _coauthors(teams: list[list[int]], paper_of: np.ndarray, own: list[int]) -> pa.ListArray:
    """Per mention, its paper's team less its own name's code (null when none is left).

    A team of k gives k lists of k - 1: built in numpy from the teams laid end to end,
    not list by list."""
    n = len(paper_of)
    team_sizes = np.array([len(t) for t in teams], np.int64)
    team_values = np.array([c for t in teams for c in t], np.int32)
    team_starts = np.cumsum(team_sizes) - team_sizes
    sizes = team_sizes[paper_of] if n else np.zeros(0, np.int64)
    mention = np.repeat(np.arange(n), sizes)  # each element's mention
    position = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # its place in the team
    values = team_values[team_starts[paper_of][mention] + position] if n else np.zeros(0, np.int32)
    keep = values != np.asarray(own, np.int64)[mention]
    kept = np.bincount(mention[keep], minlength=n)
    offsets = np.concatenate([[0], np.cumsum(kept)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[keep], pa.int32()), mask=pa.array(kept == 0))


def _interned(per_paper: list) -> list[int]:
    """Per paper, a code for its list (co-author team, title words): equal lists, equal codes."""
    codes: dict[tuple, int] = {}
    return [codes.setdefault(tuple(x or ()), len(codes)) for x in per_paper]


def _same_as(paper_of: list[int], keys: list[str], has_coauthors: list[bool], team: list[int], words: list[int],
             *columns: list) -> list[int]:
    """Per mention, the first mention identical to it in everything compared but the venue
    (its own index if none): the same paper under one name at two venues, or a list read
    twice. Such a mention is certainly the same person and is compared once, through the
    first (Splink's scores for the two would be the same). Only mentions with co-authors
    count (a lone `Wei Wang` with nothing else is no proof), and no group holding two
    mentions of one paper (two `Wei Wang`s of one paper are two people).

    A mention's co-authors are its paper's team less its own name, so the name and the
    team's code stand for them; the title words likewise by their code."""
    # first by name, team and title alone (a copy shares all three): only those few are
    # compared on everything
    trios = [(key, team[paper], words[paper]) if key and with_coauthors else None
             for key, paper, with_coauthors in zip(keys, paper_of, has_coauthors)]
    seen = Counter(trios)
    groups: dict[tuple, list[int]] = {}
    for i, trio in enumerate(trios):
        if trio is not None and seen[trio] > 1:
            groups.setdefault((*trio, *(c[i] for c in columns)), []).append(i)
    found = list(range(len(keys)))
    for members in groups.values():
        if len(members) > 1 and len({paper_of[i] for i in members}) == len(members):
            for i in members[1:]:
                found[i] = members[0]
    return found


def _chunks(keys: list[str], institutions: list, sites: list, years: list, same_as: list[int]
            ) -> tuple[list[int], list[int | None]]:
    """Per mention, its chunk in two overlapping chunkings of its name block. In a block of
    at most MAX_NAME_BLOCK distinct mentions the whole block is compared: chunk 0, and no
    second chunk (null joins nothing, so the second blocking rule makes no pairs there). A
    larger block is sorted by institution, e-mail site and year and cut every
    MAX_NAME_BLOCK mentions, the second time half a chunk later: two mentions less than
    half a chunk apart share a chunk. A mention compared through another (same_as) is not
    counted."""
    n = len(keys)
    chunk_a: list[int] = [0] * n
    chunk_b: list[int | None] = [None] * n
    sizes = Counter(key for i, key in enumerate(keys) if key and same_as[i] == i)
    large = {key for key, size in sizes.items() if size > MAX_NAME_BLOCK}  # the few blocks to cut
    blocks: dict[str, list[int]] = defaultdict(list)
    if large:
        for i, key in enumerate(keys):
            if key in large and same_as[i] == i:
                blocks[key].append(i)
    half = MAX_NAME_BLOCK // 2
    for members in blocks.values():
        members.sort(key=lambda i: (institutions[i] or "", sites[i] or "", years[i], i))
        for rank, i in enumerate(members):
            chunk_a[i], chunk_b[i] = rank // MAX_NAME_BLOCK, (rank + half) // MAX_NAME_BLOCK
    return chunk_a, chunk_b


# --- training -----------------------------------------------------------------------------

def train(table: pa.Table, labels: list[str | None], seed: int = 7) -> tuple[dict[str, dict], float]:
    """Estimate each level's m (from pairs that share a label) and u (random pairs), and the
    prior (the share of labelled pairs that share a label)."""
    from splink import DuckDBAPI, Linker

    labelled = [x for x in labels if x]
    if len(labelled) < 100:
        raise UserError("too few authorships with an OpenReview id to train on (at least 100 are needed)")
    counts: dict[str, int] = {}
    for x in labelled:
        counts[x] = counts.get(x, 0) + 1
    n = len(labelled)
    prior = sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))
    with_labels = table.append_column("label", pa.array(labels, pa.string()))
    api = DuckDBAPI(connection=_quiet_duckdb())
    linker = Linker(api.register(with_labels), settings(prior=prior), log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=seed)
    linker.training.estimate_m_from_label_column("label")
    parameters = _parameters(linker.misc.save_model_to_json())
    window = [i for i, x in enumerate(labels) if x]
    parameters["years"] = _within_labels(parameters["years"], _year_levels(table.column("year").take(window).to_pylist()))
    parameters["venue"] = _within_labels(parameters["venue"], _venue_levels(table.column("venue").take(window).to_pylist()))
    return parameters, prior


# The labels span a few venue-years (2021-2025 in the snapshot), so m of the years and venue
# comparisons is measured inside that window; u by random sampling would be measured over
# every year and venue built, and a gap the window cannot show (5 years apart) would read
# as evidence against. Their u is therefore the exact level distribution of random pairs of
# the labelled authorships; a level no such pair reaches carries no evidence (m = u).

def _pair_levels(counts: Counter, level, n_levels: int) -> list[float]:
    total = sum(counts.values())
    found = [0.0] * n_levels
    for a, na in counts.items():
        for b, nb in counts.items():
            found[level(a, b)] += na * nb / total / total
    return found


def _year_levels(years: list[int]) -> list[float]:
    def gap(a: int, b: int) -> int:
        d = abs(a - b)
        return 0 if d <= 1 else 1 if d <= 3 else 2 if d <= 6 else 3  # the years comparison's levels

    return _pair_levels(Counter(years), gap, 4)


def _venue_levels(venues: list[str]) -> list[float]:
    return _pair_levels(Counter(venues), lambda a, b: 0 if a == b else 1, 2)


def _within_labels(levels: dict, window_u: list[float]) -> dict:
    """m as estimated from the labels, u from their window; a level no pair of the window
    reaches carries no evidence (m = u, the sampled u)."""
    m = [levels["m"][i] if x > 0 else levels["u"][i] for i, x in enumerate(window_u)]
    u = [x if x > 0 else levels["u"][i] for i, x in enumerate(window_u)]
    return {"m": m, "u": u}


def _parameters(model: dict) -> dict[str, dict]:
    """m and u per comparison level from Splink's model; a level no labelled pair reached
    gets m = u (a Bayes factor of 1: no evidence either way)."""
    found = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        u = [float(lv.get("u_probability") or 1e-6) for lv in levels]
        m = [float(lv["m_probability"]) if lv.get("m_probability") else u[i] for i, lv in enumerate(levels)]
        found[comparison["output_column_name"]] = {"m": m, "u": u}
    return found


def match_weight(probability: float) -> float:
    return math.log2(probability / (1 - probability))


# --- prediction -----------------------------------------------------------------------------

def predict(table: pa.Table, model: Model, threshold: float, backend: str = "duckdb") -> tuple[np.ndarray, ...]:
    """Pairs (left, right, match weight) at `threshold` or above, sorted strongest first."""
    if backend not in BACKENDS:
        raise UserError(f"unknown people backend {backend!r} (choose {' or '.join(BACKENDS)})")
    if table.num_rows < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    same_as = table.column("same_as").to_numpy()
    first = same_as == np.arange(len(same_as))  # compared itself, not through a copy
    copies = np.flatnonzero(~first)
    compared = _without(table, copies).drop_columns(["same_as"])
    left, right, weight = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    if compared.num_rows >= 2:
        pairs = (_predict_spark(compared, model, threshold) if backend == "spark"
                 else _predict_duckdb(compared, model, threshold))  # DuckDB's come sorted
        left, right = pairs.column("unique_id_l").to_numpy(), pairs.column("unique_id_r").to_numpy()
        weight = pairs.column("match_weight").to_numpy()
        if backend == "spark":
            order = np.lexsort((right, left, -np.round(weight, 9)))  # the order of STRONGEST_FIRST
            left, right, weight = left[order], right[order], weight[order]
    # a copy is linked to the mention it copies, above any threshold: before every scored pair
    order = np.lexsort((copies, same_as[copies]))
    left, right = np.concatenate([same_as[copies][order], left]), np.concatenate([copies[order], right])
    weight = np.concatenate([np.full(len(copies), np.inf), weight])
    return left, right, weight


def _without(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """`table` less `rows` (sorted). When they are few, the slices between them, which copy
    nothing (filtering copied every column: 0.1 s on the paper lists, for 262 rows)."""
    if not len(rows):
        return table
    if len(rows) > 1024:
        keep = np.ones(table.num_rows, bool)
        keep[rows] = False
        return table.filter(pa.array(keep))
    bounds = [-1, *rows.tolist(), table.num_rows]
    pieces = [table.slice(a + 1, b - a - 1) for a, b in itertools.pairwise(bounds) if b - a > 1]
    return pa.concat_tables(pieces) if pieces else table.slice(0, 0)


# strongest first; ties in a fixed order, so every backend links in the same order (the
# weights rounded, as two backends may add the same terms in another order)
STRONGEST_FIRST = "round(match_weight, 9) DESC, unique_id_l, unique_id_r"


def _predict_duckdb(table: pa.Table, model: Model, threshold: float) -> pa.Table:
    from splink import DuckDBAPI, Linker

    con = _quiet_duckdb()
    try:
        api = DuckDBAPI(connection=con)
        # the settings are the package's own, checked by the tests: Splink's check of them
        # (it only logs) parses every SQL fragment again
        linker = Linker(api.register(table), settings(model.parameters, model.prior), log_level=logging.ERROR,
                        validate_settings=False)
        found = linker.inference.predict(threshold_match_weight=threshold)
        return (found.as_duckdbpyrelation().select("unique_id_l, unique_id_r, match_weight").order(STRONGEST_FIRST)
                .to_arrow_table())
    finally:
        con.close()


def _quiet_duckdb():
    """An in-memory DuckDB that draws no progress bar on stdout during long queries."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {cores()}")  # DuckDB would take every core of the machine
    return con


def _predict_spark(table: pa.Table, model: Model, threshold: float) -> pa.Table:
    from splink import Linker, SparkAPI

    spark = spark_session()
    api = SparkAPI(spark_session=spark)
    linker = Linker(api.register(table), settings(model.parameters, model.prior, "spark"), log_level=logging.ERROR,
                    validate_settings=False)  # as on DuckDB
    found = linker.inference.predict(threshold_match_weight=threshold)
    frame = found.as_spark_dataframe().select("unique_id_l", "unique_id_r", "match_weight")
    return frame.toArrow()


def spark_session():
    """A Spark session for the `spark` backend: `local[*]` on this machine unless
    TALENT_TRACKER_SPARK_MASTER names a cluster (`spark://host:7077`, `yarn`, ...); other
    settings come from Spark's own configuration (spark-defaults.conf, SPARK_CONF_DIR).
    Spark keeps one active session per process itself: a second call gets the same one."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError:
        raise UserError("the spark backend needs pyspark: pip install 'talent-tracker[spark]'") from None
    master = os.environ.get("TALENT_TRACKER_SPARK_MASTER", "local[*]")
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    try:
        spark = (SparkSession.builder.master(master).appName("talent-tracker people")
                 .config("spark.jars", similarity_jar_location())
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.shuffle.partitions", os.environ.get("TALENT_TRACKER_SPARK_PARTITIONS", "16"))
                 .config("spark.driver.memory", os.environ.get("TALENT_TRACKER_SPARK_MEMORY", "4g"))
                 .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR")
                 .getOrCreate())
    except Exception as exc:  # Java missing, master unreachable: one line, whatever py4j raises
        raise UserError(f"cannot start Spark ({master}): {str(exc).strip().splitlines()[0][:200]}") from None
    spark.sparkContext.setLogLevel("ERROR")
    checkpoints = tempfile.mkdtemp(prefix="talent-tracker-spark-")
    atexit.register(shutil.rmtree, checkpoints, ignore_errors=True)  # Splink's checkpoints outlive nothing
    spark.sparkContext.setCheckpointDir(checkpoints)
    return spark
