"""Authorship -> person: one person per researcher, across papers, venues and years.

Rules first, then the model (linkage.py), under hard constraints that nothing overrides:
two different OpenReview ids are never one person; two authors of the same paper are
never one person (but one OpenReview id is one person even if the source lists it twice
on a paper); an analyst's "different" is never joined.

1. the same OpenReview profile id, across venues and years (authoritative);
2. the same e-mail address, between mentions whose names agree (author-id lists are
   sometimes out of line with the names);
3. analysts' decisions (the workspace's `person_overrides`): "same" joins;
4. the model: every pair of mentions sharing a name key is scored (first-name and
   surname frequencies, co-authors, institution, e-mail site, years, title words), and
   pairs at the model's threshold or above are joined, strongest first (single linkage,
   each join checked against the constraints);
5. initials (`J. Smith`) join the one full-name person of that initial and surname they
   share a co-author or institution with; reversed names (`Koller Daphne`) join
   `Daphne Koller` on the same evidence.

Person ids are stable: the smallest OpenReview id of the person if any, else a hash of
their first authorship (venue, year, paper, position), so the same inputs give the same ids.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_COAUTHOR_TEAM, MAX_FORM_TEXT, MAX_SHEET_BYTES, MAX_SHEET_ROWS, read_text
from talent_tracker.names import name_key, name_tokens
from talent_tracker.people import linkage


@dataclass
class Mentions:
    """The authorship columns person resolution reads (one entry per authorship)."""

    venue: list[str]
    year: list[int]
    paper_id: list[str]
    position: list[int]
    name: list[str]
    openreview_id: list[str | None]
    email: list[str | None]
    email_domain: list[str | None]
    institution_id: list[str | None]
    country: list[str | None] | None = None
    title: list[str | None] | None = None  # the paper's

    @cached_property
    def paper_index(self) -> tuple[list[int], int]:
        """Each mention's paper as an index (in order of first appearance), and how many
        papers there are: made once, for the features and for linking."""
        found: dict[tuple, int] = {}
        return [found.setdefault(p, len(found)) for p in zip(self.venue, self.year, self.paper_id)], len(found)


def mentions_of(table, papers=None) -> Mentions:
    """The Mentions of an `authorships` Arrow table (with the titles of `papers`, if given)."""
    column = lambda name: table.column(name).to_pylist()  # noqa: E731
    titles = None
    if papers is not None:
        by_paper = dict(zip(zip(papers.column("venue").to_pylist(), papers.column("year").to_pylist(),
                                papers.column("paper_id").to_pylist()), papers.column("title").to_pylist()))
        titles = [by_paper.get(key) for key in zip(column("venue"), column("year"), column("paper_id"))]
    return Mentions(column("venue"), column("year"), column("paper_id"), column("author_position"),
                    column("author_name"), column("openreview_id"), column("email"), column("email_domain"),
                    column("institution_id"), column("country") if "country" in table.column_names else None, titles)


PERSONS_SQL = """
SELECT person_id,
       mode(author_name ORDER BY author_name) AS display_name,
       list(DISTINCT author_name ORDER BY author_name) AS name_variants,
       list(DISTINCT openreview_id ORDER BY openreview_id) FILTER (WHERE openreview_id IS NOT NULL) AS openreview_ids,
       min(year)::INTEGER AS first_year, max(year)::INTEGER AS last_year,
       count(DISTINCT (venue, year, paper_id))::INTEGER AS n_papers,
       count(DISTINCT (venue, year, paper_id)) FILTER (WHERE accepted)::INTEGER AS n_accepted_papers,
       list(DISTINCT venue ORDER BY venue) AS venues
FROM authorships
GROUP BY person_id
"""


def persons_table(authorships):
    """One row per person, from an Arrow table of authorships that carry a person_id (a
    build makes the same table inside its database: database.Query(PERSONS_SQL))."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("authorships", authorships)
        return con.sql(PERSONS_SQL).to_arrow_table()
    finally:
        con.close()


