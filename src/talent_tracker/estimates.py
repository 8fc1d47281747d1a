"""`estimate`: population figures by origin, graduate or work country, and flows, with intervals.

For a population (venues, years, tier) and a stage, each person's country is the one
`career_stages` gives (an annotation first): the inferred part is computed once per build,
the annotations and samples are read from the workspace on every call. When every member's country is known the
figures are exact counts (method `exact`). Otherwise they come from the latest sample of
that population (or `--sample`), using the people of the sample whose country is known;
those left unknown ("could not determine") are set aside, which assumes they are missing
at random, and the sample size reported is the number known. Per design:
- `person`: `stats.count_estimate` (exact hypergeometric interval);
- `stratified`: `stats.stratified_estimate` over the tiers;
- `paper`: `stats.cluster_estimate` with multiplicity weights, scaled so that the known
  people add up to the population (a ratio-to-known adjustment).
`--by flow` counts origin -> graduate -> work paths among people with all three known,
and gives each origin country's retention (the share of its people who work there) as a
domain ratio (`stats.ratio_estimate`), whose interval allows for the random number of
sampled people from that country.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

from . import stats
from .careers import STAGE_ORDER
from .errors import UserError
from .sampling import Population, members, population_of
from .store import build_stamp, reader
from .workspace import open_workspace

BY = ("origin", "graduate", "work", "flow")


def estimate(db: Path, venue_names: list[str], years: list[int], tier: str, by: str,
             sample_id: str | None = None, level: float = 0.95) -> dict:
    if by not in BY:
        raise UserError(f"unknown --by {by!r} (choose {', '.join(BY)})")
    if not 0 < level < 1:
        raise UserError(f"--level must lie strictly between 0 and 1, not {level}")
    db = Path(db)
    stamp = build_stamp(db)
    population, people, member = _population(str(db), stamp, tuple(venue_names), tuple(years), tier)
    N = len(people)
    stages = ("origin", "graduate", "work") if by == "flow" else (by,)
    workspace = open_workspace(db, create=False)
    known = _known(str(db), stamp, population, stages, workspace, member)
    value = (lambda p: " -> ".join(known[s].get(p, "?") for s in stages)) if by == "flow" \
        else (lambda p: known[by].get(p))
    complete = set.intersection(*(set(known[s]) for s in stages))
    result = {"population": population.label, "population_size": N, "by": by, "level": level}
    if len(complete) == N:
        counts = Counter(value(p) for p in people)
        result["sample"] = None
        result["figures"] = [_exact(group, count, N, level) for group, count in counts.most_common()]
        if by == "flow":
            result["retention"] = _retention(people, known, N, N, level)
        return result
    design = _design(workspace, population, sample_id)
    sampled = [(r["person_id"], r["stratum"], r["paper"]) for r in workspace.rows(
        "SELECT person_id, stratum, paper FROM samples WHERE sample_id = ? ORDER BY rowid", [design["sample_id"]])]
    sampled = [row for row in sampled if row[0] in member]
    if design["design"] == "paper":
        where, params = population.where()
        with reader(db, with_workspace=False) as con:
            design["multiplicity"] = dict(con.execute(
                f"SELECT a.person_id, count(DISTINCT (a.venue, a.year, a.paper_id)) FROM authorships a "
                f"WHERE {where} AND a.person_id IN (SELECT unnest(?)) GROUP BY 1",
                [*params, sorted({p for p, _, _ in sampled})]).fetchall())
    drawn = {p for p, _, _ in sampled}
    result["sample"] = {**{k: design[k] for k in ("sample_id", "design", "size", "seed")},
                        "people": len(drawn), "known": len(drawn & complete)}
    result["figures"] = _figures(design, sampled, people, complete, value, N, level)
    if by == "flow":
        sampled_people = list(dict.fromkeys(p for p, _, _ in sampled))
        usable = [p for p in sampled_people if p in complete]
        result["retention"] = _retention(usable, known, len(usable), N, level)
    return result


# What an estimate needs from the build is the same until the next build: the population's
# members and their inferred facts are kept per build; only what the workspace adds
# (annotations, samples: small) is read afresh, so a save does not cost a recount.

@lru_cache(maxsize=64)
def _population(db: str, build: tuple, venue_names: tuple, years: tuple, tier: str
                ) -> tuple[Population, tuple[str, ...], frozenset[str]]:
    """The population, its members in order, and as a set."""
    with reader(Path(db), with_workspace=False) as con:
        population = population_of(con, list(venue_names), list(years), tier)
        people = tuple(members(con, population))
    return population, people, frozenset(people)


@lru_cache(maxsize=64)
def _inferred(db: str, build: tuple, population: Population, stages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Per stage, the country of the member's best inferred fact (careers.STAGE_ORDER), for
    members whose best inferred fact has one; ranked over the population's facts only."""
    where, params = population.where()
    with reader(Path(db), with_workspace=False) as con:
        rows = con.execute(f"""
            SELECT person_id, stage, country FROM (
                SELECT person_id, stage, country,
                       row_number() OVER (PARTITION BY person_id, stage ORDER BY {STAGE_ORDER}) AS rank
                FROM build.careers
                WHERE source <> 'annotation' AND stage IN (SELECT unnest(?))
                  AND person_id IN (SELECT a.person_id FROM authorships a WHERE {where})
            ) WHERE rank = 1 AND country IS NOT NULL""", [list(stages), *params]).fetchall()
    known: dict[str, dict[str, str]] = {s: {} for s in stages}
    for person, stage, country in rows:
        known[stage][person] = country
    return known


