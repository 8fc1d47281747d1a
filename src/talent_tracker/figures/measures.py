"""What a figure measures, unit by unit: one definition of "known" for every interface.

A population (population.py) is a set of units: people, or person-years (a person once for
each year of the range in which they had an accepted paper). A unit is `(person_id, year)`,
the year None for a person. For each unit and stage this module says what is known, and
from where, in exactly one way; `report`, `estimate`, the API and the pages all use it:

- `work_at_publication`: the country of the unit's latest accepted paper in the population's
  years that has one (a person-year: that year's), the lab's or, with place `hq`, its
  organisation's headquarters'. The conference data's own measure of work.
- `direct_evidence`: for origin and graduate school, the unit's best fact from a source that
  speaks of that stage itself (DIRECT_SOURCES: an analyst's annotation, a profile's education
  history, a job title on a paper), ranked as `career_stages` ranks facts. Never a country
  read from another stage: the earliest affiliation or the work country say where someone
  worked, not where they studied.
- `analyst_values`: a sample's truth, what analysts settled (annotations.workflow.settle), and
  which people were looked at but could not be determined or await a reviewer. Nothing
  inferred, nothing predicted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from talent_tracker.population import Population
from talent_tracker.stages import STAGE_ORDER

Unit = tuple[str, int | None]
# the sources that speak of a stage itself (stages.PRECEDENCE names them all)
DIRECT_SOURCES = ("annotation", "profile", "job_title")


def work_country_sql(population: Population) -> str:
    """The work country of an authorship `a` (joined to its institution `i`)."""
    return "coalesce(i.hq_country, a.country)" if population.place == "hq" else "a.country"


def latest_sql(population: Population, where: str) -> str:
    """`WITH ... latest`: per unit, its latest accepted authorship with a country (person_id,
    year, country, institution_id, institution, sector), in the years `where` selects."""
    unit = "a.person_id, a.year" if population.unit == "person-year" else "a.person_id"
    return f"""
WITH located AS (
    SELECT a.person_id, a.year, {work_country_sql(population)} AS country, a.institution_id, a.institution,
           a.sector,
           row_number() OVER (PARTITION BY {unit} ORDER BY a.year DESC, a.venue, a.paper_id,
                              a.author_position) AS rank
    FROM authorships a LEFT JOIN institutions i USING (institution_id)
    WHERE {where} AND a.country IS NOT NULL
), latest AS (SELECT * EXCLUDE (rank) FROM located WHERE rank = 1)
"""


def units(con, population: Population) -> list[Unit]:
    """The population's units, sorted."""
    where, params = population.where()
    if population.unit == "person-year":
        sql = f"SELECT DISTINCT a.person_id, a.year FROM authorships a WHERE {where} ORDER BY 1, 2"
        return [(p, y) for p, y in con.execute(sql, params).fetchall()]
    sql = f"SELECT DISTINCT a.person_id FROM authorships a WHERE {where} ORDER BY 1"
    return [(p, None) for (p,) in con.execute(sql, params).fetchall()]


def work_at_publication(con, population: Population) -> dict[Unit, str]:
    """Per unit with one, its work country at publication."""
    where, params = population.where()
    rows = con.execute(latest_sql(population, where) + "SELECT person_id, year, country FROM latest", params).fetchall()
    per_year = population.unit == "person-year"
    return {(p, y if per_year else None): c for p, y, c in rows}


def direct_evidence(con, population: Population, stage: str) -> dict[Unit, str]:
    """Per unit whose person has one, the country of their best direct fact for `stage`."""
    where, params = population.where()
    rows = con.execute(f"""
        SELECT person_id, country FROM (
            SELECT person_id, country,
                   row_number() OVER (PARTITION BY person_id ORDER BY {STAGE_ORDER}) AS rank
            FROM careers
            WHERE stage = ? AND source IN (SELECT unnest(?)) AND country IS NOT NULL
              AND person_id IN (SELECT a.person_id FROM authorships a WHERE {where})
        ) WHERE rank = 1""", [stage, list(DIRECT_SOURCES), *params]).fetchall()
    by_person = dict(rows)
    return {u: by_person[u[0]] for u in units(con, population) if u[0] in by_person}


@dataclass
class Truth:
    """One stage's analysts' values for some people: the settled countries, and the people
    looked at but left without one (could not be determined, or analysts disagree and no
    reviewer has decided)."""

    values: dict[str, str] = field(default_factory=dict)
    undetermined: set[str] = field(default_factory=set)
    awaiting_review: set[str] = field(default_factory=set)


def analyst_values(workspace, people: set[str], stage: str) -> Truth:
    """What analysts entered for `stage` about `people` (workspace: the SQLite workspace, or None)."""
    truth = Truth()
    if workspace is None or not people:
        return truth
    for row in workspace.rows("SELECT person_id, country FROM annotations WHERE stage = ? AND country IS NOT NULL",
                              [stage]):
        if row["person_id"] in people:
            truth.values[row["person_id"]] = row["country"]
    entered: dict[str, set[str]] = {}
    for row in workspace.rows(f"SELECT person_id, {stage}_country AS country, undetermined FROM submissions"):
        person = row["person_id"]
        if person not in people or person in truth.values:
            continue
        if row["country"]:
            entered.setdefault(person, set()).add(row["country"])
        elif stage in json.loads(row["undetermined"] or "[]"):
            truth.undetermined.add(person)
    for person, _countries in entered.items():
        truth.awaiting_review.add(person)  # entered, yet not settled: analysts disagree
        truth.undetermined.discard(person)
    return truth
