"""Populations (venue, years, tier -> people) and reproducible samples of them.

Designs (`--design`):
- `person`: a simple random sample of `size` people, without replacement;
- `paper`: a simple random sample of `size` accepted papers; every population author of
  a drawn paper is in the sample (a cluster sample: one look-up covers a whole paper);
- `stratified`: `size` people split over the strata `top2` (oral authors) and `top20`
  (the other accepted authors) in proportion to their sizes (at least 2 each), a simple
  random sample within each; needs a top20 population with oral labels;
- `predicted-origin`: strata by predicted origin country (predictions.py): each country
  predicted for at least STRATUM_SHARE of the population, `other`, and `none` (no
  prediction), in proportion to their sizes (at least 2 each), so that every large origin
  is sampled in its share and the estimates are stratified ones.

`check_sheet` is not a sample: it lists the people whose predicted country for a stage is
least certain (no prediction first, then the lowest probability) for an annotator to
check. It is never used for estimates, which need random samples.

The same database, population, design, size and seed always give the same sample: the
population is sorted before `random.Random(seed)` draws from it. A sample is kept, with
its sheet, by annotations/samples.py (`save`).
"""

from __future__ import annotations

import random
from pathlib import Path

from talent_tracker.annotations.samples import Sample, place_sheet, write_sheet, written_beside
from talent_tracker.errors import UserError
from talent_tracker.figures import measures
from talent_tracker.population import Population
from talent_tracker.store.database import check_output_file
from talent_tracker.store.reading import Tracker

DESIGNS = ("person", "paper", "stratified", "predicted-origin")
STRATUM_SHARE = 0.05  # a predicted origin country this common gets its own stratum


def population_of(con, venue_names: list[str], years: list[int], tier: str, unit: str = "person",
                  place: str = "lab") -> Population:
    """A population to sample, checked against the database: one clear error if it makes no sense."""
    if not venue_names:
        raise UserError("a sample needs at least one venue")
    if not years:
        raise UserError("a sample needs its years (e.g. 2019 or 2010-2019)")
    population = Population.of(venue_names, years, tier, place, unit)
    if tier == "top2":
        no_oral = con.execute(
            "SELECT venue, year FROM venue_years WHERE NOT oral_known AND venue IN (SELECT unnest(?)) "
            "AND year IN (SELECT unnest(?)) ORDER BY ALL", [list(population.venues), list(population.years)]
        ).fetchall()
        if no_oral:
            raise UserError("tier top2 is unavailable for " + ", ".join(f"{v} {y}" for v, y in no_oral)
                            + " (the data carries no oral label)")
    return population


def members(con, population: Population) -> list[str]:
    where, params = population.where()
    rows = con.execute(f"SELECT DISTINCT a.person_id FROM authorships a WHERE {where} ORDER BY 1", params).fetchall()
    if not rows:
        raise UserError(f"the population {population.label} is empty in this database")
    return [r[0] for r in rows]



def draw(tracker: Tracker, venue_names: list[str], years: list[int], tier: str, size: int, design: str, seed: int,
         unit: str = "person") -> Sample:
    if design not in DESIGNS:
        raise UserError(f"unknown design {design!r} (choose {', '.join(DESIGNS)})")
    if size <= 0:
        raise UserError("a sample's size must be positive")
    with tracker.reader() as con:
        population = population_of(con, venue_names, years, tier, unit)
        if population.unit == "person-year" and design != "person":
            raise UserError("a sample of person-years is a simple random sample of them (design person)")
        units = measures.units(con, population)
        if not units:
            raise UserError(f"the population {population.label} is empty in this database")
        people = [p for p, _ in units]
        N = len(units)
        sample_id = f"{population.label.replace(' ', '-')}-{design}-{size}-seed{seed}"
        rng = random.Random(seed)
        if design == "person":
            if size > N:
                raise UserError(f"a sample of {size} is larger than the population ({N:,} {_units(population)} in "
                                f"{population.label})")
            chosen = [(p, None, None, y) for p, y in rng.sample(units, size)]
            return Sample(sample_id, population, design, size, seed, N, chosen)
        if design == "stratified":
            return _stratified(con, population, people, size, rng, sample_id, seed)
        if design == "predicted-origin":
            return _by_prediction(con, population, people, size, rng, sample_id, seed)
        return _by_paper(con, population, size, rng, sample_id, seed, N)


def _units(population: Population) -> str:
    return "person-years" if population.unit == "person-year" else "people"


def _stratified(con, population, people, size, rng, sample_id, seed) -> Sample:
    if population.tier != "top20":
        raise UserError("the stratified design draws within tiers: it needs tier top20")
    where, params = population.where()
    oral = {r[0] for r in con.execute(
        f"SELECT DISTINCT a.person_id FROM authorships a WHERE {where} AND a.tier = 'top2'", params).fetchall()}
    if not oral:
        raise UserError(f"no oral authors in {population.label}: the stratified design needs both tiers")
    strata = {"top2": sorted(oral), "top20": sorted(set(people) - oral)}
    N = len(people)
    if size > N:
        raise UserError(f"a sample of {size} is larger than the population ({N} people in {population.label})")
    sizes = {h: min(len(m), max(2, round(size * len(m) / N))) for h, m in strata.items()}
    sizes["top20"] = min(len(strata["top20"]), size - sizes["top2"])
    chosen = [(p, h, None, None) for h in ("top2", "top20") for p in rng.sample(strata[h], sizes[h])]
    return Sample(sample_id, population, "stratified", size, seed, N, chosen,
                  strata={h: len(m) for h, m in strata.items()})


