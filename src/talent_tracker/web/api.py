"""The typed JSON API under /api/: people, institutions, papers, estimates, samples and the
list of analyses, datasette-style (filter, search, page; json, csv or parquet).

Every list answers the same way (`Page`): `rows`, `total`, `page`, `per_page` and `next`
(the path of the next page, or null), and takes `page`, `per_page` (1-500) and `format`
(`json`, `csv` through exports.csv_safe, or `parquet`; anything else is a 400). A csv or
parquet download holds exactly the rows of the same page in JSON, with the total and the
next page in the `X-Total-Count` and `Link` headers. Filters are parsed as the analyses'
are (`venue` repeated, `years` like 2019 or 2010-2019, `tier` top20 or top2): a filter
that names nothing real is a 400 with the reason.

The database is read through reading.reader; what is the same until the next build (the
people search index, institution counts) is kept per build (reading.build_stamp), what the
workspace changes (careers with annotations, estimates) per workspace generation too.
All SQL is parameterised and every input has a bound.

Person and institution ids may hold `/` (they come from the sources' ids): their paths
take the rest of the path, encoded (`%2F`, as the `url` of each row writes it) or not.
What blind annotation hides from a viewer (`hides(request)`, access.py): the annotation
facts of a person, the estimates, and how many of a sample's people are annotated.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import json
import types
import typing
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as Path_
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from unidecode import unidecode

from talent_tracker.errors import UserError
from talent_tracker.figures import analyses, estimates
from talent_tracker.limits import MAX_QUERY
from talent_tracker.population import UNITS
from talent_tracker.stages import STAGE_ORDER
from talent_tracker.store import exports, reading
from talent_tracker.store.reading import Tracker
from talent_tracker.store.workspace import open_workspace
from talent_tracker.venues import load_venues
from talent_tracker.web.access import HIDDEN
from talent_tracker.years import parse_years

FORMATS = ("json", "csv", "parquet")
MAX_PER_PAGE = 500
MAX_PAGE = 100_000
MAX_ID = 200  # person, institution and sample ids (real maximum: 43)
MAX_VENUE = 40  # one venue name or alias
PARQUET = "application/vnd.apache.parquet"


# the analyses' names, for the path of /api/analyses/{name} (OpenAPI lists them)
AnalysisName = enum.Enum("AnalysisName", [(name, name) for name in [*analyses.ANALYSES, "map"]], type=str)


class Tier(enum.StrEnum):
    top20 = "top20"
    top2 = "top2"


class Sector(enum.StrEnum):
    academia = "academia"
    industry = "industry"
    government = "government"
    nonprofit = "nonprofit"


By = enum.Enum("By", [(b, b) for b in estimates.BY], type=str)
Method = enum.Enum("Method", [(m, m) for m in estimates.METHODS], type=str)
Unit = enum.Enum("Unit", [(u.replace("-", "_"), u) for u in UNITS], type=str)

VenueQ = Annotated[list[str] | None, Query(max_length=10, description="Venue(s), repeated: neurips, icml, iclr "
                                           "(aliases as in venues.toml); none: every venue")]
YearsQ = Annotated[str | None, Query(max_length=200, description="Years: 2019, 2010-2019 or 2010-2012,2019; none: "
                                     "every year")]
TierQ = Annotated[Tier | None, Query(description="top20: accepted papers; top2: oral papers; none: every paper, "
                                     "accepted or not")]
SearchQ = Annotated[str | None, Query(max_length=MAX_QUERY, description="Text to look for (case-insensitive "
                                      "substring; accents optional)")]


# --- the shared shape of a list: paging and formats ------------------------------------------

Row = TypeVar("Row", bound=BaseModel)


class Page(BaseModel, Generic[Row]):
    rows: list[Row]
    total: int = Field(description="rows matching the request, over every page")
    page: int
    per_page: int
    next: str | None = Field(description="path and query of the next page; null on the last")


@dataclass
class Listing:
    """The paging and format of a list request (see `listing`), and its answer."""

    request: Request
    page: int
    per_page: int
    format: str

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def window(self, rows: list) -> list:
        return rows[self.offset:self.offset + self.per_page]

    def respond(self, name: str, model: type[BaseModel], rows: list[BaseModel], total: int,
                envelope: type[Page] | None = None, **extra) -> Response:
        more = self.offset + len(rows) < total
        url = self.request.url.include_query_params(page=self.page + 1)
        next_page = f"{url.path}?{url.query}" if more else None
        headers = {"X-Total-Count": str(total)}
        if next_page:
            headers["Link"] = f'<{next_page}>; rel="next"'
        if self.format == "json":
            body = (envelope or Page[model])(rows=rows, total=total, page=self.page, per_page=self.per_page,
                                             next=next_page, **extra)
            return Response(body.model_dump_json(), media_type="application/json", headers=headers)
        stem = name if self.page == 1 else f"{name}-page{self.page}"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.{self.format}"'
        if self.format == "csv":
            return Response(_csv(model, rows), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(_parquet(model, rows), media_type=PARQUET, headers=headers)


async def listing(request: Request,
                  page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page, from 1")] = 1,
                  per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Rows per page")] = 50,
                  format: Annotated[str, Query(max_length=10, description="json, csv or parquet (the same rows)",
                                               json_schema_extra={"enum": list(FORMATS)})] = "json") -> Listing:
    if format not in FORMATS:
        raise HTTPException(status_code=400, detail=f"unknown format {format[:10]!r} (choose json, csv or parquet)")
    return Listing(request, page, per_page, format)


# async: it only reads the query, so it costs no trip through the thread pool
ListingQ = Annotated[Listing, Depends(listing)]
LIST_RESPONSES: dict = {200: {"content": {"text/csv": {}, PARQUET: {}}},
                        400: {"description": "A filter or format that names nothing real"}}


def _flat(value):
    """A cell of a csv or parquet row: lists of plain values stay lists for parquet, anything
    nested becomes its JSON text."""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv(model: type[BaseModel], rows: list[BaseModel]) -> str:
    columns = list(model.model_fields)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow([exports.csv_safe(_csv_cell(data[c])) for c in columns])
    return buffer.getvalue()


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _parquet(model: type[BaseModel], rows: list[BaseModel]) -> bytes:
    schema = pa.schema([(name, _arrow_type(field.annotation)) for name, field in model.model_fields.items()])
    data = [{k: _flat(v) for k, v in row.model_dump(mode="json").items()} for row in rows]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(data, schema=schema), buffer)
    return buffer.getvalue()


_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def _arrow_type(annotation) -> pa.DataType:
    """A field's parquet type: scalars as such, lists of scalars as lists, anything nested
    (objects, lists of objects) as its JSON text (see _flat)."""
    annotation = _optional_of(annotation)
    if typing.get_origin(annotation) is list:
        inner = _optional_of(typing.get_args(annotation)[0])
        return pa.list_(_SCALARS[inner]) if inner in _SCALARS else pa.string()
    return _SCALARS.get(annotation, pa.string())


def _optional_of(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


# --- filters ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """Papers (and their authors) by venue, years and tier, as the analyses parse them; an
    absent part selects everything."""

    venues: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    tier: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.venues or self.years or self.tier)

    def sql(self, alias: str) -> tuple[list[str], list]:
        parts, params = [], []
        if self.venues:
            parts.append(f"{alias}.venue IN (SELECT unnest(?))")
            params.append(list(self.venues))
        if self.years:
            parts.append(f"{alias}.year IN (SELECT unnest(?))")
            params.append(list(self.years))
        if self.tier == "top20":
            parts.append(f"{alias}.accepted")
        elif self.tier == "top2":
            parts.append(f"{alias}.accepted AND {alias}.tier = 'top2'")
        return parts, params


def _venue_names(venue: list[str] | None) -> list[str] | None:
    """Venue names as given, each of a sane length (the catalogue's error repeats the name)."""
    if venue and any(len(v) > MAX_VENUE for v in venue):
        raise HTTPException(status_code=400, detail=f"a venue name is at most {MAX_VENUE} characters")
    return venue


def _filter(venue: list[str] | None, years: str | None, tier: Tier | None) -> Filter:
    venue = _venue_names(venue)
    try:
        catalogue = load_venues()
        venues = tuple(sorted({catalogue.get(v).key for v in venue})) if venue else ()
        year_list = tuple(parse_years(years)) if years else ()
    except UserError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return Filter(venues, year_list, tier.value if tier else None)


def _plain(text: str) -> str:
    """Case-folded, Latin letters without their accents (Müller, MÜLLER and Muller read muller,
    Łukasz lukasz); other scripts are kept as they are (王 is not read wang)."""
    if text.isascii():
        return text.casefold()
    return "".join(_plain_letter(ch) for ch in unicodedata.normalize("NFC", text)).casefold()


def _plain_letter(ch: str) -> str:
    if ch.isascii():
        return ch
    if unicodedata.category(ch) == "Mn":  # a combining accent left over
        return ""
    return unidecode(ch) if unicodedata.name(ch, "").startswith("LATIN") else ch


# --- per-build caches ------------------------------------------------------------------------------

def _kept(size: int):
    """What a function loads, kept by the tracker (`Tracker.memo`: its own LRU of `size`
    entries per function, each key loaded once however many requests ask at once), so it
    goes with the tracker or its build, never outliving them in module state."""
    def wrap(load: Callable):
        @functools.wraps(load)
        def kept(db: Tracker, *key):
            return db.memo(key, lambda: load(db, *key), region=load.__name__, size=size)
        return kept
    return wrap


@dataclass
class _People:
    """Every person, most papers first, with what a search shows and matches."""

    ids: list[str]
    position: dict[str, int]
    rows: list[tuple]  # person_id, display_name, n_papers, n_accepted_papers, first_year, last_year, venues
    latest: list[tuple | None]  # year, affiliation, institution_id, institution, country
    plain: list[str]  # display names, case-folded, Latin letters without accents (_plain)
    trigrams: dict[str, np.ndarray]  # every three letters of those names -> the positions holding them
    scanned: pa.Array  # the names again, for texts too short to have three letters

    def search(self, text: str) -> np.ndarray:
        """The positions, in order, of the names that hold `text` in any case, with or without
        its accents (`muller` and `müller` find Müller and Muller): the names holding its
        rarest three letters, checked whole."""
        needle = _plain(text)
        if len(needle) < 3:
            return np.flatnonzero(pc.match_substring(self.scanned, needle).to_numpy(zero_copy_only=False))
        postings = [self.trigrams.get(needle[k:k + 3]) for k in range(len(needle) - 2)]
        if any(p is None for p in postings):
            return np.zeros(0, dtype=np.int64)
        candidates = min(postings, key=len)
        if len(needle) == 3:
            return candidates
        return np.array([i for i in candidates.tolist() if needle in self.plain[i]], dtype=np.int64)


def _load_people(db: Tracker, build: tuple) -> _People:
    with reading.reader(db, with_workspace=False) as con:
        rows = con.execute("""SELECT person_id, display_name, n_papers, n_accepted_papers, first_year, last_year, venues
                              FROM persons ORDER BY n_papers DESC, display_name, person_id""").fetchall()
        latest = con.execute("""
            SELECT person_id, year, affiliation, institution_id, institution, country FROM (
                SELECT person_id, year, affiliation, institution_id, institution, country,
                       row_number() OVER (PARTITION BY person_id ORDER BY year DESC, accepted DESC, venue, paper_id,
                                          author_position) AS rank
                FROM authorships
                WHERE person_id IS NOT NULL
                  AND (affiliation IS NOT NULL OR institution_id IS NOT NULL OR country IS NOT NULL)
            ) WHERE rank = 1""").fetchall()
    ids = [r[0] for r in rows]
    position = {p: i for i, p in enumerate(ids)}
    by_person = [None] * len(ids)
    for person, *values in latest:
        if person in position:
            by_person[position[person]] = tuple(values)
    plain = [_plain(r[1] or "") for r in rows]
    postings: dict[str, list[int]] = {}
    for i, name in enumerate(plain):
        for trigram in {name[k:k + 3] for k in range(len(name) - 2)}:
            postings.setdefault(trigram, []).append(i)
    return _People(ids, position, rows, by_person, plain,
                   {t: np.array(found, dtype=np.int64) for t, found in postings.items()}, pa.array(plain, pa.string()))


_people = _kept(2)(_load_people)


def _load_population(db: Tracker, build: tuple, f: Filter) -> tuple[np.ndarray, np.ndarray]:
    """For a filter: the positions (in _People order) of the people in it, and their papers in it."""
    people = _people(db, build)
    parts, params = f.sql("a")
    with reading.reader(db, with_workspace=False) as con:
        found = con.execute(f"SELECT person_id, count(*) FROM authorships a WHERE a.person_id IS NOT NULL AND "
                            f"{' AND '.join(parts)} GROUP BY 1", params).fetchall()
    pairs = sorted((people.position[p], n) for p, n in found if p in people.position)
    return np.array([i for i, _ in pairs], dtype=np.int64), np.array([n for _, n in pairs], dtype=np.int32)


_population = _kept(64)(_load_population)


def _load_institutions(db: Tracker, build: tuple) -> list[dict]:
    with reading.reader(db, with_workspace=False) as con:
        rows = reading.rows(con, """
            SELECT i.institution_id, i.name, i.country, i.sector, i.parent, i.hq_country, i.multinational, i.layer,
                   coalesce(c.people, 0) AS people, coalesce(c.authorships, 0) AS authorships,
                   coalesce(c.accepted_authorships, 0) AS accepted_authorships, i.aliases
            FROM institutions i LEFT JOIN (
                SELECT institution_id, count(DISTINCT person_id) AS people, count(*) AS authorships,
                       count(*) FILTER (WHERE accepted) AS accepted_authorships
                FROM authorships WHERE institution_id IS NOT NULL GROUP BY 1) c USING (institution_id)
            ORDER BY people DESC, i.name, i.institution_id""")
    for row in rows:
        names = [row["name"] or "", *(row.pop("aliases") or [])]
        row["_match"] = "\n".join(_plain(n) for n in names)  # the names, a line each
    return rows


_institutions = _kept(2)(_load_institutions)


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


# --- the router ---------------------------------------------------------------------------------------

def install(app: FastAPI, db: Tracker, run: Callable[..., dict], pages: dict, hides: Callable[[Request], bool]
            ) -> None:
    """Add the API to `app`. `run(name, venue, years, tier)` is the app's cached analysis; `pages`
    its dashboard pages; `hides(request)`: whether blind annotation hides analysts' values
    from who makes the request (access.Access.hides)."""
    app.include_router(router(db, run, pages, hides))

    @app.exception_handler(RequestValidationError)
    async def unknown_name(request: Request, exc: RequestValidationError):
        # an analysis name that is not one of them is a page that does not exist: 404, as before
        # the name became an enum, not 422
        errors = exc.errors()
        if request.url.path.startswith("/api/analyses/") and errors and all(
                e.get("type") == "enum" and tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
            return JSONResponse({"detail": f"no analysis {str(errors[0].get('input'))[:100]!r}"}, status_code=404)
        return await request_validation_exception_handler(request, exc)


def router(db: Tracker, run: Callable[..., dict], pages: dict, hides: Callable[[Request], bool]) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["data"])

    def build() -> tuple:
        return reading.build_stamp(db)  # a database gone missing is the server's trouble (503), not the request's

    # --- analyses ---

    def titles(stamp: tuple) -> dict[str, str]:
        return db.memo((stamp,), lambda: {name: run(name, None, None, "top20")["title"]
                                          for name in AnalysisName.__members__}, region="titles", size=4)

    @api.get("/analyses", response_model=Page[AnalysisInfo], responses=LIST_RESPONSES,
             summary="Every analysis: its name, title, parameters and URL")
    def analyses_list(request: Request, listing: ListingQ):
        operation = request.app.openapi()["paths"]["/api/analyses/{name}"]["get"]
        parameters = [AnalysisParameter(
            name=p["name"], required=p.get("required", False), repeated=_schema_type(p["schema"]) == "array",
            description=p.get("description") or p["schema"].get("description"), choices=_choices(p["schema"]))
            for p in operation.get("parameters", []) if p["in"] == "query"]
        charted: dict[str, list[str]] = {}
        for path, _, charts in pages.values():
            for chart in charts:
                charted.setdefault(chart, []).append(path)
        named = titles(build())
        rows = [AnalysisInfo(name=name, title=named[name], url=f"/api/analyses/{name}",
                             csv_url=f"/api/analyses/{name}?format=csv", parameters=parameters,
                             pages=charted.get(name, [])) for name in AnalysisName.__members__]
        return listing.respond("analyses", AnalysisInfo, listing.window(rows), len(rows))

    # --- people ---

    @api.get("/persons", response_model=Page[PersonRow], responses=LIST_RESPONSES,
             summary="People: search by name, filter by venue, years and tier")
    def persons(listing: ListingQ, q: SearchQ = None, venue: VenueQ = None, years: YearsQ = None,
                tier: TierQ = None):
        f = _filter(venue, years, tier)
        stamp = build()
        people = _people(db, stamp)
        needle = (q or "").strip()
        chosen = people.search(needle) if needle else None  # positions, in order
        papers = None
        if not f.empty:
            positions, counts = _population(db, stamp, f)
            papers = np.zeros(len(people.ids), dtype=np.int32)
            papers[positions] = counts
            chosen = positions if chosen is None else chosen[np.isin(chosen, positions, assume_unique=True)]
        if chosen is None:
            chosen = np.arange(len(people.ids))
        rows = []
        for i in listing.window(chosen).tolist():
            person_id, name, n_papers, n_accepted, first, last, venues = people.rows[i]
            latest = people.latest[i] or (None,) * 5
            rows.append(PersonRow.model_construct(
                person_id=person_id, display_name=name, n_papers=n_papers, n_accepted_papers=n_accepted,
                first_year=first, last_year=last, venues=venues or [],
                papers_in_filter=int(papers[i]) if papers is not None else None, latest_year=latest[0],
                latest_affiliation=latest[1], latest_institution_id=latest[2], latest_institution=latest[3],
                latest_country=latest[4], url=_person_url(person_id)))
        return listing.respond("persons", PersonRow, rows, len(chosen))

    @api.get("/persons/{person_id:path}", response_model=PersonDetail, responses={404: {"model": Detail}},
             summary="A person: their careers with provenance, their predictions and papers")
    def person(request: Request, person_id: Annotated[str, Path_(max_length=MAX_ID)]):
        detail = _person_cached(db, build(), reading.workspace_generation(db), person_id, hides(request))
        if detail is None:
            raise HTTPException(status_code=404, detail=f"no person {person_id[:100]!r}")
        return Response(detail, media_type="application/json")

    # --- institutions ---

    @api.get("/institutions", response_model=Page[InstitutionRow], responses=LIST_RESPONSES,
             summary="Institutions: search by name or alias, filter by country and sector; most people first")
    def institutions(listing: ListingQ, q: SearchQ = None,
                     country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 "
                                                          "alpha-2 code (of the lab)")] = None,
                     sector: Annotated[Sector | None, Query()] = None):
        rows = _institutions(db, build())
        needle = _plain((q or "").strip()).replace("\n", " ")  # within one name
        chosen = [r for r in rows
                  if (not country or r["country"] == country.upper())
                  and (sector is None or r["sector"] == sector.value)
                  and (not needle or needle in r["_match"])]
        page = [InstitutionRow.model_construct(**{k: v for k, v in r.items() if k != "_match"},
                                               url=f"/api/institutions/{quote(r['institution_id'], safe='')}")
                for r in listing.window(chosen)]
        return listing.respond("institutions", InstitutionRow, page, len(chosen))

    @api.get("/institutions/{institution_id:path}", response_model=InstitutionDetail,
             responses={404: {"model": Detail}},
             summary="An institution: its country and sector, its parent and children, counts and top people")
    def institution(institution_id: Annotated[str, Path_(max_length=MAX_ID)]):
        detail = _institution_cached(db, build(), institution_id)
        if detail is None:
            raise HTTPException(status_code=404, detail=f"no institution {institution_id[:100]!r}")
        return Response(detail, media_type="application/json")

    # --- papers ---

    @api.get("/papers", response_model=Page[PaperRow], responses=LIST_RESPONSES,
             summary="Papers: filter by venue, years, tier and country, search titles; newest first")
    def papers(listing: ListingQ, q: SearchQ = None, venue: VenueQ = None, years: YearsQ = None, tier: TierQ = None,
               country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="papers with an author "
                                                    "in this country (ISO 3166-1 alpha-2)")] = None):
        f = _filter(venue, years, tier)
        total, found = _papers_cached(db, build(), f, (q or "").strip().lower(), (country or "").upper(),
                                      listing.per_page, listing.offset)
        rows = [PaperRow(**{**r, "authors": r["authors"] or [], "person_ids": r["person_ids"] or []}) for r in found]
        return listing.respond("papers", PaperRow, rows, total)

    # --- estimates ---

    @api.get("/estimates", response_model=Estimates,
             responses={**LIST_RESPONSES, 403: {"description": "Hidden while annotation is blind", "model": Detail}},
             summary="Population figures by origin, graduate school, work or flow, with intervals (estimate)")
    def estimate(request: Request, listing: ListingQ,
                 by: Annotated[By, Query(description="origin, graduate, work or flow")],
                 venue: Annotated[list[str] | None, Query(max_length=10, description="Venue(s), repeated; "
                                                          "default neurips")] = None,
                 years: Annotated[str | None, Query(max_length=200, description="Years of the population: 2019 or "
                                                    "2010-2019 (an estimate needs them)")] = None,
                 tier: Annotated[Tier, Query(description="top20 (accepted) or top2 (oral)")] = Tier.top20,
                 method: Annotated[Method | None, Query(description="exact, assisted or sample; default: the "
                                                        "first that applies")] = None,
                 within: Annotated[str | None, Query(max_length=20, description="a sub-group, STAGE=COUNTRY: "
                                                     "origin=CN")] = None,
                 unit: Annotated[Unit, Query(description="person, or person-year")] = Unit.person,
                 place: Annotated[str, Query(pattern="^(lab|hq)$", description="exact work: the lab's country "
                                             "(lab) or its headquarters' (hq)")] = "lab",
                 sample: Annotated[str | None, Query(max_length=MAX_ID, description="sample id; default: the "
                                                     "population's latest sample")] = None,
                 level: Annotated[float, Query(gt=0, lt=1, description="confidence level")] = 0.95):
        if hides(request):
            raise HTTPException(status_code=403, detail=HIDDEN)
        stamp, generation = build(), reading.workspace_generation(db)
        venues = tuple(_venue_names(venue) or ["neurips"])
        try:
            year_list = tuple(parse_years(years)) if years else ()
            result = _estimate_cached(db, stamp, generation, venues, year_list, tier.value, by.value, sample,
                                      level, method.value if method else None, within, unit.value, place)
        except UserError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        coverage = result.get("coverage")
        rows = [EstimateRow(group=r["group"], figure=None if r.get("flag") else r["estimate"], low=r["low"],
                            high=r["high"], share=None if r.get("flag") else r["share"], share_low=r["share_low"],
                            share_high=r["share_high"], n=r.get("domain_sampled", r.get("sample_size")),
                            N=r.get("population_size"), sampled=r.get("sampled"), predicted=r.get("predicted"),
                            coverage=coverage, method=r["method"], flag=r.get("flag"))
                for r in result["figures"]]
        retention = [RetentionRow(**{**r, "retention": None if r.get("flag") else r["retention"]})
                     for r in result["retention"]] if "retention" in result else None
        net = [NetRow(**{**r, "net": None if r["flag"] else r["net"]}) for r in result["net"]] \
            if "net" in result else None
        return listing.respond(f"estimates-{by.value}", EstimateRow, listing.window(rows), len(rows),
                               envelope=Estimates, population=result["population"],
                               population_size=result["population_size"], unit=result["unit"], by=result["by"],
                               within=result["within"], level=result["level"], method=result["method"],
                               measure=result["measure"], coverage=coverage, known=result.get("known"),
                               predictions_coverage=result.get("predictions_coverage"), sample=result.get("sample"),
                               domain=result.get("domain"), retention=retention, net=net,
                               abroad=result.get("abroad"), notes=result.get("notes", []))

    # --- samples ---

    @api.get("/samples", response_model=Page[SampleRow], responses=LIST_RESPONSES,
             summary="The samples drawn in the workspace, newest first")
    def samples(request: Request, listing: ListingQ):
        build()
        hidden = hides(request)
        workspace = open_workspace(db, create=False)
        if workspace is None:
            return listing.respond("samples", SampleRow, [], 0)
        with workspace.read() as con:
            total = con.execute("SELECT count(*) FROM sample_designs").fetchone()[0]
            found = [dict(r) for r in con.execute("""
                SELECT d.*,
                       (SELECT count(DISTINCT s.person_id) FROM samples s WHERE s.sample_id = d.sample_id) AS people,
                       (SELECT count(*) FROM (SELECT DISTINCT s.person_id, s.year FROM samples s
                                              WHERE s.sample_id = d.sample_id)) AS units,
                       (SELECT count(DISTINCT s.person_id) FROM samples s
                        WHERE s.sample_id = d.sample_id
                          AND s.person_id IN (SELECT person_id FROM annotations)) AS annotated
                FROM sample_designs d ORDER BY d.created_at DESC, d.sample_id LIMIT ? OFFSET ?""",
                [listing.per_page, listing.offset]).fetchall()]
        rows = []
        for r in found:
            for column in ("venues", "years", "strata"):
                r[column] = json.loads(r[column]) if r[column] else None
            rows.append(SampleRow(**{**r, "venues": r["venues"] or [], "years": r["years"] or [],
                                     "annotated": None if hidden else r["annotated"]}))
        return listing.respond("samples", SampleRow, rows, total)

    return api


