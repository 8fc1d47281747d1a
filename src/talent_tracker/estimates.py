"""`estimate`: population figures by origin, graduate or work country, and flows, with intervals.

For a population (venues, years, tier) and a stage, each person's country is the one
`career_stages` gives (an annotation first): the inferred part is computed once per build,
the annotations and samples are read from the workspace on every call. Methods (`--method`;
by default the first that applies):
- `exact`: every member's country is known: counts, no interval;
- `assisted`: a simple random sample (`person` design) of people whose country is known,
  and a predicted country for everyone (predictions.py): per country, the post-stratified
  difference estimator with its exact interval (`stats.assisted_count_interval`);
- `sample`: the sample alone. Per design:
  - `person`: `stats.count_estimate` (exact hypergeometric interval);
  - `stratified` and `predicted-origin`: `stats.stratified_estimate` over the strata;
  - `paper`: `stats.cluster_estimate` with multiplicity weights, scaled so that the known
    people add up to the population (a ratio-to-known adjustment).
Sampled people left unknown ("could not determine") are set aside, which assumes they are
missing at random, and the sample size reported is the number known.
`--by flow` counts origin -> graduate -> work paths among people with all three known;
a path taken by fewer than MIN_PATH sampled people is pooled into "other paths". It gives
each origin country's retention (the share of its people who work there): from the sample
a domain ratio (`stats.ratio_estimate`); assisted, the ratio of two assisted counts whose
intervals (each at 1 - (1 - level)/2) bound it.
Every estimated row carries `flag`, the reason it is too uncertain to show (the NCHS rule,
`stats.too_uncertain`), or None; such a row is shown as too uncertain, never scaled up.
`model_figures` gives what the predictions alone say, for charts before any annotation:
never an estimate.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from . import stats
from .careers import STAGE_ORDER
from .errors import UserError
from .population import Population
from .sampling import members, population_of
from .store import Tracker, reader, tracker_of

BY = ("origin", "graduate", "work", "flow")
METHODS = ("exact", "assisted", "sample")
# a flow path needs this many sampled people to be shown on its own
MIN_PATH = 5
OTHER_PATHS = "other paths"


def estimate(db: Tracker | Path, venue_names: list[str], years: list[int], tier: str, by: str,
             sample_id: str | None = None, level: float = 0.95, method: str | None = None) -> dict:
    if by not in BY:
        raise UserError(f"unknown breakdown {by!r} (choose {', '.join(BY)})")
    if method is not None and method not in METHODS:
        raise UserError(f"unknown method {method!r} (choose {', '.join(METHODS)})")
    if not 0 < level < 1:
        raise UserError(f"the level must lie strictly between 0 and 1, not {level}")
    db = tracker_of(db)
    population, people, member = _population(db, tuple(venue_names), tuple(years), tier)
    N = len(people)
    stages = _stages(by)
    workspace = db.workspace()
    known = _known(db, population, stages, workspace, member)
    value = _value_of(known, by)
    complete = set.intersection(*(set(known[s]) for s in stages))
    result = {"population": population.label, "population_size": N, "by": by, "level": level}
    if len(complete) == N and method in (None, "exact"):
        counts = Counter(value(p) for p in people)
        result.update(method="exact", sample=None, coverage=1.0)
        result["figures"] = [_exact(group, count, N, level) for group, count in counts.most_common()]
        if by == "flow":
            result["retention"] = _retention(people, known, N, N, level)
            result["paths"] = dict(counts)  # every path, none pooled (net flows, origin mixes)
        return result
    if method == "exact":
        raise UserError(f"not every member of {population.label} is known ({len(complete):,} of {N:,}): "
                        "use method assisted or sample")
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
    result["coverage"] = round(len(drawn & complete) / len(drawn), 4) if drawn else 0.0
    predicted = _predicted(db, population, stages)
    predicted_all = set.intersection(*(set(predicted[s]) for s in stages))
    result["predictions_coverage"] = round(len(predicted_all) / N, 4)
    if method is None:
        method = "assisted" if design["design"] == "person" and predicted_all else "sample"
    if method == "assisted":
        if design["design"] != "person":
            raise UserError(f"assisted estimates need a simple random sample of people (design person); "
                            f"{design['sample_id']} is a {design['design']} sample: use method sample")
        if not predicted_all:
            raise UserError("no predictions in this database (built by an earlier version): rebuild it, "
                            "or use method sample")
    usable = [p for p in dict.fromkeys(p for p, _, _ in sampled) if p in complete]
    if not usable:
        raise UserError(f"no sampled person of {design['sample_id']} has a known value yet: import annotations")
    if by == "flow":
        result["paths"] = dict(Counter(value(p) for p in usable))  # the sampled paths, none pooled
        value = _pooled(value, Counter(value(p) for p in usable))
    result["method"] = method
    if method == "assisted":
        guess = _value_of(predicted, by)
        if by == "flow":
            guess = _pooled(guess, Counter(_value_of(known, by)(p) for p in usable))
        result["figures"] = _assisted_figures(usable, people, value, guess, N, level)
        if by == "flow":
            result["retention"] = _assisted_retention(usable, people, known, predicted, N, level)
        return result
    result["figures"] = _figures(design, sampled, people, complete, value, N, level)
    if by == "flow":
        result["retention"] = _retention(usable, known, len(usable), N, level)
    return result


def _stages(by: str) -> tuple[str, ...]:
    return ("origin", "graduate", "work") if by == "flow" else (by,)


def _value_of(countries: dict[str, dict[str, str]], by: str):
    """Person -> their group: a country, or a path of three ("?" where one is missing)."""
    if by == "flow":
        return lambda p: " -> ".join(countries[s].get(p, "?") for s in _stages(by))
    return lambda p: countries[by].get(p)


def _pooled(value, sampled_counts: Counter):
    """Paths with fewer than MIN_PATH sampled people become one group, "other paths" (a
    path with a stage unknown, "?", is in no group)."""
    shown = {g for g, k in sampled_counts.items() if k >= MIN_PATH}

    def pooled(p):
        group = value(p)
        if group is None or "?" in group:
            return group
        return group if group in shown else OTHER_PATHS
    return pooled


def model_figures(db: Tracker | Path, venue_names: list[str], years: list[int], tier: str, by: str) -> dict:
    """What the predictions alone say about a population: predicted counts, no interval.

    Never an estimate: a prediction is a guess from career evidence, right as often as its
    probability says, and its errors do not cancel. Shown until a sample is annotated."""
    if by not in BY:
        raise UserError(f"unknown breakdown {by!r} (choose {', '.join(BY)})")
    db = tracker_of(db)
    population, people, _ = _population(db, tuple(venue_names), tuple(years), tier)
    stages = _stages(by)
    predicted = _predicted(db, population, stages)
    guess = _value_of(predicted, by)
    covered = [p for p in people if all(p in predicted[s] for s in stages)]
    N = len(people)
    counts = Counter(guess(p) for p in covered)
    result = {"population": population.label, "population_size": N, "by": by, "method": "model", "sample": None,
              "coverage": round(len(covered) / N, 4),
              "figures": [{"group": g, "predicted": k, "share": round(k / len(covered), 4), "method": "model"}
                          for g, k in counts.most_common()]}
    if by == "flow":
        result["paths"] = dict(counts)
        by_origin: dict[str, list[str]] = defaultdict(list)
        for p in covered:
            by_origin[predicted["origin"][p]].append(p)
        result["retention"] = [{"origin": c, "retention": round(sum(predicted["work"][p] == c for p in group)
                                                                / len(group), 4), "origin_predicted": len(group),
                                "method": "model"}
                               for c, group in sorted(by_origin.items(), key=lambda kv: -len(kv[1]))]
    return result


# What an estimate needs from the build is the same until the next build: the population's
# members and their inferred facts are kept in the tracker's memo per build; only what the
# workspace adds (annotations, samples: small) is read afresh, so a save does not cost a recount.

def _population(db: Tracker, venue_names: tuple, years: tuple, tier: str
                ) -> tuple[Population, tuple[str, ...], frozenset[str]]:
    """The population, its members in order, and as a set."""
    def compute():
        with db.reader(with_workspace=False) as con:
            population = population_of(con, list(venue_names), list(years), tier)
            people = tuple(members(con, population))
        return population, people, frozenset(people)
    return db.memo(("population", db.build_stamp(), venue_names, years, tier), compute)


def _inferred(db: Tracker, population: Population, stages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Per stage, the country of the member's best inferred fact (careers.STAGE_ORDER), for
    members whose best inferred fact has one; ranked over the population's facts only."""
    return db.memo(("inferred", db.build_stamp(), population, stages), lambda: _read_inferred(db, population, stages))


