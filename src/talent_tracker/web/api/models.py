"""The API's response models (pydantic): what each answer holds, field by field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from talent_tracker.web.api.listing import Page

# --- response models ------------------------------------------------------------------------------

class AnalysisParameter(BaseModel):
    name: str
    required: bool
    repeated: bool = Field(description="may be given several times (venue=neurips&venue=icml)")
    description: str | None
    choices: list[str] | None


class AnalysisInfo(BaseModel):
    name: str
    title: str = Field(description="its title on the default filters (NeurIPS, every year, top20)")
    url: str
    csv_url: str
    parameters: list[AnalysisParameter]
    pages: list[str] = Field(description="the dashboard pages that chart it")


class PersonRow(BaseModel):
    person_id: str
    display_name: str | None
    n_papers: int
    n_accepted_papers: int
    first_year: int | None
    last_year: int | None
    venues: list[str]
    papers_in_filter: int | None = Field(description="their papers the venue/years/tier filter selects; null "
                                         "without one")
    latest_year: int | None = Field(description="year of their latest paper with an affiliation, institution or "
                                    "country")
    latest_affiliation: str | None
    latest_institution_id: str | None
    latest_institution: str | None
    latest_country: str | None
    url: str


class Person(BaseModel):
    person_id: str
    display_name: str | None
    name_variants: list[str]
    openreview_ids: list[str]
    first_year: int | None
    last_year: int | None
    n_papers: int
    n_accepted_papers: int
    venues: list[str]


class CareerFact(BaseModel):
    stage: str = Field(description="origin (undergraduate), graduate or work")
    institution_id: str | None
    institution: str | None
    country: str | None
    sector: str | None
    start_year: int | None
    end_year: int | None
    source: str = Field(description="annotation, profile, job_title, trail, affiliation or email")
    confidence: float | None
    evidence: str | None
    selected: bool = Field(description="the fact career_stages (and so every figure) uses for this stage")


class Prediction(BaseModel):
    stage: str
    country: str | None
    probability: float | None
    kind: str | None
    evidence: str | None


class Paper(BaseModel):
    venue: str
    year: int
    paper_id: str
    title: str | None
    status: str | None
    accepted: bool
    tier: str | None = Field(description="top2 (oral), top20 (accepted) or null (not accepted)")
    track: str | None
    n_authors: int | None


class PersonPaper(Paper):
    """A paper of the person's, with their authorship on it."""

    author_position: int
    affiliation: str | None
    institution_id: str | None
    institution: str | None
    country: str | None
    job_title: str | None
    url: str | None


class PersonDetail(BaseModel):
    person: Person
    careers: list[CareerFact] = Field(description="every career fact with its provenance (source, evidence, "
                                      "confidence)")
    predictions: list[Prediction] = Field(description="predicted countries (predictions.py): never facts")
    papers: list[PersonPaper]


class InstitutionRow(BaseModel):
    institution_id: str
    name: str | None
    country: str | None
    sector: str | None
    parent: str | None
    hq_country: str | None
    multinational: bool | None
    layer: str | None = Field(description="registry (curated) or universities (world-universities list)")
    people: int = Field(description="people with an authorship resolved to it, any paper")
    authorships: int
    accepted_authorships: int
    url: str


class Institution(BaseModel):
    institution_id: str
    name: str | None
    country: str | None
    sector: str | None
    parent: str | None
    multinational: bool | None
    aliases: list[str]
    domains: list[str]
    layer: str | None
    hq_country: str | None


class InstitutionPerson(BaseModel):
    person_id: str
    display_name: str | None
    authorships: int
    first_year: int
    last_year: int
    url: str


class InstitutionLink(BaseModel):
    institution_id: str
    name: str | None
    url: str


class InstitutionDetail(BaseModel):
    institution: Institution
    parent: InstitutionLink | None
    children: list[InstitutionLink]
    people: int
    authorships: int
    accepted_authorships: int
    first_year: int | None
    last_year: int | None
    top_people: list[InstitutionPerson] = Field(description="the 25 people with most authorships there")


class PaperRow(Paper):
    url: str | None
    countries: list[str] | None
    authors: list[str]
    person_ids: list[str | None]


class EstimateRow(BaseModel):
    group: str = Field(description="a country (or a region merged), a path origin -> graduate -> work, or "
                       "'other paths'")
    figure: int | None = Field(description="the number of people (or person-years); null when too uncertain to "
                               "show (see flag): its interval still is")
    low: int
    high: int
    share: float | None = Field(description="of the population (exact: of those with a value; within: of the "
                                "sub-group); null when too uncertain")
    share_low: float
    share_high: float
    n: int | None = Field(description="what the figure rests on: sampled people with an analyst's value (within: "
                          "of the sub-group), or people with a value (exact)")
    N: int | None = Field(description="population size")
    sampled: int | None = Field(description="sampled people in the group")
    predicted: int | None = Field(description="people predicted in the group (assisted)")
    coverage: float | None = Field(description="exact: the share of the population with a value; sampled: the "
                                   "share of the drawn people with an analyst's value")
    method: str = Field(description="exact, hypergeometric, stratified, cluster, assisted or ratio")
    flag: str | None = Field(description="why the figure is too uncertain to show, or null")


class RetentionRow(BaseModel):
    origin: str
    retention: float | None
    low: float
    high: float
    origin_sampled: int
    stayed: int
    method: str
    flag: str | None


class NetRow(BaseModel):
    country: str
    net: int | None = Field(description="people working there from elsewhere minus people from there working "
                            "elsewhere; null when too uncertain")
    low: int
    high: int
    in_sampled: int
    out_sampled: int
    method: str
    flag: str | None


class Estimates(Page[EstimateRow]):
    population: str
    population_size: int
    unit: str = Field(description="person, or person-year")
    by: str
    within: dict[str, str] | None = Field(description="the sub-group: {stage, country}, or null")
    level: float
    method: str = Field(description="exact, sample or assisted")
    measure: str = Field(description="what the figures measure, in words")
    coverage: float | None
    known: int | None = Field(description="exact: people with a value (the rest bound each interval)")
    predictions_coverage: float | None
    sample: dict[str, Any] | None = Field(description="the sample used: sample_id, design, size, seed, unit, drawn, "
                                          "annotated, undetermined, awaiting_review, not_annotated, response, "
                                          "nonresponse, and the same counts per stage")
    domain: dict[str, Any] | None = Field(description="within: the sub-group's sampled size and estimated size")
    retention: list[RetentionRow] | None = Field(description="by=flow: per origin, the share who work there")
    net: list[NetRow] | None = Field(description="by=flow: per country, the net flow of people")
    abroad: dict[str, Any] | None = Field(description="by=flow: the people working outside their origin country")
    notes: list[str]


class SampleRow(BaseModel):
    sample_id: str
    venues: list[str]
    years: list[int]
    tier: str
    design: str
    size: int | None
    seed: int | None
    population_size: int | None = Field(description="units in the population (people, or person-years)")
    strata: dict[str, int] | None
    clusters_total: int | None
    created_at: str | None
    unit: str = Field("person", description="person, or person-year")
    units: int = Field(description="units drawn (a person drawn for two years is two person-years)")
    people: int = Field(description="people drawn")
    annotated: int | None = Field(description="drawn people with at least one annotation; null where blind "
                                  "annotation hides it")


class Detail(BaseModel):
    detail: str