def _schema_type(schema: dict) -> str | None:
    if "type" in schema:
        return schema["type"]
    return next((s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), None)


def _choices(schema: dict) -> list[str] | None:
    for part in [schema, *schema.get("anyOf", []), schema.get("items", {})]:
        if "enum" in part:
            return [str(v) for v in part["enum"]]
        if "pattern" in part and part["pattern"].startswith("^(") and part["pattern"].endswith(")$"):
            return part["pattern"][2:-2].split("|")
    return None


def _person_url(person_id: str) -> str:
    return f"/api/persons/{quote(person_id, safe='')}"


@_kept(4096)
def _person_cached(db: Tracker, build: tuple, generation: int, person_id: str, hide_annotations: bool) -> bytes | None:
    """A person's answer as JSON, kept per build and workspace generation (an annotation may
    change their careers)."""
    hidden = "AND source <> 'annotation'" if hide_annotations else ""
    with reading.reader(db) as con:
        found = reading.rows(con, "SELECT * FROM persons WHERE person_id = ?", [person_id])
        if not found:
            return None
        careers = reading.rows(con, f"""
            SELECT stage, institution_id, institution, country, sector, start_year, end_year, source, confidence,
                   evidence, row_number() OVER (PARTITION BY stage ORDER BY {STAGE_ORDER}) = 1 AS selected
            FROM careers WHERE person_id = ? {hidden}
            ORDER BY CASE stage WHEN 'origin' THEN 0 WHEN 'graduate' THEN 1 ELSE 2 END, {STAGE_ORDER}""",
                             [person_id])
        predictions = reading.rows(con, """SELECT stage, country, probability, kind, evidence FROM predictions
            WHERE person_id = ? ORDER BY CASE stage WHEN 'origin' THEN 0 WHEN 'graduate' THEN 1 ELSE 2 END""",
                                 [person_id])
        papers = reading.rows(con, """
            SELECT a.venue, a.year, a.paper_id, p.title, a.status, a.accepted, a.tier, p.track, a.author_position,
                   p.n_authors, a.affiliation, a.institution_id, a.institution, a.country, a.job_title, p.url
            FROM authorships a JOIN papers p USING (venue, year, paper_id)
            WHERE a.person_id = ? ORDER BY a.year DESC, a.venue, p.title, a.paper_id""", [person_id])
    row = found[0]
    for column in ("name_variants", "openreview_ids", "venues"):
        row[column] = row[column] or []
    detail = PersonDetail(person=Person(**row), careers=[CareerFact(**c) for c in careers],
                          predictions=[Prediction(**p) for p in predictions], papers=[PersonPaper(**p) for p in papers])
    return detail.model_dump_json().encode()