def _read_inferred(db: Tracker, population: Population, stages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    where, params = population.where()
    with db.reader(with_workspace=False) as con:
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


def _predicted(db: Tracker, population: Population, stages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Per stage, each member's predicted country (predictions.py): fixed by the build."""
    return db.memo(("predicted", db.build_stamp(), population, stages), lambda: _read_predicted(db, population, stages))


def _read_predicted(db: Tracker, population: Population, stages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    where, params = population.where()
    with db.reader(with_workspace=False) as con:
        rows = con.execute(f"""
            SELECT person_id, stage, country FROM predictions
            WHERE stage IN (SELECT unnest(?)) AND country IS NOT NULL
              AND person_id IN (SELECT a.person_id FROM authorships a WHERE {where})""",
                           [list(stages), *params]).fetchall()
    predicted: dict[str, dict[str, str]] = {s: {} for s in stages}
    for person, stage, country in rows:
        predicted[stage][person] = country
    return predicted


def _known(db: Tracker, population: Population, stages: tuple[str, ...], workspace,
           member: frozenset[str]) -> dict[str, dict[str, str]]:
    """Per stage, each member's country as `career_stages` gives it: an annotation outranks
    every inferred fact, so it replaces the inferred country (or, without a country, hides it)."""
    known = {stage: dict(countries) for stage, countries in _inferred(db, population, stages).items()}
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


def _row(group: str, est: stats.Estimate, sampled: int | None = None) -> dict:
    N = est.population_size or 1
    share, low, high = est.estimate / N, est.low / N, est.high / N
    estimated = est.method != "exact"
    return {"group": group, "estimate": round(est.estimate, 1), "low": round(est.low, 1), "high": round(est.high, 1),
            "share": round(share, 4), "share_low": round(low, 4), "share_high": round(high, 4),
            "sample_size": est.sample_size, "population_size": est.population_size, "method": est.method,
            "sampled": sampled,
            "flag": stats.too_uncertain(est.sample_size, share, low, high) if estimated else None}


def _assisted_figures(usable: list[str], people, value, guess, N: int, level: float) -> list[dict]:
    """Per group: the assisted count from the sample's true and predicted groups and
    everyone's predicted group."""
    truth = [value(p) for p in usable]
    predicted_sample = [guess(p) for p in usable]
    everyone = [guess(p) for p in people]
    predicted_counts = Counter(everyone)
    sampled_counts = Counter(truth)
    floor = max(1, N // 200)  # predicted groups this small and never sampled are not worth an interval
    groups = [g for g, _ in sampled_counts.most_common()]
    groups += [g for g, k in predicted_counts.most_common() if g is not None and "?" not in g
               and g not in sampled_counts and k >= floor]
    n = len(usable)
    rows = []
    for g in groups:
        estimate, low, high = stats.assisted_count_interval(
            [t == g for t in truth], [f == g for f in predicted_sample], [f == g for f in everyone], level)
        row = _row(g, stats.Estimate(estimate, low, high, n, N, "assisted", level), sampled_counts.get(g, 0))
        row["predicted"] = predicted_counts.get(g, 0)
        rows.append(row)
    rows.sort(key=lambda r: -r["estimate"])
    return rows


def _assisted_retention(usable, people, known, predicted, N: int, level: float) -> list[dict]:
    """Per origin country: the share of its people who work there, as the ratio of the
    assisted count of stayers to the assisted count of its people; each count's interval at
    1 - (1 - level)/2, so that both hold together with probability at least `level`."""
    inner = 1 - (1 - level) / 2
    origin_of = lambda countries, p: countries["origin"].get(p)  # noqa: E731
    stays = lambda countries, p, c: countries["origin"].get(p) == c and countries["work"].get(p) == c  # noqa: E731
    rows = []
    for country, sampled in Counter(known["origin"][p] for p in usable).most_common():
        if sampled < MIN_PATH:
            continue
        truth_in = [origin_of(known, p) == country for p in usable]
        guess_in = [origin_of(predicted, p) == country for p in usable]
        all_in = [origin_of(predicted, p) == country for p in people]
        truth_stay = [stays(known, p, country) for p in usable]
        guess_stay = [stays(predicted, p, country) for p in usable]
        all_stay = [stays(predicted, p, country) for p in people]
        total, total_low, total_high = stats.assisted_count_interval(truth_in, guess_in, all_in, inner)
        stayed, stayed_low, stayed_high = stats.assisted_count_interval(truth_stay, guess_stay, all_stay, inner)
        if total <= 0:
            continue
        low = stayed_low / total_high if total_high else 0.0
        high = min(1.0, stayed_high / total_low) if total_low else 1.0
        rows.append({"origin": country, "retention": round(min(stayed / total, 1.0), 4), "low": round(low, 4),
                     "high": round(high, 4), "origin_sampled": sampled, "stayed": sum(truth_stay),
                     "method": "assisted",
                     "flag": stats.too_uncertain(sampled, stayed / total, low, high)})
    return rows


def _figures(design: dict, sampled, people, complete, value, N: int, level: float) -> list[dict]:
    complete_set = set(complete)
    kind = design["design"]
    if kind == "person":
        usable = [p for p, _, _ in sampled if p in complete_set]
        n = len(usable)
        if n == 0:
            raise UserError(f"no sampled person of {design['sample_id']} has a known value yet: import annotations")
        counts = Counter(value(p) for p in usable)
        return [_row(g, stats.count_estimate(x, n, N, level), x) for g, x in counts.most_common()]
    if kind in ("stratified", "predicted-origin"):
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
            rows.append(_row(g, stats.stratified_estimate(strata, level), sum(k for k, _, _ in strata)))
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
                     "method": est.method,
                     "flag": stats.too_uncertain(len(group), est.estimate, est.low, est.high) if n < N else None})
    return rows