def _known(db: str, build: tuple, population: Population, stages: tuple[str, ...], workspace,
           member: frozenset[str]) -> dict[str, dict[str, str]]:
    """Per stage, each member's country as `career_stages` gives it: an annotation outranks
    every inferred fact, so it replaces the inferred country (or, without a country, hides it)."""
    known = {stage: dict(countries) for stage, countries in _inferred(db, build, population, stages).items()}
    if workspace is None:
        return known
    for row in workspace.rows("SELECT person_id, stage, country FROM annotations WHERE stage IN "
                              f"({', '.join('?' for _ in stages)})", list(stages)):
        if row["person_id"] in member:
            if row["country"]:
                known[row["stage"]][row["person_id"]] = row["country"]
            else:
                known[row["stage"]].pop(row["person_id"], None)
    return known


def _design(workspace, population: Population, sample_id: str | None) -> dict:
    designs = workspace.rows("SELECT * FROM sample_designs ORDER BY created_at DESC, sample_id") if workspace else []
    for design in designs:
        design["venues"], design["years"] = json.loads(design["venues"]), json.loads(design["years"])
    if sample_id is not None:
        chosen = next((d for d in designs if d["sample_id"] == sample_id), None)
        if chosen is None:
            raise UserError(f"no sample {sample_id!r} in this database")
    else:
        chosen = next((d for d in designs if tuple(d["venues"]) == population.venues
                       and tuple(d["years"]) == population.years and d["tier"] == population.tier), None)
        if chosen is None:
            raise UserError(f"not every member of {population.label} is known and no sample of it exists: "
                            "draw one with `talent-tracker sample`, annotate it and import the sheet")
    if (tuple(chosen["venues"]), tuple(chosen["years"]), chosen["tier"]) != \
            (population.venues, population.years, population.tier):
        raise UserError(f"sample {chosen['sample_id']} was drawn from another population")
    chosen["strata"] = json.loads(chosen["strata"] or "{}")
    return chosen


def _exact(group: str, count: int, N: int, level: float) -> dict:
    return _row(group, stats.Estimate(float(count), count, count, N, N, "exact", level))


