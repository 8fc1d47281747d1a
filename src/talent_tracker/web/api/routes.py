"""The API's routes (see the package docstring), and the reads behind them.

The routes are defined once, on the module's `router`; what one app's API works with (its
Tracker, its cached analyses, its pages, what blind annotation hides) is an `ApiContext` that
`install` puts on `app.state.api`, and handlers get it through the `context` dependency.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as Path_
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from talent_tracker.errors import UserError
from talent_tracker.figures import analyses, estimates
from talent_tracker.figures.person import person_record
from talent_tracker.population import UNITS
from talent_tracker.store import reading
from talent_tracker.store.reading import Tracker
from talent_tracker.web.access import HIDDEN
from talent_tracker.web.api.filters import (
    Filter,
    SearchQ,
    Sector,
    Tier,
    TierQ,
    VenueQ,
    YearsQ,
    checked_venue_names,
    filter_of,
)
from talent_tracker.web.api.listing import PARQUET, ListingQ, Page
from talent_tracker.web.api.models import (
    AnalysisInfo,
    AnalysisParameter,
    CareerFact,
    Detail,
    EstimateRow,
    Estimates,
    Institution,
    InstitutionDetail,
    InstitutionLink,
    InstitutionPerson,
    InstitutionRow,
    NetRow,
    PaperRow,
    Person,
    PersonDetail,
    PersonPaper,
    PersonRow,
    Prediction,
    RetentionRow,
    SampleRow,
)
from talent_tracker.web.api.search import institution_rows, kept, people_index, plain_text, population_members
from talent_tracker.years import parse_years

MAX_ID = 200  # person, institution and sample ids (real maximum: 43)


# the analyses' names, for the path of /api/analyses/{name} (OpenAPI lists them)
AnalysisName = enum.Enum("AnalysisName", [(name, name) for name in analyses.ANALYSES], type=str)


By = enum.Enum("By", [(b, b) for b in estimates.BY], type=str)
Method = enum.Enum("Method", [(m, m) for m in estimates.METHODS], type=str)
Unit = enum.Enum("Unit", [(u.replace("-", "_"), u) for u in UNITS], type=str)
LIST_RESPONSES: dict = {200: {"content": {"text/csv": {}, PARQUET: {}}},
                        400: {"description": "A filter or format that names nothing real"}}


# --- the router ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApiContext:
    """What the API's routes of one app work with (`app.state.api`, set by `install`): its Tracker,
    `run(name, venue, years, tier)` its cached analysis, `pages` its dashboard pages, and
    `hides(request)` whether blind annotation hides analysts' values from who makes the request
    (access.Access.hides)."""

    tracker: Tracker
    run: Callable[..., dict]
    pages: dict
    hides: Callable[[Request], bool]

    def build(self) -> tuple:
        return self.tracker.build_stamp()  # a database gone missing is the server's trouble (503), not the request's


async def context(request: Request) -> ApiContext:
    # async: a plain attribute read, not worth a trip to the thread pool
    return request.app.state.api


Context = Annotated[ApiContext, Depends(context)]

# the route definitions; each app's state comes through `context`
router = APIRouter(prefix="/api", tags=["data"])


def install(app: FastAPI, tracker: Tracker, run: Callable[..., dict], pages: dict, hides: Callable[[Request], bool]
            ) -> None:
    """Add the API to `app`. `run(name, venue, years, tier)` is the app's cached analysis; `pages`
    its dashboard pages; `hides(request)`: whether blind annotation hides analysts' values
    from who makes the request (access.Access.hides)."""
    app.state.api = ApiContext(tracker, run, pages, hides)
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, unknown_name)


async def unknown_name(request: Request, exc: RequestValidationError):
    # an analysis name that is not one of them is a page that does not exist: 404, as before
    # the name became an enum, not 422
    errors = exc.errors()
    if request.url.path.startswith("/api/analyses/") and errors and all(
            e.get("type") == "enum" and tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
        return JSONResponse({"detail": f"no analysis {str(errors[0].get('input'))[:100]!r}"}, status_code=404)
    return await request_validation_exception_handler(request, exc)


# --- analyses ---

def titles(ctx: ApiContext, stamp: tuple) -> dict[str, str]:
    return ctx.tracker.memo((stamp,), lambda: {name: ctx.run(name, None, None, "top20")["title"]
                                               for name in AnalysisName.__members__}, region="titles", size=4)


@router.get("/analyses", response_model=Page[AnalysisInfo], responses=LIST_RESPONSES,
            summary="Every analysis: its name, title, parameters and URL")
def analyses_list(request: Request, ctx: Context, listing: ListingQ):
    operation = request.app.openapi()["paths"]["/api/analyses/{name}"]["get"]
    parameters = [AnalysisParameter(
        name=p["name"], required=p.get("required", False), repeated=_schema_type(p["schema"]) == "array",
        description=p.get("description") or p["schema"].get("description"), choices=_choices(p["schema"]))
        for p in operation.get("parameters", []) if p["in"] == "query"]
    charted: dict[str, list[str]] = {}
    for path, _, charts in ctx.pages.values():
        for chart in charts:
            charted.setdefault(chart, []).append(path)
    named = titles(ctx, ctx.build())
    rows = [AnalysisInfo(name=name, title=named[name], url=f"/api/analyses/{name}",
                         csv_url=f"/api/analyses/{name}?format=csv", parameters=parameters,
                         pages=charted.get(name, [])) for name in AnalysisName.__members__]
    return listing.respond("analyses", AnalysisInfo, listing.window(rows), len(rows))


# --- people ---

@router.get("/persons", response_model=Page[PersonRow], responses=LIST_RESPONSES,
            summary="People: search by name, filter by venue, years and tier")
def persons(ctx: Context, listing: ListingQ, q: SearchQ = None, venue: VenueQ = None, years: YearsQ = None,
            tier: TierQ = None):
    f = filter_of(venue, years, tier)
    stamp = ctx.build()
    people = people_index(ctx.tracker, stamp)
    needle = (q or "").strip()
    chosen = people.search(needle) if needle else None  # positions, in order
    papers = None
    if not f.empty:
        positions, counts = population_members(ctx.tracker, stamp, f)
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


@router.get("/persons/{person_id:path}", response_model=PersonDetail, responses={404: {"model": Detail}},
            summary="A person: their careers with provenance, their predictions and papers")
def person(request: Request, ctx: Context, person_id: Annotated[str, Path_(max_length=MAX_ID)]):
    detail = _person_cached(ctx.tracker, ctx.build(), ctx.tracker.workspace_generation(), person_id,
                            ctx.hides(request))
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no person {person_id[:100]!r}")
    return Response(detail, media_type="application/json")


# --- institutions ---

@router.get("/institutions", response_model=Page[InstitutionRow], responses=LIST_RESPONSES,
            summary="Institutions: search by name or alias, filter by country and sector; most people first")
def institutions(ctx: Context, listing: ListingQ, q: SearchQ = None,
                 country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 "
                                                      "alpha-2 code (of the lab)")] = None,
                 sector: Annotated[Sector | None, Query()] = None):
    rows = institution_rows(ctx.tracker, ctx.build())
    needle = plain_text((q or "").strip()).replace("\n", " ")  # within one name
    chosen = [r for r in rows
              if (not country or r["country"] == country.upper())
              and (sector is None or r["sector"] == sector.value)
              and (not needle or needle in r["_match"])]
    page = [InstitutionRow.model_construct(**{k: v for k, v in r.items() if k != "_match"},
                                           url=f"/api/institutions/{quote(r['institution_id'], safe='')}")
            for r in listing.window(chosen)]
    return listing.respond("institutions", InstitutionRow, page, len(chosen))


@router.get("/institutions/{institution_id:path}", response_model=InstitutionDetail,
            responses={404: {"model": Detail}},
            summary="An institution: its country and sector, its parent and children, counts and top people")
def institution(ctx: Context, institution_id: Annotated[str, Path_(max_length=MAX_ID)]):
    detail = _institution_cached(ctx.tracker, ctx.build(), institution_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no institution {institution_id[:100]!r}")
    return Response(detail, media_type="application/json")


# --- papers ---

@router.get("/papers", response_model=Page[PaperRow], responses=LIST_RESPONSES,
            summary="Papers: filter by venue, years, tier and country, search titles; newest first")
def papers(ctx: Context, listing: ListingQ, q: SearchQ = None, venue: VenueQ = None, years: YearsQ = None,
           tier: TierQ = None,
           country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$", description="papers with an author "
                                                "in this country (ISO 3166-1 alpha-2)")] = None):
    f = filter_of(venue, years, tier)
    total, found = _papers_cached(ctx.tracker, ctx.build(), f, (q or "").strip().lower(), (country or "").upper(),
                                  listing.per_page, listing.offset)
    rows = [PaperRow(**{**r, "authors": r["authors"] or [], "person_ids": r["person_ids"] or []}) for r in found]
    return listing.respond("papers", PaperRow, rows, total)


# --- estimates ---

@router.get("/estimates", response_model=Estimates,
            responses={**LIST_RESPONSES, 403: {"description": "Hidden while annotation is blind", "model": Detail}},
            summary="Population figures by origin, graduate school, work or flow, with intervals (estimate)")
def estimate(request: Request, ctx: Context, listing: ListingQ,
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
    if ctx.hides(request):
        raise HTTPException(status_code=403, detail=HIDDEN)
    stamp, generation = ctx.build(), ctx.tracker.workspace_generation()
    venues = tuple(checked_venue_names(venue) or ["neurips"])
    try:
        year_list = tuple(parse_years(years)) if years else ()
        result = _estimate_cached(ctx.tracker, stamp, generation, venues, year_list, tier.value, by.value, sample,
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

@router.get("/samples", response_model=Page[SampleRow], responses=LIST_RESPONSES,
            summary="The samples drawn in the workspace, newest first")
def samples(request: Request, ctx: Context, listing: ListingQ):
    ctx.build()
    hidden = ctx.hides(request)
    workspace = ctx.tracker.workspace()
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


@kept(4096)
def _person_cached(tracker: Tracker, build: tuple, generation: int, person_id: str, hide_annotations: bool) -> bytes | None:
    """A person's answer as JSON, kept per build and workspace generation (an annotation may
    change their careers)."""
    with tracker.reader() as con:
        record = person_record(con, person_id, ("annotation",) if hide_annotations else ())
    if record is None:
        return None
    row = record["person"]
    for column in ("name_variants", "openreview_ids", "venues"):
        row[column] = row[column] or []
    detail = PersonDetail(person=Person(**row), careers=[CareerFact(**c) for c in record["careers"]],
                          predictions=[Prediction(**p) for p in record["predictions"]],
                          papers=[PersonPaper(**p) for p in record["papers"]])
    return detail.model_dump_json().encode()


@kept(1024)
def _institution_cached(tracker: Tracker, build: tuple, institution_id: str) -> bytes | None:
    with tracker.reader(with_workspace=False) as con:
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


@kept(1024)
def _papers_cached(tracker: Tracker, build: tuple, f: Filter, needle: str, country: str, per_page: int, offset: int
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
    with tracker.reader(with_workspace=False) as con:
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


@kept(256)
def _estimate_cached(tracker: Tracker, build: tuple, generation: int, venues: tuple, years: tuple, tier: str, by: str,
                     sample: str | None, level: float, method: str | None, within: str | None, unit: str,
                     place: str) -> dict:
    return estimates.estimate(tracker, list(venues), list(years), tier, by, sample_id=sample, level=level,
                              method=method, within=within, unit=unit, place=place)