def _by_prediction(con, population, people, size, rng, sample_id, seed) -> Sample:
    N = len(people)
    if size > N:
        raise UserError(f"a sample of {size} is larger than the population ({N} people in {population.label})")
    predicted = dict(con.execute("SELECT person_id, country FROM predictions WHERE stage = 'origin' "
                                 "AND person_id IN (SELECT unnest(?))", [people]).fetchall())
    if not predicted:
        raise UserError("no predicted origins in this database (built by an earlier version): rebuild it")
    counts: dict[str, int] = {}
    for p in people:
        counts[predicted.get(p) or "none"] = counts.get(predicted.get(p) or "none", 0) + 1
    own = {c for c, k in counts.items() if c != "none" and k >= STRATUM_SHARE * N}
    strata: dict[str, list[str]] = {}
    for p in people:  # people are sorted: so is every stratum
        country = predicted.get(p)
        strata.setdefault(country if country in own else ("none" if country is None else "other"), []).append(p)
    sizes = {h: min(len(m), max(2, round(size * len(m) / N))) for h, m in strata.items()}
    largest = max(strata, key=lambda h: len(strata[h]))
    sizes[largest] = max(2, min(len(strata[largest]), size - sum(k for h, k in sizes.items() if h != largest)))
    if sum(sizes.values()) > size:
        raise UserError(f"a sample of {size} is too small for {len(strata)} strata of at least 2 people")
    chosen = [(p, h, None, None) for h in sorted(strata) for p in rng.sample(strata[h], sizes[h])]
    return Sample(sample_id, population, "predicted-origin", sum(sizes.values()), seed, N, chosen,
                  strata={h: len(m) for h, m in sorted(strata.items())})


def check_sheet(tracker: Tracker, venue_names: list[str], years: list[int], tier: str, stage: str, size: int,
                output: Path, overwrite: bool = False) -> int:
    """Write a sheet of the `size` people whose predicted `stage` country is least certain."""
    if stage not in ("origin", "graduate", "work"):
        raise UserError(f"unknown stage {stage!r} (choose origin, graduate or work)")
    if size <= 0:
        raise UserError("a sample's size must be positive")
    output = Path(output)
    check_output_file(output)
    if output.exists() and not overwrite:
        raise UserError(f"{output}: exists (it may hold annotations); choose another --output, or --overwrite")
    with tracker.reader() as con:
        population = population_of(con, venue_names, years, tier)
        people = members(con, population)
        rows = con.execute(
            "SELECT m.person_id, p.country, p.probability, p.kind FROM (SELECT unnest(?) AS person_id) m "
            "LEFT JOIN predictions p ON p.person_id = m.person_id AND p.stage = ? "
            "LEFT JOIN career_stages c ON c.person_id = m.person_id AND c.stage = ? AND c.source = 'annotation' "
            "WHERE c.person_id IS NULL "  # already annotated: nothing to check
            "ORDER BY coalesce(p.probability, 0), m.person_id LIMIT ?",
            [people, stage, stage, size]).fetchall()
    # the prediction is shown here, where checking it is the task; never on a random
    # sample's sheet, where it could pull the annotator's answer towards it
    chosen = [(person, f"check {stage}: " + (f"predicted {country} (p={probability:.2f}, {kind})" if country
                                             else "no prediction"), None, None)
              for person, country, probability, kind in rows]
    check = Sample(f"check-{stage}-{population.label.replace(' ', '-')}", population, "check", size, 0,
                   len(people), chosen)
    with written_beside(output) as tmp:
        written = write_sheet(tracker, check, tmp)
        place_sheet(tmp, output, overwrite)
    return written


def _by_paper(con, population, size, rng, sample_id, seed, N) -> Sample:
    where, params = population.where()
    papers = [r[0] for r in con.execute(
        f"SELECT DISTINCT a.venue || ':' || a.year || ':' || a.paper_id FROM authorships a WHERE {where} ORDER BY 1",
        params).fetchall()]
    if size > len(papers):
        raise UserError(f"a sample of {size} papers is larger than the population's {len(papers)} papers")
    drawn = rng.sample(papers, size)
    rows = con.execute(
        f"SELECT a.venue || ':' || a.year || ':' || a.paper_id AS paper, a.person_id FROM authorships a "
        f"WHERE {where} ORDER BY 1, a.author_position", params).fetchall()
    authors: dict[str, list[str]] = {}
    for paper, person in rows:
        authors.setdefault(paper, []).append(person)
    chosen = [(person, None, paper, None) for paper in drawn for person in dict.fromkeys(authors[paper])]
    return Sample(sample_id, population, "paper", size, seed, N, chosen, clusters_total=len(papers))
