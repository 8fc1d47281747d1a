"""`estimate`: population figures by origin, graduate school or work, flows and sub-groups.

A population (venues, years, tier; people or person-years) is a set of units (measures.py).
Every figure says what it rests on (`method`):

- `exact`: counted from what the data itself says of every unit, with its coverage and the
  bounds of the unknown part (the count with a value … that count plus every unit without
  one). Work is the work country at publication (the conference data); origin and graduate
  school are the units with direct evidence of that stage (an analyst's annotation, a
  profile, a job title). Never a sample, never a prediction.
- `sample`: from a random sample whose truth is what analysts entered for it, nothing else
  (measures.analyst_values). Per design: `person`, the exact hypergeometric count
  (`stats.count_estimate`); `stratified` and `predicted-origin`, `stats.stratified_estimate`;
  `paper`, `stats.cluster_estimate` with multiplicity weights, scaled so that the annotated
  people add up to the population. Sampled units nobody annotated, or that could not be
  determined, or whose analysts disagree until a reviewer decides, are non-response:
  counted in `sample` and set aside (assumed missing at random).
- `assisted`: a simple random sample of people (design `person`) with analysts' values, and
  a predicted country for every unit (predictions.py, fixed by the build): per country, the
  post-stratified difference estimator with its exact interval
  (`stats.assisted_count_interval`). The predictions are the model's side only.

Without `--method`: `assisted` (or `sample` for designs other than person, flows and
sub-groups) when the population has a sample with analysts' values for the stages
needed, else `exact`.

Sub-groups (`within=(stage, country)`: "of the China-educated, ...") and flows are domain
estimates from a person sample: per group, the joint count (hypergeometric) and the share
within the sub-group (`stats.ratio_estimate`, conditional on the sub-group's random sampled
size, Cochran 2.13). `--by flow` gives origin -> graduate -> work paths (a path taken by
fewer than MIN_PATH sampled units is pooled into OTHER_PATHS), each origin's retention (the
share of its people who work there) and each country's net flow (people working there who
come from elsewhere, minus people from there working elsewhere; each of the two counts at
1 - (1 - level)/2, so both hold together with probability at least `level`, Bonferroni).
Every figure carries `flag`, why it is too uncertain to show (stats.too_uncertain), or None.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict

import pycountry

from talent_tracker.errors import UserError
from talent_tracker.figures import measures, stats
from talent_tracker.figures.measures import Unit
from talent_tracker.figures.sampling import population_of
from talent_tracker.population import Population
from talent_tracker.stages import STAGES
from talent_tracker.store.reading import Tracker

BY = ("origin", "graduate", "work", "flow")
METHODS = ("exact", "assisted", "sample")
# a flow path needs this many sampled units to be shown on its own
MIN_PATH = 5
OTHER_PATHS = "other paths"
MEASURES = {
    "exact": {
        "origin": "undergraduate country, counted over the people with direct evidence of it (an analyst's "
                  "annotation, an OpenReview profile, an 'undergraduate' job title)",
        "graduate": "graduate-school country, counted over the people with direct evidence of it (an analyst's "
                    "annotation, a profile, a student job title)",
        "work": "work country at publication: the country of each person's latest accepted paper of these years "
                "with an affiliation (the conference data)",
        "flow": "origin -> graduate -> work paths of the people with direct evidence of all three",
    },
    "sample": {
        "origin": "country of undergraduate degree, as analysts found it for a random sample",
        "graduate": "country of graduate school, as analysts found it for a random sample",
        "work": "country of current employer, as analysts found it for a random sample",
        "flow": "origin -> graduate school -> current employer, as analysts found them for a random sample",
    },
}


def parse_within(text: str | None) -> tuple[str, str] | None:
    """`origin=CN` -> ("origin", "CN"): the sub-group a figure is about."""
    if not text:
        return None
    found = re.fullmatch(r"\s*(origin|graduate|work)\s*=\s*([A-Za-z]{2})\s*", text)
    if found is None or pycountry.countries.get(alpha_2=found[2].upper()) is None:
        raise UserError(f"sub-group {text[:40]!r}: write STAGE=COUNTRY, e.g. origin=CN (a stage among "
                        f"{', '.join(STAGES)} and an ISO 3166-1 alpha-2 code)")
    return found[1], found[2].upper()


def estimate(tracker: Tracker, venue_names: list[str], years: list[int], tier: str, by: str,
             sample_id: str | None = None, level: float = 0.95, method: str | None = None,
             within: tuple[str, str] | str | None = None, unit: str = "person", place: str = "lab",
             merge: dict[str, str] | None = None) -> dict:
    """Figures for a population by `by`; `within` a sub-group; `merge` counts some countries
    as one group (country -> group name, e.g. the countries of Europe -> "Europe")."""
    if by not in BY:
        raise UserError(f"unknown breakdown {by!r} (choose {', '.join(BY)})")
    if method is not None and method not in METHODS:
        raise UserError(f"unknown method {method!r} (choose {', '.join(METHODS)})")
    if not 0 < level < 1:
        raise UserError(f"the level must lie strictly between 0 and 1, not {level}")
    within = parse_within(within) if isinstance(within, str) else within
    merge = merge or {}
    if within and (by == "flow" or within[0] == by):
        raise UserError(f"a sub-group ({within[0]}={within[1]}) is broken down by another stage, not by {by}")
    population, units = _population(tracker, tuple(venue_names), tuple(years), tier, unit, place)
    N = len(units)
    stages = _stages(by) + ((within[0],) if within else ())
    workspace = tracker.workspace()
    design = _design(workspace, population, sample_id)
    result = {"population": population.label, "population_size": N, "unit": population.unit, "by": by,
              "within": {"stage": within[0], "country": within[1]} if within else None, "level": level,
              "notes": []}
    sample = _Sample(tracker, workspace, population, design, units, stages, merge) if design else None
    # a flow sample without any complete path still gives retention and net flows
    answered = sample is not None and (bool(sample.usable) or (by == "flow" and any(
        sample.known(u, "origin", "work") for u in sample.units)))
    if method is None:
        if answered:
            method = "assisted" if (design["design"] == "person" and by in STAGES and not within
                                    and _has_predictions(tracker, population, by)) else "sample"
        elif within:
            raise UserError(needs_sample(population, stages, sample))
        else:
            method = "exact"
            if sample is not None:
                result["notes"].append(f"Sample {design['sample_id']} has no analyst's value for "
                                       f"{' and '.join(stages)} yet: exact counts instead.")
    if method == "exact":
        if within:
            raise UserError("a sub-group figure is a sample's: choose method sample or assisted")
        return _exact(tracker, population, units, by, result, merge)
    if not answered:
        raise UserError(needs_sample(population, stages, sample))
    summary = sample.summary()
    result.update(method=method, measure=MEASURES["sample"][by], sample=summary, coverage=summary["response"])
    if method == "assisted":
        if design["design"] != "person":
            raise UserError(f"assisted estimates need a simple random sample of people (design person); "
                            f"{design['sample_id']} is a {design['design']} sample: use method sample")
        if by == "flow" or within:
            raise UserError("flows and sub-groups are estimated from the sample alone: use method sample")
        if not _has_predictions(tracker, population, by):
            raise UserError("no predictions in this database (built by an earlier version): rebuild it, "
                            "or use method sample")
        predicted = _predicted(tracker, population, by)
        result["predictions_coverage"] = round(sum(1 for u in units if u[0] in predicted) / N, 4)
        guess = lambda u: merge.get(predicted.get(u[0]), predicted.get(u[0]))  # noqa: E731
        result["figures"] = _assisted_figures(sample, units, guess, N, level)
        return result
    if within:
        result["figures"], result["domain"] = _within_figures(sample, within, by, N, level)
        return result
    value = sample.value_of(by)
    if by == "flow":
        sampled_paths = Counter(value(u) for u in sample.usable)
        result["paths"] = dict(sampled_paths)  # every sampled path, none pooled
        value = _pooled(value, sampled_paths)
    result["figures"] = _figures(sample, value, N, level)
    if by == "flow":
        result["retention"], result["net"], result["abroad"] = _flows(sample, N, level)
    return result


def _stages(by: str) -> tuple[str, ...]:
    return STAGES if by == "flow" else (by,)


def needs_sample(population: Population, stages: tuple[str, ...], sample: _Sample | None = None) -> str:
    """What is missing for a sample-based figure, and the commands that supply it."""
    years = f"{min(population.years)}-{max(population.years)}" if len(population.years) > 1 else \
        str(population.years[0])
    venues = " ".join(f"--venue {v}" for v in population.venues)
    unit = " --unit person-year" if population.unit == "person-year" else ""
    draw = (f"talent-tracker sample {venues} --years {years} --tier {population.tier}{unit} --size 400 "
            "--output sheet.csv")
    if sample is None:
        return (f"no annotated sample of {population.label}: draw one ({draw}), fill in "
                f"{' and '.join(stages)} for the people in the sheet, then talent-tracker careers import sheet.csv")
    return (f"no sampled person of {sample.design['sample_id']} has an analyst's value for {' and '.join(stages)} yet "
            f"({sample.summary()['annotated']} of {sample.summary()['drawn']}): fill in the sheet and import it "
            "(talent-tracker careers import), or annotate in the browser")


# --- exact counts --------------------------------------------------------------------------

def _exact(tracker: Tracker, population: Population, units, by: str, result: dict, merge: dict[str, str]) -> dict:
    N = len(units)
    known = {s: _exact_values(tracker, population, s) for s in _stages(by)}
    if by == "flow":
        value = lambda u: (" -> ".join(known[s][u] for s in STAGES)  # noqa: E731
                           if all(u in known[s] for s in STAGES) else None)
    else:
        value = lambda u: merge.get(known[by].get(u), known[by].get(u))  # noqa: E731
    counts = Counter(v for v in map(value, units) if v is not None)
    K = sum(counts.values())
    result.update(method="exact", measure=MEASURES["exact"][by], sample=None, coverage=round(K / N, 4) if N else 0.0,
                  known=K, unknown=N - K)
    result["figures"] = [_exact_row(group, count, K, N) for group, count in counts.most_common()]
    if by == "flow":
        result["paths"] = dict(counts)
    return result


def _exact_values(tracker: Tracker, population: Population, stage: str) -> dict[Unit, str]:
    """Per unit, its value for `stage` by the exact measure (measures.py); kept per build and,
    for origin and graduate (annotations are direct evidence), per workspace generation."""
    if stage == "work":
        key = ("work_at_publication", tracker.build_stamp(), population)
        return tracker.memo(key, lambda: _read(tracker, lambda con: measures.work_at_publication(con, population), False))
    key = ("direct_evidence", tracker.build_stamp(), tracker.workspace_generation(), population, stage)
    return tracker.memo(key, lambda: _read(tracker, lambda con: measures.direct_evidence(con, population, stage), True))


def _read(tracker: Tracker, query, with_workspace: bool):
    with tracker.reader(with_workspace=with_workspace) as con:
        return query(con)


def _exact_row(group: str, count: int, known: int, N: int) -> dict:
    """A count with bounds for the units without a value: at least `count`, at most all of them."""
    high = count + N - known
    return {"group": group, "estimate": count, "low": count, "high": high,
            "share": round(count / known, 4) if known else 0.0, "share_low": round(count / N, 4),
            "share_high": round(high / N, 4), "sample_size": known, "population_size": N, "method": "exact",
            "sampled": None, "flag": stats.too_uncertain_bounds(known, N)}


# --- samples -------------------------------------------------------------------------------

class _Sample:
    """A sample of the population and what analysts entered for its units."""

    def __init__(self, tracker: Tracker, workspace, population: Population, design: dict, units, stages,
                 merge: dict[str, str]):
        self.design, self.stages, self.merge = design, stages, merge
        member = _member_set(tracker, population, units)
        rows = workspace.rows("SELECT person_id, stratum, paper, year FROM samples WHERE sample_id = ? ORDER BY rowid",
                              [design["sample_id"]])
        per_year = population.unit == "person-year"
        self.drawn = [((r["person_id"], r["year"] if per_year else None), r["stratum"], r["paper"]) for r in rows]
        self.drawn = [row for row in self.drawn if row[0] in member]
        self.units = list(dict.fromkeys(u for u, _, _ in self.drawn))
        people = {u[0] for u in self.units}
        self.truth = {s: measures.analyst_values(workspace, people, s) for s in STAGES}
        self.usable = [u for u in self.units if all(u[0] in self.truth[s].values for s in stages)]
        if design["design"] == "paper":
            where, params = population.where()
            with tracker.reader(with_workspace=False) as con:
                design["multiplicity"] = dict(con.execute(
                    f"SELECT a.person_id, count(DISTINCT (a.venue, a.year, a.paper_id)) FROM authorships a "
                    f"WHERE {where} AND a.person_id IN (SELECT unnest(?)) GROUP BY 1",
                    [*params, sorted(people)]).fetchall())

    def known(self, unit: Unit, *stages: str) -> bool:
        return all(unit[0] in self.truth[s].values for s in stages)

    def value_of(self, by: str):
        """Unit -> its analysts' value: a country (or the group it is merged into), or a path of three."""
        if by == "flow":
            return lambda u: " -> ".join(self.truth[s].values[u[0]] for s in STAGES)
        return lambda u: self.merge.get(self.truth[by].values[u[0]], self.truth[by].values[u[0]])

    def summary(self) -> dict:
        """The sample as drawn and as annotated: per stage and for the stages the figure needs."""
        def counts(stages) -> dict:
            annotated = sum(1 for u in self.units if self.known(u, *stages))
            undetermined = sum(1 for u in self.units if not self.known(u, *stages) and any(
                u[0] in self.truth[s].undetermined for s in stages))
            review = sum(1 for u in self.units if not self.known(u, *stages) and any(
                u[0] in self.truth[s].awaiting_review for s in stages))
            return {"drawn": len(self.units), "annotated": annotated, "undetermined": undetermined,
                    "awaiting_review": review, "not_annotated": len(self.units) - annotated - undetermined - review}
        summary = {k: self.design[k] for k in ("sample_id", "design", "size", "seed")}
        summary["unit"] = self.design.get("unit") or "person"
        summary.update(counts(self.stages))
        drawn = summary["drawn"]
        summary["response"] = round(summary["annotated"] / drawn, 4) if drawn else 0.0
        summary["nonresponse"] = round(1 - summary["response"], 4) if drawn else 0.0
        summary["stages"] = {s: counts((s,)) for s in STAGES}
        return summary