def _row(group: str, est: stats.Estimate) -> dict:
    N = est.population_size or 1
    return {"group": group, "estimate": round(est.estimate, 1), "low": round(est.low, 1), "high": round(est.high, 1),
            "share": round(est.estimate / N, 4), "share_low": round(est.low / N, 4),
            "share_high": round(est.high / N, 4), "sample_size": est.sample_size,
            "population_size": est.population_size, "method": est.method}


def _figures(design: dict, sampled, people, complete, value, N: int, level: float) -> list[dict]:
    complete_set = set(complete)
    kind = design["design"]
    if kind == "person":
        usable = [p for p, _, _ in sampled if p in complete_set]
        n = len(usable)
        if n == 0:
            raise UserError(f"no sampled person of {design['sample_id']} has a known value yet: import annotations")
        counts = Counter(value(p) for p in usable)
        return [_row(g, stats.count_estimate(x, n, N, level)) for g, x in counts.most_common()]
    if kind == "stratified":
        by_stratum: dict[str, list[str]] = defaultdict(list)
        for p, stratum, _ in sampled:
            if p in complete_set:
                by_stratum[stratum].append(p)
        strata_sizes = design["strata"]
        if any(not by_stratum.get(h) for h in strata_sizes):
            raise UserError(f"a stratum of {design['sample_id']} has no person with a known value yet")
        groups = Counter(value(p) for ps in by_stratum.values() for p in ps)
        rows = []
        for g, _ in groups.most_common():
            strata = [(sum(value(p) == g for p in by_stratum[h]), len(by_stratum[h]), strata_sizes[h])
                      for h in strata_sizes]
            rows.append(_row(g, stats.stratified_estimate(strata, level)))
        return rows
    return _cluster_figures(design, sampled, people, complete_set, value, N, level)


def _cluster_figures(design, sampled, people, complete_set, value, N, level) -> list[dict]:
    # a person on m_i population papers counts 1/m_i on each (multiplicity weights)
    multiplicity = design["multiplicity"]
    by_paper: dict[str, list[str]] = defaultdict(list)
    for p, _, paper in sampled:
        by_paper[paper].append(p)
    m, M = len(by_paper), design["clusters_total"]
    weight = lambda p: 1 / multiplicity.get(p, 1)  # noqa: E731
    known_totals = [sum(weight(p) for p in ps if p in complete_set) for ps in by_paper.values()]
    known_total = M * sum(known_totals) / m
    if known_total == 0:
        raise UserError(f"no sampled person of {design['sample_id']} has a known value yet: import annotations")
    scale = N / known_total
    groups = Counter(value(p) for ps in by_paper.values() for p in ps if p in complete_set)
    rows = []
    for g, _ in groups.most_common():
        totals = [sum(weight(p) for p in ps if p in complete_set and value(p) == g) for ps in by_paper.values()]
        est = stats.cluster_estimate(totals, m, M, N, level)
        rows.append(_row(g, stats.Estimate(est.estimate * scale, est.low * scale, min(N, est.high * scale),
                                           sum(1 for ps in by_paper.values() for p in ps if p in complete_set), N,
                                           "cluster", level)))
    return rows


def _retention(usable: list[str], known, n: int, N: int, level: float) -> list[dict]:
    by_origin: dict[str, list[str]] = defaultdict(list)
    for p in usable:
        by_origin[known["origin"][p]].append(p)
    rows = []
    for country, group in sorted(by_origin.items(), key=lambda kv: -len(kv[1])):
        stayed = sum(1 for p in group if known["work"][p] == country)
        est = stats.ratio_estimate(stayed, len(group), n, N, level) if n < N else \
            stats.Estimate(stayed / len(group), stayed / len(group), stayed / len(group), len(group), len(group),
                           "exact", level)
        rows.append({"origin": country, "retention": round(est.estimate, 4), "low": round(est.low, 4),
                     "high": round(est.high, 4), "origin_sampled": len(group), "stayed": stayed,
                     "method": est.method})
    return rows
