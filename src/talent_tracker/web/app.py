"""The web tracker: pages, and their JSON twins under /api/ (FastAPI).

The database is read-only here; every figure comes from `figures/analyses.py`, and results are
cached in memory per build (and per workspace generation for figures that use samples
and annotations), so a new build or annotation shows without a restart. Pages are rendered
with autoescaping and fill their charts from the API in the browser with plotly.js, which
is installed with the package like the map geometry (assets.py). Nothing is loaded from a CDN.

With blind annotation, what a viewer may see of the figures analysts' values make is
access.py's to decide, for the pages' API as for the annotation pages.

The routes are defined once, on module-level routers (here, api/routes.py, annotate_routes.py);
what one app's routes work with (its Tracker, templates, cached analyses, what blind
annotation hides) is a small context object per part on `app.state`, which handlers get
through a dependency (`context`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as Path_
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from talent_tracker.errors import UserError
from talent_tracker.figures import analyses
from talent_tracker.institutions import load_resolver
from talent_tracker.store import exports, reading
from talent_tracker.store import workspace as workspaces
from talent_tracker.web.access import Access, hidden_analysis, hidden_comparison, hidden_country, nothing_hidden
from talent_tracker.web.annotate_routes import install as install_annotation
from talent_tracker.web.api.filters import AnalysisTierQ, AnalysisVenueQ, PlaceQ, YearsQ
from talent_tracker.web.api.routes import AnalysisName
from talent_tracker.web.api.routes import install as install_api
from talent_tracker.web.assets import VENDOR, WORLD
from talent_tracker.web.security import BodyLimit, SecurityHeaders, Sessions, allowed_hosts
from talent_tracker.web.site import HERE, PAGES, comparison, meta_of, safe_json
from talent_tracker.years import parse_years

OFFLINE_DOCS = Path(fastapi_offline.__file__).parent / "static"


@dataclass(frozen=True)
class SiteContext:
    """What the pages and the analyses' API of one app work with (`app.state.site`): its Tracker,
    its templates, `run(name, venue, years, tier, place, extra)` its cached analysis, and
    `hides(request)`, what blind annotation hides from who asks (access.Access.hides)."""

    tracker: reading.Tracker
    templates: Jinja2Templates
    run: Callable[..., dict]
    hides: Callable[[Request], bool]


async def context(request: Request) -> SiteContext:
    # async: a plain attribute read, not worth a trip to the thread pool
    return request.app.state.site


Site = Annotated[SiteContext, Depends(context)]

# the route definitions; each app's state comes through `context`
router = APIRouter()


def create_app(db: Path, annotate: bool = False, universities: Path | None = None, blind: bool = False,
               hosts: list[str] | None = None) -> FastAPI:
    """The tracker for `db`; with `annotate`, also the annotation workflow (writes go to the
    workspace, the database stays read-only, so a build may replace it while serving).
    `hosts`: the names the Host header may carry (security.allowed_hosts).

    `app.state.workspace_warning` says, if so, that the database's workspace was missing
    (workspace.missing); `serve` prints it, the annotation pages show it. With `annotate`,
    `app.state.workspace` is the workspace the annotation routes write to. What the routes
    work with is on `app.state` too: `tracker`, and `site`, `api` and `annotation` (one
    context each for the pages, api/routes.py and annotate_routes.py)."""
    tracker = reading.Tracker(db)  # owns this server's connections and its memo of figures
    with tracker.reader():
        pass  # fail now, with one clear line, if the database cannot be read
    # after that first read, which hands over the work a database of an earlier version held
    warning = workspaces.missing(tracker.db, creating=annotate)
    app = FastAPI(lifespan=lifespan, title="talent-tracker", description="Where the world's top AI researchers come from, train and "
                  "work. Every page's figures have a JSON twin here.", version="1", docs_url=None, redoc_url=None)
    app.state.tracker = tracker
    app.state.workspace_warning = warning
    app.add_middleware(BodyLimit)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts or allowed_hosts("127.0.0.1"))
    app.add_middleware(SecurityHeaders)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.add_exception_handler(UserError, unavailable)
    _mount_static(app)
    hides = nothing_hidden
    if annotate:
        hides = _install_annotation(app, tracker, templates, universities, blind, notice=warning)
    run = functools.partial(run_analysis, tracker)
    app.state.site = SiteContext(tracker, templates, run, hides)
    app.include_router(router)
    # the typed data API (api.py): people, institutions, papers, estimates, samples, the list of analyses
    install_api(app, tracker, run, PAGES, hides)
    return app


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    app.state.tracker.close()  # the server's connections end with it


def unavailable(request: Request, exc: UserError) -> JSONResponse:
    # what a command would say in one line (a busy or full workspace, a database that
    # went missing): the request was fine, the server cannot answer it now
    return JSONResponse({"detail": str(exc)}, status_code=503)


def _mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/static-docs", StaticFiles(directory=str(OFFLINE_DOCS)), name="static-docs")
    if VENDOR.is_dir():
        app.mount("/vendor", StaticFiles(directory=str(VENDOR)), name="vendor")


def _install_annotation(app: FastAPI, tracker: reading.Tracker, templates: Jinja2Templates,
                        universities: Path | None, blind: bool, notice: str | None) -> Callable[[Request], bool]:
    """The annotation routes on `app`; returns what blind annotation hides from a request (Access.hides)."""
    resolver, _ = load_resolver(universities)
    workspace = tracker.workspace(create=True)
    app.state.workspace = workspace
    access = Access(workspace, Sessions(workspace), blind)
    install_annotation(app, tracker, access, resolver, templates, notice=notice)
    return access.hides


# --- the analyses, cached ---

def _compute(tracker: reading.Tracker, name: str, venues: tuple, years: tuple, tier: str, place: str, extra: str,
             build: tuple, generation: int) -> dict:
    f = analyses.filters_of(list(venues), list(years), tier, place)
    if name == "country":
        return analyses.country_profile(tracker, f, extra)
    return analyses.ANALYSES[name](tracker, f).as_dict()


# results are kept per build and, for those that read it, per workspace generation:
# a new build or a new annotation shows at once, without a restart
def _cached(tracker: reading.Tracker, *key) -> dict:
    return tracker.memo(key, lambda: _compute(tracker, *key), region="analyses", size=4096)


def run_analysis(tracker: reading.Tracker, name: str, venue: list[str] | None, years: str | None, tier: str,
                 place: str = "lab", extra: str = "") -> dict:
    """An analysis (or, `country`, a country's profile for `extra`), from the tracker's memo; bound
    to the tracker, it is the app's `run`."""
    build = tracker.build_stamp()  # a database gone missing is the server's trouble (503), not the request's
    generation = tracker.workspace_generation() if name in analyses.READS_WORKSPACE else 0
    try:
        year_list = tuple(parse_years(years)) if years else ()
        return _cached(tracker, name, tuple(sorted(venue or ["neurips"])), year_list, tier, place, extra, build,
                       generation)
    except UserError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


# --- the routes: the analyses' JSON, the pages, the docs ---

@router.get("/api/meta", summary="Venues, years, tiers and samples in the database, and when it was built")
def meta(ctx: Site) -> dict:
    return meta_of(ctx.tracker)


@router.get("/api/analyses/{name}", summary="One analysis as a table (format=json or csv)")
def analysis(request: Request, ctx: Site, name: AnalysisName, venue: AnalysisVenueQ = None, years: YearsQ = None,
             tier: AnalysisTierQ = "top20", place: PlaceQ = "lab",
             format: Annotated[str, Query(max_length=10, description="json or csv")] = "json"):
    # an unknown name is a 404 (api.install), as before the name became an enum
    if format not in ("json", "csv"):
        raise HTTPException(status_code=400, detail=f"unknown format {format!r} (choose json or csv)")
    result = ctx.run(name.value, venue, years, tier, place)
    if name.value in analyses.READS_WORKSPACE and ctx.hides(request):
        result = hidden_analysis(result)
    if format == "csv":
        return _csv(result, name.value)
    return JSONResponse(result)


@router.get("/api/countries/{code}", summary="A country's profile")
def country(request: Request, ctx: Site, code: Annotated[str, Path_(max_length=3)], venue: AnalysisVenueQ = None,
            years: YearsQ = None, tier: AnalysisTierQ = "top20", place: PlaceQ = "lab"):
    profile = ctx.run("country", venue, years, tier, place, code.upper())
    return JSONResponse(hidden_country(profile) if ctx.hides(request) else profile)


@router.get("/static-vendor/topojson/{name}", include_in_schema=False)
def plotly_topojson(name: str) -> Response:
    # plotly.js fetches base-map geometry even for a hidden base map; give it the
    # installed Natural Earth file instead of letting it reach for its CDN
    if not WORLD.is_file():
        raise HTTPException(status_code=404, detail="map geometry missing from this install")
    return Response(WORLD.read_bytes(), media_type="application/json", headers={"Cache-Control": "max-age=86400"})


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request, ctx: Site):
    return ctx.templates.TemplateResponse(request, "docs.html", {})