class _Clusters:
    """Union-find under the hard constraints: a join is refused when it would put two
    different OpenReview profiles, two authors of one paper, or a pair an analyst called
    different into one person."""

    def __init__(self, n: int, profiles: list[str | None], paper_of: list[int]):
        self.parent = list(range(n))
        self.profile: dict[int, str] = {i: p for i, p in enumerate(profiles) if p}
        self.apart: dict[int, set[int]] = defaultdict(set)
        self.paper_of = paper_of
        self.papers: dict[int, set[int]] = {}  # a root's papers, once it has joined anyone

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def _papers(self, root: int) -> set[int]:
        return self.papers.get(root) or {self.paper_of[root]}

    def union(self, a: int, b: int, same_paper_allowed: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        pa, pb = self.profile.get(ra), self.profile.get(rb)
        if pa and pb and pa != pb:
            return False
        if rb in {self.find(x) for x in self.apart.get(ra, ())}:
            return False
        papers_a, papers_b = self._papers(ra), self._papers(rb)
        if not same_paper_allowed and not papers_a.isdisjoint(papers_b):
            return False
        if ra < rb:
            ra, rb = rb, ra  # the smaller index stays the root
            papers_a, papers_b = papers_b, papers_a
        self.parent[ra] = rb
        if pa or pb:
            self.profile[rb] = pa or pb
        self.profile.pop(ra, None)
        self.apart[rb] |= self.apart.pop(ra, set())
        # the smaller set joins the larger in place: each paper moves O(log n) times
        small, large = sorted((papers_a, papers_b), key=len)
        large |= small  # a root's own set, or one _papers made for a lone mention
        self.papers[rb] = large
        self.papers.pop(ra, None)
        return True

    def merge_groups(self, group: np.ndarray, free: np.ndarray) -> None:
        """Join at once every mention of each group marked `free` (it holds no conflict):
        the smallest index becomes the root, as `union` would make it."""
        members = np.flatnonzero(free)
        if not len(members):
            return
        # members ascend: a group's first member is its smallest
        _, first, inverse = np.unique(group[members], return_index=True, return_inverse=True)
        for i, root in zip(members.tolist(), members[first][inverse].tolist()):
            if root == i:
                continue
            self.parent[i] = root
            papers = self.papers.get(root)
            if papers is None:
                papers = self.papers[root] = {self.paper_of[root]}
            papers.add(self.paper_of[i])
            profile = self.profile.pop(i, None)
            if profile:
                self.profile[root] = profile

    def keep_apart(self, a: int, b: int) -> None:
        self.apart[self.find(a)].add(b)
        self.apart[self.find(b)].add(a)


Edges = tuple  # (left, right, match weight) arrays from linkage.predict, strongest first


def resolve_people(mentions: Mentions, overrides: list[tuple[str, str, str]] = (), model=None,
                   backend: str = "duckdb", named: Callable[[], linkage.Named] | None = None,
                   fixed: Callable[[], Fixed] | None = None) -> list[str]:
    """A person id per authorship (see the module docstring for the evidence used).
    `named`, `fixed`: give linkage.name_features(mentions) and fixed_links(mentions,
    overrides), when those are made elsewhere (a build's helper)."""
    model = model or linkage.Model.load()
    table = linkage.features(mentions, named)
    edges = linkage.predict(table, model, model.threshold, backend)
    prepared = prepare(mentions, table.column("name_key").to_pylist())  # the features' keys: parsed once
    return link(mentions, edges, model.threshold, overrides, prepared, fixed() if fixed else None)


@dataclass(frozen=True)
class Fixed:
    """What linking takes from the mentions alone, besides `Prepared`: the pairs the rules
    may join, and the mentions in the order that names a person (first authorship first)."""

    hard: tuple[np.ndarray, np.ndarray]
    first: np.ndarray


def fixed_links(mentions: Mentions, overrides: list[tuple[str, str, str]] = ()) -> Fixed:
    columns = {"year": mentions.year, "venue": mentions.venue, "paper_id": mentions.paper_id,
               "position": mentions.position}
    first = pc.sort_indices(pa.table(columns), sort_keys=[(c, "ascending") for c in columns]).to_numpy()
    return Fixed(_hard_links(mentions, overrides), first)


@dataclass
class Prepared:
    """What linking reads that does not depend on the threshold (computed once for tuning)."""

    keys: list[str]
    paper_of: list[int]
    coauthors: object
    places: list[frozenset[str]]
    blocks: dict[str, list[int]]


def prepare(mentions: Mentions, keys: list[str | None] | None = None) -> Prepared:
    """`keys`: each mention's name key, when known (None or "" for none)."""
    keys = [name_key(x) for x in mentions.name] if keys is None else keys
    paper_of, n_papers = mentions.paper_index
    places = [_place(i, d) for i, d in zip(mentions.institution_id, mentions.email_domain)]
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if key:
            blocks[key].append(i)
    return Prepared(keys, paper_of, _Coauthors(paper_of, n_papers, keys), places, blocks)


def link(mentions: Mentions, edges: Edges, threshold: float, overrides: list[tuple[str, str, str]] = (),
         prepared: Prepared | None = None, fixed: Fixed | None = None) -> list[str]:
    """Person ids from the rules, the constraints and the model's pairs at `threshold` or above.

    Joins are made strongest first and each is checked against the constraints. Where a
    connected group of mentions holds no possible conflict (at most one profile id, no
    paper twice, no analysts' "different"), every join succeeds whatever the order, so the
    group is one person at once; only groups with a conflict are joined pair by pair.
    """
    prepared = prepared or prepare(mentions)
    fixed = fixed or fixed_links(mentions, overrides)
    n = len(mentions.name)
    left, right, weight = edges
    cut = int(np.searchsorted(-weight, -threshold, side="right"))  # edges come strongest first
    left, right = left[:cut], right[:cut]
    hard = fixed.hard
    group = _components(n, np.concatenate([left, hard[0]]), np.concatenate([right, hard[1]]))
    conflicted = _conflicted(group, mentions, prepared.paper_of, overrides)
    clusters = _Clusters(n, mentions.openreview_id, prepared.paper_of)
    clusters.merge_groups(group, ~conflicted[group])
    # the rules again, pair by pair, inside the groups with a conflict: every pair they join
    # is a hard link, so lies inside one group, and the other groups are one person already
    among = np.flatnonzero(conflicted[group]).tolist()
    _join_on(clusters, mentions.openreview_id, same_paper_allowed=True, among=among)
    # e-mails come from author-id lists that are sometimes out of line with the names:
    # an address joins only mentions whose names agree (`Sergey Levine` is never `Yoshua Bengio`)
    _join_on(clusters, mentions.email, mentions.name, among=among)
    _apply_overrides(clusters, mentions, overrides)
    inside = conflicted[group[left]]
    for u, v in zip(left[inside].tolist(), right[inside].tolist()):
        clusters.union(u, v)
    _join_variants(clusters, prepared.blocks, prepared.coauthors, prepared.places)
    return _person_ids(clusters, mentions, fixed.first)


def _hard_links(mentions: Mentions, overrides) -> tuple[np.ndarray, np.ndarray]:
    """Pairs the rules may join (same profile id; same e-mail; analysts' "same"), as edges."""
    pairs: list[tuple[int, int]] = []
    _join_on(pairs.append, mentions.openreview_id)
    _join_on(pairs.append, mentions.email, mentions.name)  # the same pairs link() tries
    index = _authorship_index(mentions) if overrides else {}
    for decision, a, b in overrides:
        if decision == "same" and a in index and b in index:
            pairs.append((index[a], index[b]))
    found = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return found[:, 0], found[:, 1]


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _conflicted(group: np.ndarray, mentions: Mentions, paper_of: list[int], overrides) -> np.ndarray:
    """Per group: could some join inside it be refused (two profiles, a paper twice, a "different")?"""
    flagged = np.zeros(int(group.max()) + 1 if len(group) else 0, dtype=bool)
    papers = np.asarray(paper_of, dtype=np.int64)
    pairs = group.astype(np.int64) * (int(papers.max()) + 1 if len(papers) else 1) + papers  # (group, paper) as one key
    _, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    flagged[group[first[counts > 1]]] = True
    profiled = [(g, p) for g, p in zip(group.tolist(), mentions.openreview_id) if p]
    seen: dict[int, str] = {}
    for g, p in profiled:
        if seen.setdefault(g, p) != p:
            flagged[g] = True
    index = _authorship_index(mentions) if overrides else {}
    for decision, a, b in overrides:
        if decision == "different" and a in index and b in index and group[index[a]] == group[index[b]]:
            flagged[group[index[a]]] = True
    return flagged


class _Coauthors:
    """Each mention's co-authors (their name keys), kept once per paper, not per mention:
    per-mention sets would grow with the square of the team. Papers with more than
    MAX_COAUTHOR_TEAM authors give no co-author evidence (see limits.py)."""

    def __init__(self, paper_of: list[int], n_papers: int, keys: list[str]):
        self.paper_of = paper_of
        members: list[list[str]] = [[] for _ in range(n_papers)]
        for i, paper in enumerate(paper_of):
            if keys[i]:
                members[paper].append(keys[i])
        self.on_paper = [frozenset(m) if len(m) <= MAX_COAUTHOR_TEAM else frozenset() for m in members]
        self.keys = keys

    def __getitem__(self, i: int) -> frozenset[str]:
        on_paper = self.on_paper[self.paper_of[i]]
        return on_paper - {self.keys[i]} if self.keys[i] in on_paper else on_paper


def _join_on(join, values: list[str | None], names: list[str] | None = None, same_paper_allowed: bool = False,
             among: list[int] | None = None) -> None:
    """Join mentions with the same value (and, with `names`, agreeing names): `join` is a
    _Clusters or a callable taking the pair. `among`: only these mentions (in order)."""
    # per value, the first anchor by surname and by first token: finding the first anchor
    # whose name agrees (see names_agree) is a few lookups, not a scan of every anchor
    anchors: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for i in range(len(values)) if among is None else among:
        value = values[i]
        if not value:
            continue
        held = anchors[value]
        if names is None:
            target = held.get(("", ""))
            keys = [("", "")]
        else:
            tokens = name_tokens(names[i])
            if not tokens:
                continue  # no name to agree with: never joined, as names_agree says
            first, last = tokens[0], tokens[-1]
            found = [held.get(k) for k in (("last", last), ("first", last), ("last", first))]
            target = min((j for j in found if j is not None), default=None)
            keys = [("last", last), ("first", first)]
        if target is None:
            for key in keys:
                held.setdefault(key, i)
        elif isinstance(join, _Clusters):
            join.union(target, i, same_paper_allowed)
        else:
            join((target, i))


def names_agree(a: str, b: str) -> bool:
    """Could two spellings be one person's? They share the surname (in either name order)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    return ta[-1] == tb[-1] or ta[0] == tb[-1] or ta[-1] == tb[0]  # `Koller Daphne` / `Daphne Koller`


@cache
def _place(institution_id: str | None, domain: str | None) -> frozenset[str]:
    """Where a mention says the author is: institution and institutional e-mail site."""
    found = set()
    if institution_id:
        found.add("i:" + institution_id)
    registrable = linkage.site(domain)
    if registrable:
        found.add("d:" + registrable)
    return frozenset(found)


def _join_variants(clusters: _Clusters, blocks: dict[str, list[int]], coauthors, places) -> None:
    """Initials and reversed names join a full-name person they share evidence with."""
    by_surname: dict[str, list[str]] = defaultdict(list)
    for key in blocks:
        parts = key.split()
        if len(parts) == 2 and len(parts[0]) > 1:
            by_surname[parts[1]].append(key)
    for key, members in blocks.items():
        parts = key.split()
        if len(parts) != 2:
            continue
        first, last = parts
        if len(first) == 1:
            candidates = [k for k in by_surname.get(last, ()) if k.startswith(first)]
        else:
            reverse = f"{last} {first}"
            candidates = [reverse] if reverse in blocks and reverse != key else []
        if not candidates:
            continue
        # evidence -> one mention per candidate person holding it (an index, so each
        # mention's evidence is read once, not once per pair of mentions)
        holders: dict[str, dict[int, int]] = defaultdict(dict)
        for k in candidates:
            for j in blocks[k]:
                root = clusters.find(j)
                for item in _evidence(j, coauthors, places):
                    holders[item].setdefault(root, j)
        for i in members:
            matches = {clusters.find(j) for item in _evidence(i, coauthors, places)
                       for j in holders.get(item, {}).values()}
            if len(matches) == 1:
                clusters.union(matches.pop(), i)


def _evidence(i: int, coauthors, places) -> set[str]:
    return {"c:" + c for c in coauthors[i]} | places[i]


def _authorship_index(mentions: Mentions) -> dict[str, int]:
    return {f"{v}:{y}:{p}:{k}": i for i, (v, y, p, k) in enumerate(
        zip(mentions.venue, mentions.year, mentions.paper_id, mentions.position))}


def _apply_overrides(clusters: _Clusters, mentions: Mentions, overrides) -> None:
    """Analysts' decisions: ('same' | 'different', authorship key A, authorship key B)."""
    if not overrides:
        return
    index = _authorship_index(mentions)
    for decision, a, b in overrides:
        i, j = index.get(a), index.get(b)
        if i is None or j is None:
            continue
        if decision == "same":
            clusters.union(i, j, same_paper_allowed=True)
        else:
            clusters.keep_apart(i, j)


def _person_ids(clusters: _Clusters, mentions: Mentions, order: np.ndarray) -> list[str]:
    n = len(mentions.name)
    if not n:
        return []
    roots = _roots(clusters.parent)
    profiles: dict[int, str] = {}
    for root, p in zip(roots.tolist(), mentions.openreview_id):
        if p:
            profiles[root] = min(p, profiles.get(root, p))
    # a person's first authorship (by year, venue, paper, position: `order`) names them
    found, first = np.unique(roots[order], return_index=True)
    ids: dict[int, str] = {}
    for root, i in zip(found.tolist(), order[first].tolist()):
        if root in profiles:
            ids[root] = profiles[root]
        else:
            basis = f"{mentions.venue[i]}|{mentions.year[i]}|{mentions.paper_id[i]}|{mentions.position[i]}"
            ids[root] = "p-" + hashlib.sha1(basis.encode()).hexdigest()[:12]
    return [ids[root] for root in roots.tolist()]


def _roots(parent: list[int]) -> np.ndarray:
    """Each mention's root in the union-find forest, by pointer jumping: a few numpy passes
    (each halves every path), not a find() per mention."""
    found = np.asarray(parent, dtype=np.int64)
    while True:
        jumped = found[found]
        if np.array_equal(jumped, found):
            return found
        found = jumped


OVERRIDE_COLUMNS = ("decision", "authorship_a", "authorship_b", "note")
_AUTHORSHIP = re.compile(r"^[a-z0-9_-]+:\d{4}:[^\s]+:\d+$")


def load_overrides(path: Path) -> list[tuple[str, str, str, str]]:
    """Analysts' same/different decisions from a CSV file; each authorship is written
    `venue:year:paper_id:position`. Any bad row is an error naming its line."""
    text = read_text(Path(path), MAX_SHEET_BYTES, "people overrides file")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or not set(OVERRIDE_COLUMNS[:3]) <= set(reader.fieldnames):
            raise UserError(f"{path}: expected the columns {','.join(OVERRIDE_COLUMNS)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(rows) >= MAX_SHEET_ROWS:
                raise UserError(f"{path}: more than {MAX_SHEET_ROWS:,} rows")
            decision, a, b, note = (str(row.get(k) or "").strip() for k in OVERRIDE_COLUMNS)
            if decision.lower() not in ("same", "different"):
                raise UserError(f"{path} line {line}: decision must be 'same' or 'different', not {decision[:40]!r}")
            for value in (a, b):
                if not _AUTHORSHIP.match(value) or len(value) > 400:
                    raise UserError(f"{path} line {line}: {value[:60]!r} is not an authorship "
                                    "(venue:year:paper_id:position)")
            rows.append((decision.lower(), a, b, note[:MAX_FORM_TEXT]))
        return rows
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None


def workspace_overrides(workspace) -> list[tuple[str, str, str]]:
    return [(r["decision"], r["authorship_a"], r["authorship_b"]) for r in workspace.rows(
        "SELECT decision, authorship_a, authorship_b FROM person_overrides ORDER BY created_at, authorship_a")]


def bcubed(predicted: list[str], truth: list[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering against the true one (Bagga & Baldwin 1998).

    For each item, precision is the share of its predicted cluster that truly belongs with
    it, recall the share of its true cluster that was predicted with it; both are averaged
    over items.
    """
    if not predicted:
        return 1.0, 1.0, 1.0
    by_pred: dict[str, list[int]] = defaultdict(list)
    by_true: dict[str, list[int]] = defaultdict(list)
    for i, (p, t) in enumerate(zip(predicted, truth)):
        by_pred[p].append(i)
        by_true[t].append(i)
    overlap: dict[tuple[str, str], int] = defaultdict(int)
    for p, t in zip(predicted, truth):
        overlap[(p, t)] += 1
    precision = sum(overlap[(p, t)] / len(by_pred[p]) for p, t in zip(predicted, truth)) / len(predicted)
    recall = sum(overlap[(p, t)] / len(by_true[t]) for p, t in zip(predicted, truth)) / len(predicted)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