def _member_set(tracker: Tracker, population: Population, units) -> frozenset:
    return tracker.memo(("members", tracker.build_stamp(), population), lambda: frozenset(units))


def _pooled(value, sampled_counts: Counter):
    """Paths with fewer than MIN_PATH sampled units become one group, OTHER_PATHS."""
    shown = {g for g, k in sampled_counts.items() if k >= MIN_PATH}
    return lambda u: value(u) if value(u) in shown else OTHER_PATHS


def _row(group: str, est: stats.Estimate, sampled: int | None = None) -> dict:
    """A counted figure: people (whole numbers: the interval widened outwards, never cut),
    the share of the population, and whether it is too uncertain to show."""
    N = est.population_size or 1
    count, low, high = round(est.estimate), math.floor(est.low), math.ceil(est.high)
    return {"group": group, "estimate": count, "low": low, "high": min(high, N),
            "share": round(est.estimate / N, 4), "share_low": round(low / N, 4), "share_high": round(min(high, N) / N, 4),
            "sample_size": est.sample_size, "population_size": est.population_size, "method": est.method,
            "sampled": sampled, "flag": stats.too_uncertain(est.sample_size, est.estimate / N, low / N, high / N)}


def _figures(sample: _Sample, value, N: int, level: float) -> list[dict]:
    if not sample.usable:
        return []
    usable = set(sample.usable)
    kind = sample.design["design"]
    if kind == "person":
        n = len(sample.usable)
        counts = Counter(value(u) for u in sample.usable)
        return [_row(g, stats.count_estimate(x, n, N, level), x) for g, x in counts.most_common()]
    if kind in ("stratified", "predicted-origin"):
        by_stratum: dict[str, list[Unit]] = defaultdict(list)
        for u, stratum, _ in sample.drawn:
            if u in usable:
                by_stratum[stratum].append(u)
        sizes = sample.design["strata"]
        if any(not by_stratum.get(h) for h in sizes):
            raise UserError(f"a stratum of {sample.design['sample_id']} has no person with an analyst's value yet")
        groups = Counter(value(u) for units in by_stratum.values() for u in units)
        rows = []
        for g, k in groups.most_common():
            strata = [(sum(value(u) == g for u in by_stratum[h]), len(by_stratum[h]), sizes[h]) for h in sizes]
            rows.append(_row(g, stats.stratified_estimate(strata, level), k))
        return rows
    return _cluster_figures(sample, value, N, level)


