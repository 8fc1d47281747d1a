"""Predictions: a country for every person and stage, with a probability; never a fact.

A fact (careers/derive.py) is a piece of evidence about a person; a prediction is a guess made
for everyone, so that a small annotated sample can be scaled up to a population with
model-assisted estimates (stats.assisted_count_interval), and so that charts have
model-only figures before anyone annotates. Predictions live in their own table and are
shown only as predictions.

Each stage has a ladder of evidence kinds, tried in order; the first a person has gives
the predicted country. Only career evidence is used, never names (the methodology forbids
inferring origin from names):

- origin:   the origin fact; else the graduate country; else the country of the earliest
            affiliation on the trail; else the work country;
- graduate: the graduate fact; else the earliest affiliation; else the work country;
- work:     the work fact.

The ladder never looks at annotations: the predicted countries are fixed by the build
before any sample is drawn, which is what keeps the assisted intervals valid.

Probability: how often the kind's country is right, estimated per (stage, kind) where the
build can check it, on the people who also have the stage's own fact from a better source:
(agree + 2·prior) / (pairs + 2), a Beta prior of strength 2 whose mean is the fact source's
confidence (careers.CONFIDENCE) or 1/2 for indirect kinds. It orders people for checking
and is shown beside a prediction; the estimators use only the predicted country.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import pyarrow as pa

from talent_tracker.careers.derive import CONFIDENCE, Columns
from talent_tracker.stages import fact_rank

LADDERS = {
    "origin": ("origin", "graduate", "earliest", "work"),
    "graduate": ("graduate", "earliest", "work"),
    "work": ("work",),
}
KINDS = ("origin", "graduate", "earliest", "work")  # every rung of every ladder
KIND_LABELS = {"origin": "origin fact", "graduate": "graduate fact", "work": "work fact",
               "earliest": "earliest affiliation"}
PRIOR_STRENGTH = 2.0
SCHEMA = pa.schema([
    ("person_id", pa.string()), ("stage", pa.string()), ("country", pa.string()), ("probability", pa.float32()),
    ("kind", pa.string()), ("evidence", pa.string()),
])


def best_per_source(facts: list[dict], ranks: list[tuple]) -> dict[tuple[str, str], dict[str, int]]:
    """Per (person, stage) and source, the index of the fact `career_stages` would choose
    among that source's inferred facts with a country (`ranks`: each fact's fact_rank)."""
    by_source: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for i, fact in enumerate(facts):
        if fact.get("country") and fact["source"] != "annotation":
            kept = by_source[(fact["person_id"], fact["stage"])]
            if fact["source"] not in kept or ranks[i] < ranks[kept[fact["source"]]]:
                kept[fact["source"]] = i
    return by_source


def best_facts(by_source: dict[tuple[str, str], dict[str, int]], facts: list[dict], ranks: list[tuple]
               ) -> dict[tuple[str, str], dict]:
    """Per (person, stage), the fact `career_stages` would choose: the best of its sources'
    best (of equals, the first)."""
    return {key: facts[min(kept.values(), key=lambda i: (ranks[i], i)) if len(kept) > 1 else next(iter(kept.values()))]
            for key, kept in by_source.items()}


_rank = fact_rank  # the order career_stages uses


def earliest_places(authorships: pa.Table | Columns) -> dict[str, tuple[str, str, int]]:
    """Per person, the country of their earliest paper with a resolved country, why, and its year."""
    cols = Columns.of(authorships)
    persons = cols["person_id"]
    earliest: dict[str, tuple] = {}
    for i, key, country, why in cols.dated_countries:
        person = persons[i]
        if not person:
            continue
        known = earliest.get(person)
        if known is None or key < known[0]:
            earliest[person] = (key, country, why)
    return {person: (country, why, key[0]) for person, (key, country, why) in earliest.items()}


def predict(authorships: pa.Table | Columns, facts: list[dict]) -> pa.Table:
    """One row per person and stage that any evidence speaks to: the first rung of the
    stage's ladder the person has, with its calibrated probability.

    Probability: P(the rung's country is the person's) per (stage, kind label),
    Beta-smoothed. A fact rung (say a job title) is checked on people who also have a fact
    of a better source for the stage (a profile); an indirect rung (the earliest
    affiliation, for origin) on people who have the stage's fact from a later paper than
    the rung's evidence (an undergraduate's earliest affiliation is the one their title is
    on: such a pair would only show that the evidence agrees with itself)."""
    ranks = [_rank(fact) for fact in facts]
    by_source = best_per_source(facts, ranks)
    best = best_facts(by_source, facts, ranks)
    earliest = earliest_places(authorships)
    # each rung: (country, kind label, evidence, year), per kind and person
    found_in: dict[str, dict[str, tuple]] = {kind: {} for kind in KINDS}
    truths: dict[str, dict[str, dict]] = {stage: {} for stage in LADDERS}  # the stage's own fact, per person
    prior: dict[tuple[str, str], float] = {}
    for (person, stage), fact in best.items():
        if stage in found_in:
            label = f"{KIND_LABELS[stage]} ({fact['source']})"
            found_in[stage][person] = (fact["country"], label, fact["evidence"], fact.get("start_year"))
            truths[stage][person] = fact
            prior[(stage, label)] = CONFIDENCE.get(fact["source"], 0.5)
    found_in["earliest"] = {person: (country, "earliest affiliation", why, year)
                            for person, (country, why, year) in earliest.items()}
    agree, pairs = _sources_agree(by_source, facts, ranks)
    first_rung: dict[str, dict[str, tuple]] = {}  # per stage and person, the first rung of the ladder found
    for stage, ladder in LADDERS.items():
        first_rung[stage] = {}
        for kind in reversed(ladder):
            first_rung[stage].update(found_in[kind])
        truth = truths[stage]
        for kind in ladder[1:]:  # every lower rung is checked against the stage's own fact
            found = found_in[kind]
            for label in {rung[1] for rung in found.values()}:
                prior.setdefault((stage, label), 0.5)
            for person in truth.keys() & found.keys():
                rung = found[person]
                if _later(truth[person], rung[3]):
                    pairs[(stage, rung[1])] += 1
                    agree[(stage, rung[1])] += truth[person]["country"] == rung[0]
    persons = sorted(set().union(*first_rung.values()))
    chosen = [(person, stage, rungs[person]) for person in persons for stage, rungs in first_rung.items()
              if person in rungs]  # (person, stage, rung) per row
    probability = {key: (agree[key] + PRIOR_STRENGTH * p) / (pairs[key] + PRIOR_STRENGTH) for key, p in prior.items()}
    return pa.table({
        "person_id": [person for person, _, _ in chosen],
        "stage": [stage for _, stage, _ in chosen],
        "country": [rung[0] for _, _, rung in chosen],
        "probability": [probability[(stage, rung[1])] for _, stage, rung in chosen],
        "kind": [rung[1] for _, _, rung in chosen],
        "evidence": [rung[2] for _, _, rung in chosen],
    }, schema=SCHEMA)


def _sources_agree(by_source: dict[tuple[str, str], dict[str, int]], facts: list[dict], ranks: list[tuple]
                   ) -> tuple[dict, dict]:
    """How often a fact source's country agrees with the better source's, among people who
    have both for a stage: (agreeing, checked) per (stage, kind label)."""
    agree: dict[tuple[str, str], int] = defaultdict(int)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for (_person, stage), sources in by_source.items():
        if len(sources) < 2:
            continue  # nothing to check against
        ranked = sorted(sources.values(), key=ranks.__getitem__)
        for better, worse in itertools.pairwise(ranked):
            key = (stage, f"{KIND_LABELS[stage]} ({facts[worse]['source']})")
            pairs[key] += 1
            agree[key] += facts[better]["country"] == facts[worse]["country"]
    return agree, pairs


def _later(fact: dict, year: int | None) -> bool:
    return year is not None and fact.get("start_year") is not None and fact["start_year"] > year
