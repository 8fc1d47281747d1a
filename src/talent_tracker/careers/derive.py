"""Person -> career facts: origin (undergraduate), graduate school and work, with provenance.

One row of `careers` per fact: `person_id, stage, institution_id, institution, country,
sector, start_year, end_year, source, confidence, evidence`. Sources, and the order in
which they win (stages.PRECEDENCE, used by the `career_stages` view):

1. `annotation`  an analyst's entry (careers import); outranks everything, survives rebuilds;
2. `profile`     an OpenReview profile's education and career history (careers/profiles/facts.py);
3. `job_title`   the job title on a paper (`Undergrad student` -> origin,
                 `MS student` / `PhD student` -> graduate, any other title -> work),
                 as of the paper's year, at the authorship's resolved institution;
4. `trail`       the whole trail of a person's papers, across venues and years, read for
                 graduate school: a person first seen as a student (a student job title
                 on their earliest papers) studied at their earliest affiliation, and a
                 person with a student title in year Y was a student at their affiliations
                 of the TRAIL_YEARS years before (`trail_facts`);
5. `affiliation` the affiliations of a person's latest paper that has one are the work
                 place as of its year (resolved or not: an unresolved affiliation keeps its
                 text and no institution id);
6. `email`       the e-mail domain of a person's latest paper with one, resolved to an
                 institution (or, for a country-code domain, a country): work, as of its year.

Each fact says how it was inferred (`evidence`: the paper, the field and the rule) and how
sure it is (`confidence`: CONFIDENCE per source and rule, an ordering not a probability;
calibrated probabilities are the predictions', predictions.py). Within a source, the later
fact (end year; none: current) wins, then the more confident one.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

import pyarrow as pa

CONFIDENCE = {"profile": 0.9, "job_title": 0.8, "trail": 0.6, "affiliation": 0.6, "email": 0.5}
# a student title in year Y makes the affiliations of years Y-TRAIL_YEARS..Y-1 graduate school
TRAIL_YEARS = 5

_UNDERGRAD = re.compile(r"\b(undergrad|undergraduate|bachelor|bsc|b\.?s\.?|b\.?tech|b\.?e\.?)\b", re.IGNORECASE)
_GRADUATE = re.compile(r"\b(phd|ph\.d|doctoral|ms|msc|m\.s|master|masters|mphil|graduate student|grad student|"
                       r"m\.?tech|mba)\b", re.IGNORECASE)
_STUDENT = re.compile(r"\bstudent\b", re.IGNORECASE)


class Columns(dict):
    """An authorships table's columns as Python lists, each made once, when first read:
    the facts, the trail facts and the predictions read mostly the same columns."""

    def __init__(self, table: pa.Table):
        super().__init__()
        self.table = table

    def __missing__(self, name: str) -> list:
        found = self[name] = self.table.column(name).to_pylist()
        return found

    @classmethod
    def of(cls, authorships: pa.Table | Columns) -> Columns:
        return authorships if isinstance(authorships, Columns) else cls(authorships)

    # what the careers read per row that does not depend on who is who (see ahead)
    @cached_property
    def placed(self) -> list[int]:
        """The rows with a place: an affiliation, or an institution from the e-mail."""
        return [i for i, (affiliation, institution) in enumerate(zip(self["affiliation"], self["institution_id"]))
                if affiliation or institution]

    @cached_property
    def student(self) -> list[bool]:
        """Per row: a student's job title (graduate school)?"""
        return [stage_of_title(title) == "graduate" for title in self["job_title"]]

    @cached_property
    def on_trail(self) -> list[int]:
        """The rows with a student title or an e-mail domain: the trail facts' evidence."""
        return [i for i, (student, domain) in enumerate(zip(self.student, self["email_domain"])) if student or domain]

    @cached_property
    def dated_countries(self) -> list[tuple[int, tuple, str, str]]:
        """Per row with a resolved country: the row, its paper's (year, venue, paper id),
        the country and the evidence (predictions.earliest_places)."""
        years, venues, papers, affiliations = self["year"], self["venue"], self["paper_id"], self["affiliation"]
        return [(i, (years[i], venues[i], papers[i]), country,
                 f"{venues[i]} {years[i]} paper {papers[i]}: {affiliations[i]!r}")
                for i, country in enumerate(self["country"]) if country]


# the authorship columns the facts and the predictions read, besides person_id
READ = ("venue", "year", "paper_id", "affiliation", "institution_id", "institution", "country", "sector",
        "job_title", "email_domain", "openreview_id")


def ahead(authorships: pa.Table, resolver) -> Columns:
    """What the careers read that does not depend on who is who (a build makes it while
    people are resolved): the columns as lists, the Columns' per-row properties, and each
    e-mail domain's place (kept in the resolver's cache). The caller sets `person_id`
    before deriving."""
    cols = Columns(authorships)
    for name in READ:
        cols[name]  # made a list now (Columns.__missing__)
    cols.placed, cols.on_trail, cols.dated_countries  # noqa: B018 - made now (cached properties)
    for domain in set(cols["email_domain"]):
        if domain:
            resolver.resolve(None, domain)
    return cols


@lru_cache(maxsize=1 << 16)  # titles repeat (`PhD student`): three searches per distinct title
def stage_of_title(title: str | None) -> str | None:
    """The career stage a job title puts its holder in; None when there is no title."""
    if not title or not title.strip():
        return None
    if _UNDERGRAD.search(title):
        return "origin"
    if _GRADUATE.search(title) or _STUDENT.search(title):
        return "graduate"
    return "work"