def _cluster_figures(sample: _Sample, value, N: int, level: float) -> list[dict]:
    # a person on m_i population papers counts 1/m_i on each (multiplicity weights)
    multiplicity = sample.design["multiplicity"]
    usable = set(sample.usable)
    by_paper: dict[str, list[Unit]] = defaultdict(list)
    for u, _, paper in sample.drawn:
        by_paper[paper].append(u)
    m, M = len(by_paper), sample.design["clusters_total"]
    weight = lambda u: 1 / multiplicity.get(u[0], 1)  # noqa: E731
    known_total = M * sum(sum(weight(u) for u in units if u in usable) for units in by_paper.values()) / m
    scale = N / known_total
    groups = Counter(value(u) for units in by_paper.values() for u in units if u in usable)
    rows = []
    for g, k in groups.most_common():
        totals = [sum(weight(u) for u in units if u in usable and value(u) == g) for units in by_paper.values()]
        est = stats.cluster_estimate(totals, m, M, N, level)
        rows.append(_row(g, stats.Estimate(est.estimate * scale, est.low * scale, min(N, est.high * scale),
                                           len(sample.usable), N, "cluster", level), k))
    return rows


def _assisted_figures(sample: _Sample, units, guess, N: int, level: float) -> list[dict]:
    """Per group: the assisted count from the sample's true and predicted groups and
    everyone's predicted group."""
    value = sample.value_of(sample.stages[0])
    truth = [value(u) for u in sample.usable]
    predicted_sample = [guess(u) for u in sample.usable]
    everyone = [guess(u) for u in units]
    predicted_counts = Counter(everyone)
    sampled_counts = Counter(truth)
    floor = max(1, N // 200)  # predicted groups this small and never sampled are not worth an interval
    groups = [g for g, _ in sampled_counts.most_common()]
    groups += [g for g, k in predicted_counts.most_common() if g is not None and g not in sampled_counts
               and k >= floor]
    n = len(sample.usable)
    rows = []
    for g in groups:
        estimate, low, high = stats.assisted_count_interval(
            [t == g for t in truth], [f == g for f in predicted_sample], [f == g for f in everyone], level)
        row = _row(g, stats.Estimate(estimate, low, high, n, N, "assisted", level), sampled_counts.get(g, 0))
        row["predicted"] = predicted_counts.get(g, 0)
        rows.append(row)
    rows.sort(key=lambda r: -r["estimate"])
    return rows


def _needs_person_design(sample: _Sample, what: str) -> None:
    if sample.design["design"] != "person":
        raise UserError(f"{what} are estimated from a simple random sample of people (design person); "
                        f"{sample.design['sample_id']} is a {sample.design['design']} sample")


def _within_figures(sample: _Sample, within: tuple[str, str], by: str, N: int, level: float
                    ) -> tuple[list[dict], dict]:
    """Of the units in the sub-group (`within`), per value of `by`: the joint count and the
    share within the sub-group, whose random sampled size the ratio interval accounts for."""
    _needs_person_design(sample, "sub-group figures")
    stage, country = within
    usable = [u for u in sample.units if sample.known(u, stage, by)]
    n = len(usable)
    if not n:
        raise UserError(f"no sampled person of {sample.design['sample_id']} has an analyst's value for both "
                        f"{stage} and {by} yet")
    domain = [u for u in usable if sample.truth[stage].values[u[0]] == country]
    size = stats.count_estimate(len(domain), n, N, level)
    summary = {"stage": stage, "country": country, "sampled": len(domain), "of_sampled": n,
               **{k: v for k, v in _row(country, size, len(domain)).items() if k in (
                   "estimate", "low", "high", "share", "share_low", "share_high", "flag")}}
    rows = []
    value = sample.value_of(by)
    for group, hits in Counter(value(u) for u in domain).most_common():
        rows.append(_ratio_row(group, hits, len(domain), n, N, level))
    return rows, summary


def _ratio_row(group: str, hits: int, domain: int, n: int, N: int, level: float) -> dict:
    """The units of the sub-group with the trait: their number (hypergeometric, of the whole
    population) and their share of the sub-group (a domain ratio, stats.ratio_estimate)."""
    row = _row(group, stats.count_estimate(hits, n, N, level), hits)
    ratio = stats.ratio_estimate(hits, domain, n, N, level)
    row.update(share=round(ratio.estimate, 4), share_low=round(ratio.low, 4), share_high=round(ratio.high, 4),
               domain_sampled=domain, method="ratio",
               flag=stats.too_uncertain(domain, ratio.estimate, ratio.low, ratio.high))
    return row


def _flows(sample: _Sample, N: int, level: float) -> tuple[list[dict], list[dict], dict | None]:
    """Retention per origin country, net flow per country, and the share working abroad
    (work country other than origin), from the sampled units whose origin and work analysts
    found (graduate school plays no part)."""
    if sample.design["design"] != "person":
        return [], [], None
    both = [u for u in sample.units if sample.known(u, "origin", "work")]
    n = len(both)
    if not n:
        return [], [], None
    origin = {u: sample.truth["origin"].values[u[0]] for u in both}
    work = {u: sample.truth["work"].values[u[0]] for u in both}
    retention = []
    for country, sampled in Counter(origin.values()).most_common():
        if sampled < MIN_PATH:
            continue
        stayed = sum(1 for u in both if origin[u] == country and work[u] == country)
        row = _ratio_row(country, stayed, sampled, n, N, level)
        retention.append({"origin": country, "retention": row["share"], "low": row["share_low"],
                          "high": row["share_high"], "origin_sampled": sampled, "stayed": stayed, "method": "ratio",
                          "flag": row["flag"]})
    inner = 1 - (1 - level) / 2
    net = []
    for country in sorted(set(origin.values()) | set(work.values())):
        came = sum(1 for u in both if work[u] == country and origin[u] != country)
        left = sum(1 for u in both if origin[u] == country and work[u] != country)
        came_low, came_high = stats.count_interval(came, n, N, inner)
        left_low, left_high = stats.count_interval(left, n, N, inner)
        low, high = came_low - left_high, came_high - left_low
        net.append({"country": country, "net": round(N * (came - left) / n), "low": low, "high": high,
                    "in_sampled": came, "out_sampled": left, "sample_size": n, "method": "sample",
                    "flag": stats.too_uncertain_difference(n, low / N, high / N)})
    net.sort(key=lambda r: -r["net"])
    away = sum(1 for u in both if origin[u] != work[u])
    abroad = {k: v for k, v in _row("abroad", stats.count_estimate(away, n, N, level), away).items()
              if k != "group"} if n else None
    return retention, net, abroad


# What an estimate needs from the build is the same until the next build: the population's
# units and predictions are kept in the tracker's memo per build; what the workspace adds
# (annotations, samples: small) is read afresh, so a save does not cost a recount.

def _population(tracker: Tracker, venue_names: tuple, years: tuple, tier: str, unit: str, place: str
                ) -> tuple[Population, tuple[Unit, ...]]:
    def compute():
        with tracker.reader(with_workspace=False) as con:
            population = population_of(con, list(venue_names), list(years), tier, unit, place)
            found = tuple(measures.units(con, population))
        if not found:
            raise UserError(f"the population {population.label} is empty in this database")
        return population, found
    return tracker.memo(("population", tracker.build_stamp(), venue_names, years, tier, unit, place), compute)


def _predicted(tracker: Tracker, population: Population, stage: str) -> dict[str, str]:
    """Each member's predicted country for `stage` (predictions.py): fixed by the build."""
    def compute():
        where, params = population.where()
        with tracker.reader(with_workspace=False) as con:
            return dict(con.execute(f"""
                SELECT person_id, country FROM predictions WHERE stage = ? AND country IS NOT NULL
                  AND person_id IN (SELECT a.person_id FROM authorships a WHERE {where})""",
                                    [stage, *params]).fetchall())
    return tracker.memo(("predicted", tracker.build_stamp(), population, stage), compute)


def _has_predictions(tracker: Tracker, population: Population, stage: str) -> bool:
    return bool(_predicted(tracker, population, stage))


def _design(workspace, population: Population, sample_id: str | None) -> dict | None:
    """The sample asked for, else the population's latest sample, else None."""
    designs = workspace.rows("SELECT * FROM sample_designs ORDER BY created_at DESC, sample_id") if workspace else []
    for design in designs:
        design["venues"], design["years"] = json.loads(design["venues"]), json.loads(design["years"])
        design["unit"] = design.get("unit") or "person"
    key = lambda d: (tuple(d["venues"]), tuple(d["years"]), d["tier"], d["unit"])  # noqa: E731
    wanted = (population.venues, population.years, population.tier, population.unit)
    if sample_id is not None:
        chosen = next((d for d in designs if d["sample_id"] == sample_id), None)
        if chosen is None:
            raise UserError(f"no sample {sample_id!r} in this database")
        if key(chosen) != wanted:
            raise UserError(f"sample {sample_id} was drawn from another population")
    else:
        chosen = next((d for d in designs if key(d) == wanted), None)
        if chosen is None:
            return None
    chosen["strata"] = json.loads(chosen["strata"] or "{}")
    return chosen
