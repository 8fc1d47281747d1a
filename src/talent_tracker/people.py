"""Authorship -> person: one person per researcher, across papers, venues and years.

Evidence, strongest first (a union-find over authorships, under one hard rule: two
different OpenReview ids are never the same person):

1. the same OpenReview profile id (authoritative, across venues and years);
2. the same e-mail address, between mentions whose names agree (author-id lists are
   sometimes out of line with the names);
3. analysts' decisions (`people_overrides.csv`): "same" joins, "different" separates;
4. within a block of identical normalised names (`Zhi-Hua Zhou` = `Zhihua Zhou`):
   a shared co-author, the same institution, the same institutional e-mail domain;
5. a name block of at most MERGE_RARE mentions, or of at most MERGE_UNCONTRADICTED
   mentions that carry no contradicting evidence (one institution at most), is one
   person (never across two profiles); in a larger or contradicted block, a mention
   without shared evidence stays a person of its own;
6. initials (`J. Smith`) join the one full-name person of that initial and surname they
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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from unidecode import unidecode

from .errors import UserError
from .institutions.places import WEBMAIL
from .limits import MAX_COAUTHOR_TEAM, MAX_FORM_TEXT, MAX_SHEET_BYTES, MAX_SHEET_ROWS, read_text

# A name block with no contradicting evidence is one person only up to this many
# mentions: beyond it the name is common enough that unrelated people share it. A block
# of at most MERGE_RARE mentions is one person even across institutions (people move).
# Measured on NeurIPS/ICLR 2021 with profile ids hidden (`talent-tracker evaluate-people`):
# lower values split too many people (count error > 1%), higher ones merge namesakes
# (shared-name F1 < 0.90); see the README.
MERGE_UNCONTRADICTED = 15
MERGE_RARE = 4
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md"}
_NON_LETTER = re.compile(r"[^a-z\s]")


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


def mentions_of(table) -> Mentions:
    """The Mentions of an `authorships` Arrow table."""
    column = lambda name: table.column(name).to_pylist()  # noqa: E731
    return Mentions(column("venue"), column("year"), column("paper_id"), column("author_position"),
                    column("author_name"), column("openreview_id"), column("email"), column("email_domain"),
                    column("institution_id"))


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
    """One row per person, from the authorships that carry a person_id."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("authorships", authorships)
        return con.sql(PERSONS_SQL).to_arrow_table()
    finally:
        con.close()


@lru_cache(maxsize=None)
def name_tokens(name: str) -> tuple[str, ...]:
    """Lower-case ASCII tokens; hyphens join (`Zhi-Hua` -> `zhihua`), dots split initials."""
    text = unidecode(name).lower().replace("-", "").replace("'", "").replace(".", " ")
    return tuple(t for t in _NON_LETTER.sub(" ", text).split() if t not in _SUFFIXES)


def name_key(name: str) -> str:
    """`first last`, middle names dropped: the block a mention is compared within."""
    tokens = name_tokens(name)
    if not tokens:
        return ""
    return tokens[0] if len(tokens) == 1 else f"{tokens[0]} {tokens[-1]}"


class _Clusters:
    """Union-find that refuses to join two different OpenReview profiles or a 'different' pair."""

    def __init__(self, n: int, profiles: list[str | None]):
        self.parent = list(range(n))
        self.profile: dict[int, str] = {i: p for i, p in enumerate(profiles) if p}
        self.apart: dict[int, set[int]] = defaultdict(set)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        pa, pb = self.profile.get(ra), self.profile.get(rb)
        if pa and pb and pa != pb:
            return False
        if rb in {self.find(x) for x in self.apart.get(ra, ())}:
            return False
        if ra < rb:
            ra, rb = rb, ra  # the smaller index stays the root
        self.parent[ra] = rb
        if pa or pb:
            self.profile[rb] = pa or pb
        self.profile.pop(ra, None)
        self.apart[rb] |= self.apart.pop(ra, set())
        return True

    def keep_apart(self, a: int, b: int) -> None:
        self.apart[self.find(a)].add(b)
        self.apart[self.find(b)].add(a)


def resolve_people(mentions: Mentions, overrides: list[tuple[str, str, str]] = ()) -> list[str]:
    """A person id per authorship (see the module docstring for the evidence used)."""
    n = len(mentions.name)
    keys = [name_key(x) for x in mentions.name]
    clusters = _Clusters(n, mentions.openreview_id)
    _join_on(clusters, mentions.openreview_id)
    # e-mails come from author-id lists that are sometimes out of line with the names:
    # an address joins only mentions whose names agree (`Sergey Levine` is never `Yoshua Bengio`)
    _join_on(clusters, mentions.email, mentions.name)
    _apply_overrides(clusters, mentions, overrides)

    coauthors = _Coauthors(mentions, keys)
    places = [_place(mentions.institution_id[i], mentions.email_domain[i]) for i in range(n)]

    blocks: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if key:
            blocks[key].append(i)
    for key, members in blocks.items():
        # an initial (`d koller`) stands for many first names: never "rare"
        _cluster_block(clusters, members, coauthors, places, initial=len(key.split()[0]) == 1)
    _join_variants(clusters, blocks, coauthors, places)
    return _person_ids(clusters, mentions)