def facts_from_authorships(authorships: pa.Table | Columns) -> list[dict]:
    """Job-title and affiliation-trail facts, one per person, stage, institution and source."""
    cols = Columns.of(authorships)
    grouped: dict[tuple, dict] = {}
    latest: dict[str, int] = {}
    persons, years, titles, institutions = cols["person_id"], cols["year"], cols["job_title"], cols["institution_id"]
    placed = [i for i in cols.placed if persons[i]]  # only rows with a place make facts
    for i in placed:
        person, year = persons[i], years[i]
        known = latest.get(person)
        if known is None or year > known:
            latest[person] = year
        stage = stage_of_title(titles[i])
        if stage is not None and institutions[i]:
            _add(grouped, cols, i, stage, "job_title",
                 f"{cols['venue'][i]} {year} paper {cols['paper_id'][i]}: job title {titles[i]!r} "
                 f"at {_printed_place(cols, i)}")
    # the affiliation trail: the affiliations of a person's latest paper with one are
    # their work place as of that year (a student's too: where they do their research)
    for i in placed:
        if years[i] == latest[persons[i]]:
            _add(grouped, cols, i, "work", "affiliation",
                 f"{cols['venue'][i]} {years[i]} paper {cols['paper_id'][i]}: {_printed_place(cols, i)} "
                 "(latest paper with an affiliation)")
    return list(grouped.values())


def _printed_place(cols: dict, i: int) -> str:
    """What the paper printed that the institution was resolved from."""
    if cols["affiliation"][i]:
        return f"affiliation {cols['affiliation'][i]!r}"
    return f"e-mail domain {cols['email_domain'][i]!r} (no affiliation printed)"


def trail_facts(authorships: pa.Table | Columns, resolver) -> list[dict]:
    """Graduate-school facts from the whole trail, and work facts from e-mail domains."""
    cols = Columns.of(authorships)
    student, persons = cols.student, cols["person_id"]
    years, domains, institutions, countries = cols["year"], cols["email_domain"], cols["institution_id"], cols["country"]
    # only people with a student title or an e-mail domain have trail facts: the rows of
    # the others (most people) are not gathered
    wanted = {persons[i] for i in cols.on_trail if persons[i]}
    rows_of: dict[str, list[int]] = {}
    for i, person in enumerate(persons):
        if person in wanted:
            rows_of.setdefault(person, []).append(i)
    grouped: dict[tuple, dict] = {}
    for rows in rows_of.values():
        student_years = sorted({years[i] for i in rows if student[i]})
        with_mail = [i for i in rows if domains[i]]
        if not student_years and not with_mail:
            continue  # neither a student title nor an e-mail: no trail fact
        first_year = min(years[i] for i in rows) if student_years else None
        first_seen_student = bool(student_years) and student_years[0] == first_year
        placed = [i for i in rows if institutions[i] and countries[i]] if student_years else []
        if first_seen_student and placed:
            earliest = min(years[i] for i in placed)
            for i in placed:
                if years[i] == earliest:
                    _add(grouped, cols, i, "graduate", "trail",
                         f"first seen as a student ({cols['venue'][i]} {first_year}); earliest affiliation "
                         f"{cols['affiliation'][i]!r} ({cols['venue'][i]} {cols['year'][i]} paper {cols['paper_id'][i]})",
                         confidence=0.7)
        for year in student_years:
            for i in placed:
                if year - TRAIL_YEARS <= years[i] < year:
                    _add(grouped, cols, i, "graduate", "trail",
                         f"student title in {year}; affiliation {cols['affiliation'][i]!r} on "
                         f"{cols['venue'][i]} {cols['year'][i]} paper {cols['paper_id'][i]}, before it")
        if with_mail:
            latest = max(years[i] for i in with_mail)
            for i in with_mail:
                if years[i] != latest:
                    continue
                found = resolver.resolve(None, domains[i])
                key = (cols["person_id"][i], "work", found.institution_id or None, "email")
                if found.country and key not in grouped:  # one year: a second row adds nothing
                    grouped[key] = {
                        "person_id": key[0], "stage": "work", "institution_id": found.institution_id,
                        "institution": found.institution or domains[i], "country": found.country,
                        "sector": found.sector, "start_year": latest, "end_year": latest, "source": "email",
                        "confidence": 0.7 if found.institution_id else 0.4,
                        "evidence": f"{cols['venue'][i]} {latest} paper {cols['paper_id'][i]}: e-mail domain "
                                    f"{domains[i]!r} ({'institution' if found.institution_id else 'country code'})",
                    }
    return list(grouped.values())


def _add(grouped: dict, cols: dict, i: int, stage: str, source: str, evidence: str,
         confidence: float | None = None) -> None:
    # an unresolved affiliation is still a fact: its text stands in for the institution
    key = (cols["person_id"][i], stage, cols["institution_id"][i] or cols["affiliation"][i], source)
    year = cols["year"][i]
    fact = grouped.get(key)
    if fact is None:
        grouped[key] = {
            "person_id": key[0], "stage": stage, "institution_id": cols["institution_id"][i],
            "institution": cols["institution"][i] or cols["affiliation"][i],
            "country": cols["country"][i], "sector": cols["sector"][i], "start_year": year, "end_year": year,
            "source": source, "confidence": confidence or CONFIDENCE[source], "evidence": evidence,
        }
    else:
        fact["start_year"] = min(fact["start_year"], year)
        fact["end_year"] = max(fact["end_year"], year)