@_kept(1024)
def _institution_cached(db: Tracker, build: tuple, institution_id: str) -> bytes | None:
    with reading.reader(db, with_workspace=False) as con:
        found = reading.rows(con, "SELECT * FROM institutions WHERE institution_id = ?", [institution_id])
        if not found:
            return None
        counts = con.execute("""
            SELECT count(DISTINCT person_id), count(*), count(*) FILTER (WHERE accepted), min(year), max(year)
            FROM authorships WHERE institution_id = ?""", [institution_id]).fetchone()
        top = reading.rows(con, """
            SELECT a.person_id, p.display_name, count(*) AS authorships, min(a.year) AS first_year,
                   max(a.year) AS last_year
            FROM authorships a JOIN persons p USING (person_id)
            WHERE a.institution_id = ? GROUP BY ALL ORDER BY authorships DESC, p.display_name, a.person_id LIMIT 25""",
                         [institution_id])
        row = found[0]
        parent = reading.rows(con, "SELECT institution_id, name FROM institutions WHERE institution_id = ?",
                            [row["parent"]]) if row["parent"] else []
        children = reading.rows(con, "SELECT institution_id, name FROM institutions WHERE parent = ? ORDER BY name",
                              [institution_id])
    link = lambda r: InstitutionLink(**r, url=f"/api/institutions/{quote(r['institution_id'], safe='')}")  # noqa: E731
    row["aliases"], row["domains"] = row["aliases"] or [], row["domains"] or []
    detail = InstitutionDetail(
        institution=Institution(**row), parent=link(parent[0]) if parent else None,
        children=[link(c) for c in children], people=counts[0], authorships=counts[1], accepted_authorships=counts[2],
        first_year=counts[3], last_year=counts[4],
        top_people=[InstitutionPerson(**p, url=_person_url(p["person_id"])) for p in top])
    return detail.model_dump_json().encode()