class _Coauthors:
    """Each mention's co-authors (their name keys), kept once per paper, not per mention:
    per-mention sets would grow with the square of the team. Papers with more than
    MAX_COAUTHOR_TEAM authors give no co-author evidence (see limits.py)."""

    def __init__(self, mentions: Mentions, keys: list[str]):
        papers: dict[tuple, int] = {}
        self.paper_of = [papers.setdefault(p, len(papers))
                         for p in zip(mentions.venue, mentions.year, mentions.paper_id)]
        members: list[list[str]] = [[] for _ in papers]
        for i, paper in enumerate(self.paper_of):
            if keys[i]:
                members[paper].append(keys[i])
        self.on_paper = [frozenset(m) if len(m) <= MAX_COAUTHOR_TEAM else frozenset() for m in members]
        self.keys = keys

    def __getitem__(self, i: int) -> frozenset[str]:
        on_paper = self.on_paper[self.paper_of[i]]
        return on_paper - {self.keys[i]} if self.keys[i] in on_paper else on_paper


def _join_on(clusters: _Clusters, values: list[str | None], names: list[str] | None = None) -> None:
    anchors: dict[str, list[int]] = defaultdict(list)
    for i, value in enumerate(values):
        if not value:
            continue
        group = anchors[value]
        target = next((j for j in group if names is None or names_agree(names[j], names[i])), None)
        if target is None:
            group.append(i)
        else:
            clusters.union(target, i)


def names_agree(a: str, b: str) -> bool:
    """Could two spellings be one person's? They share the surname (in either name order)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    return ta[-1] == tb[-1] or ta[0] == tb[-1] or ta[-1] == tb[0]  # `Koller Daphne` / `Daphne Koller`


_SECOND_LEVEL = {"edu", "ac", "com", "co", "org", "gov", "net", "or", "ne", "go"}


@lru_cache(maxsize=None)
def _site(domain: str) -> str:
    """The registrable part of a domain: `cs.stanford.edu` -> `stanford.edu`, `mails.tsinghua.edu.cn` -> `tsinghua.edu.cn`."""
    labels = domain.lower().strip(".").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


@lru_cache(maxsize=None)
def _place(institution_id: str | None, domain: str | None) -> frozenset[str]:
    """Where a mention says the author is: institution and institutional e-mail site."""
    found = set()
    if institution_id:
        found.add("i:" + institution_id)
    if domain and domain not in WEBMAIL:
        found.add("d:" + _site(domain))
    return frozenset(found)


def _cluster_block(clusters: _Clusters, members: list[int], coauthors, places, initial: bool = False) -> None:
    if len(members) < 2:
        return
    # shared co-author or shared institution / institutional domain
    by_coauthor: dict[str, int] = {}
    by_place: dict[str, int] = {}
    for i in members:
        for coauthor in coauthors[i]:
            j = by_coauthor.setdefault(coauthor, i)
            if j != i:
                clusters.union(j, i)
        for place in places[i]:
            j = by_place.setdefault(place, i)
            if j != i:
                clusters.union(j, i)
    roots: dict[int, list[int]] = defaultdict(list)
    for i in members:
        roots[clusters.find(i)].append(i)
    if len(roots) < 2:
        return
    institutions = {p for i in members for p in places[i] if p.startswith("i:")}
    profiles = {clusters.profile.get(r) for r in roots} - {None}
    rare = not initial and len(members) <= MERGE_RARE and len(profiles) <= 1
    if rare or (len(members) <= MERGE_UNCONTRADICTED and len(institutions) <= 1 and len(profiles) <= 1):
        # a rare name and nothing says these are different people: one person
        first = members[0]
        for i in members[1:]:
            clusters.union(first, i)


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


def _apply_overrides(clusters: _Clusters, mentions: Mentions, overrides) -> None:
    """Analysts' decisions: ('same' | 'different', authorship key A, authorship key B)."""
    index = {f"{v}:{y}:{p}:{k}": i for i, (v, y, p, k) in enumerate(
        zip(mentions.venue, mentions.year, mentions.paper_id, mentions.position))}
    for decision, a, b in overrides:
        i, j = index.get(a), index.get(b)
        if i is None or j is None:
            continue
        if decision == "same":
            clusters.union(i, j)
        else:
            clusters.keep_apart(i, j)


def _person_ids(clusters: _Clusters, mentions: Mentions) -> list[str]:
    n = len(mentions.name)
    sort_keys = list(zip(mentions.year, mentions.venue, mentions.paper_id, mentions.position))
    order = sorted(range(n), key=sort_keys.__getitem__)
    ids: dict[int, str] = {}
    profiles: dict[int, str] = {}
    for i in range(n):
        p = mentions.openreview_id[i]
        if p:
            root = clusters.find(i)
            profiles[root] = min(p, profiles.get(root, p))
    for i in order:
        root = clusters.find(i)
        if root not in ids:
            if root in profiles:
                ids[root] = profiles[root]
            else:
                basis = f"{mentions.venue[i]}|{mentions.year[i]}|{mentions.paper_id[i]}|{mentions.position[i]}"
                ids[root] = "p-" + hashlib.sha1(basis.encode()).hexdigest()[:12]
    return [ids[clusters.find(i)] for i in range(n)]


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


def import_overrides(workspace, rows: list[tuple[str, str, str, str]], source: str, actor: str | None = None) -> int:
    """Keep analysts' decisions in the workspace (the later decision on a pair wins);
    returns how many were new or changed."""
    from .workspace import audit, cli_actor, now

    actor = actor or cli_actor()
    changed = 0
    with workspace.write() as con:
        for decision, a, b, note in rows:
            a, b = sorted((a, b))
            current = con.execute("SELECT decision, note FROM person_overrides WHERE authorship_a = ? AND "
                                  "authorship_b = ?", [a, b]).fetchone()
            if current is not None and tuple(current) == (decision, note or None):
                continue
            con.execute("INSERT OR REPLACE INTO person_overrides VALUES (?, ?, ?, ?, ?, ?)",
                        [a, b, decision, note or None, actor, now()])
            changed += 1
        audit(con, actor, "import people overrides", None, None, {"file": source, "rows": len(rows), "changed": changed})
    return changed


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