@router.get("/redoc", include_in_schema=False)
def redoc():
    # ReDoc's bundle always loads its logo from a CDN: the docs are Swagger UI's
    return RedirectResponse("/docs", status_code=308)


def page(request: Request, ctx: SiteContext, key: str, **extra) -> HTMLResponse:
    _path, title, charts = PAGES[key]
    return ctx.templates.TemplateResponse(request, "page.html", {
        "page": key, "title": title, "charts": charts, "pages": PAGES, "static_site": False,
        "meta_json": safe_json(meta_of(ctx.tracker)), **extra})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview(request: Request, ctx: Site):
    return page(request, ctx, "overview")


def page_route(key: str):
    """The handler of the page `key` (a route definition: it holds the key, nothing of an app)."""
    def route(request: Request, ctx: Site) -> HTMLResponse:
        return page(request, ctx, key)
    return route


@router.get("/api/compare", summary="The published tracker's figures beside this tracker's own")
def compared(request: Request, ctx: Site):
    result = comparison(ctx.tracker)
    return JSONResponse(hidden_comparison(result) if ctx.hides(request) else result)


for _key in ("flows", "map", "trends", "institutions", "methodology", "compare"):
    router.add_api_route(PAGES[_key][0], page_route(_key), response_class=HTMLResponse, include_in_schema=False)


@router.get("/countries/{code}", response_class=HTMLResponse, include_in_schema=False)
def country_page(request: Request, ctx: Site, code: Annotated[str, Path_(max_length=3)]):
    return page(request, ctx, "countries", country=code.upper())


def _csv(result: dict, name: str) -> PlainTextResponse:
    if "columns" in result:
        text = exports.csv_text(result["columns"], result["rows"])
    else:
        text = exports.csv_text(["key", "value"], result.items())
    return PlainTextResponse(text, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