@_kept(1024)
def _papers_cached(db: Tracker, build: tuple, f: Filter, needle: str, country: str, per_page: int, offset: int
                   ) -> tuple[int, list[dict]]:
    """A page of papers and the total, kept per build."""
    parts, params = f.sql("p")
    if needle:
        parts.append("contains(lower(p.title), ?)")
        params.append(needle)
    if country:
        parts.append("list_contains(p.countries, ?)")
        params.append(country)
    where = " AND ".join(parts) or "true"
    with reading.reader(db, with_workspace=False) as con:
        total = con.execute(f"SELECT count(*) FROM papers p WHERE {where}", params).fetchone()[0]
        found = reading.rows(con, f"""
            WITH page AS (
                SELECT p.venue, p.year, p.paper_id, p.title, p.status, p.accepted, p.tier, p.track, p.n_authors,
                       p.url, p.countries
                FROM papers p WHERE {where}
                ORDER BY p.year DESC, p.venue, p.paper_id LIMIT ? OFFSET ?)
            SELECT page.venue, page.year, page.paper_id, any_value(page.title) AS title,
                   any_value(page.status) AS status, any_value(page.accepted) AS accepted,
                   any_value(page.tier) AS tier, any_value(page.track) AS track,
                   any_value(page.n_authors) AS n_authors, any_value(page.url) AS url,
                   any_value(page.countries) AS countries,
                   list(a.author_name ORDER BY a.author_position) FILTER (WHERE a.author_position IS NOT NULL)
                       AS authors,
                   list(a.person_id ORDER BY a.author_position) FILTER (WHERE a.author_position IS NOT NULL)
                       AS person_ids
            FROM page LEFT JOIN authorships a USING (venue, year, paper_id)
            GROUP BY page.venue, page.year, page.paper_id
            ORDER BY page.year DESC, page.venue, page.paper_id""", [*params, per_page, offset])
    return total, found


@_kept(256)
def _estimate_cached(db: Tracker, build: tuple, generation: int, venues: tuple, years: tuple, tier: str, by: str,
                     sample: str | None, level: float, method: str | None, within: str | None, unit: str,
                     place: str) -> dict:
    return estimates.estimate(db, list(venues), list(years), tier, by, sample_id=sample, level=level,
                              method=method, within=within, unit=unit, place=place)



