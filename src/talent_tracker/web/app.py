"""The web tracker: pages, and their JSON twins under /api/ (FastAPI).

The database is read-only here; every figure comes from `figures/analyses.py`, and results are
cached in memory per build (and per workspace generation for figures that use samples
and annotations), so a new build or annotation shows without a restart. Pages are rendered
with autoescaping and fill their charts from the API in the browser with plotly.js, which
is installed with the package like the map geometry (assets.py). Nothing is loaded from a CDN.

With blind annotation, what a viewer may see of the figures analysts' values make is
access.py's to decide, for the pages' API as for the annotation pages.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import FastAPI, HTTPException, Query, Request
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
from talent_tracker.web.annotate_routes import router as annotate_router
from talent_tracker.web.api.filters import AnalysisTierQ, AnalysisVenueQ, PlaceQ, YearsQ
from talent_tracker.web.api.routes import AnalysisName
from talent_tracker.web.api.routes import install as install_api
from talent_tracker.web.assets import VENDOR, WORLD
from talent_tracker.web.security import BodyLimit, SecurityHeaders, Sessions, allowed_hosts
from talent_tracker.web.site import HERE, PAGES, comparison, meta_of, safe_json
from talent_tracker.years import parse_years

OFFLINE_DOCS = Path(fastapi_offline.__file__).parent / "static"


def create_app(db: Path, annotate: bool = False, universities: Path | None = None, blind: bool = False,
               hosts: list[str] | None = None) -> FastAPI:
    """The tracker for `db`; with `annotate`, also the annotation workflow (writes go to the
    workspace, the database stays read-only, so a build may replace it while serving).
    `hosts`: the names the Host header may carry (security.allowed_hosts).

    `app.state.workspace_warning` says, if so, that the database's workspace was missing
    (workspace.missing); `serve` prints it, the annotation pages show it. With `annotate`,
    `app.state.workspace` is the workspace the annotation routes write to."""
    tracker = reading.Tracker(db)  # owns this server's connections and its memo of figures
    with tracker.reader():
        pass  # fail now, with one clear line, if the database cannot be read
    # after that first read, which hands over the work a database of an earlier version held
    warning = workspaces.missing(tracker.db, creating=annotate)
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        tracker.close()  # the server's connections end with it

    app = FastAPI(lifespan=lifespan, title="talent-tracker", description="Where the world's top AI researchers come from, train and "
                  "work. Every page's figures have a JSON twin here.", version="1", docs_url=None, redoc_url=None)
    app.state.tracker = tracker
    app.state.workspace_warning = warning
    app.add_middleware(BodyLimit)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts or allowed_hosts("127.0.0.1"))
    app.add_middleware(SecurityHeaders)
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    @app.exception_handler(UserError)
    def unavailable(request: Request, exc: UserError) -> JSONResponse:
        # what a command would say in one line (a busy or full workspace, a database that
        # went missing): the request was fine, the server cannot answer it now
        return JSONResponse({"detail": str(exc)}, status_code=503)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/static-docs", StaticFiles(directory=str(OFFLINE_DOCS)), name="static-docs")
    if VENDOR.is_dir():
        app.mount("/vendor", StaticFiles(directory=str(VENDOR)), name="vendor")

    hides = nothing_hidden
    if annotate:
        resolver, _ = load_resolver(universities)
        workspace = tracker.workspace(create=True)
        app.state.workspace = workspace
        access = Access(workspace, Sessions(workspace), blind)
        hides = access.hides
        app.include_router(annotate_router(tracker, access, resolver, templates, notice=warning))

    def compute(name: str, venues: tuple, years: tuple, tier: str, place: str, extra: str, build: tuple,
                generation: int) -> dict:
        f = analyses.filters_of(list(venues), list(years), tier, place)
        if name == "country":
            return analyses.country_profile(tracker, f, extra)
        return analyses.ANALYSES[name](tracker, f).as_dict()

    # results are kept per build and, for those that read it, per workspace generation:
    # a new build or a new annotation shows at once, without a restart
    def cached(*key) -> dict:
        return tracker.memo(key, lambda: compute(*key), region="analyses", size=4096)

    def run(name: str, venue: list[str] | None, years: str | None, tier: str, place: str = "lab",
            extra: str = "") -> dict:
        build = tracker.build_stamp()  # a database gone missing is the server's trouble (503), not the request's
        generation = tracker.workspace_generation() if name in analyses.READS_WORKSPACE else 0
        try:
            year_list = tuple(parse_years(years)) if years else ()
            return cached(name, tuple(sorted(venue or ["neurips"])), year_list, tier, place, extra, build, generation)
        except UserError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

    @app.get("/api/meta", summary="Venues, years, tiers and samples in the database, and when it was built")
    def meta() -> dict:
        return meta_of(tracker)

    @app.get("/api/analyses/{name}", summary="One analysis as a table (format=json or csv)")
    def analysis(request: Request, name: AnalysisName, venue: AnalysisVenueQ = None, years: YearsQ = None,
                 tier: AnalysisTierQ = "top20", place: PlaceQ = "lab",
                 format: Annotated[str, Query(max_length=10, description="json or csv")] = "json"):
        # an unknown name is a 404 (api.install), as before the name became an enum
        if format not in ("json", "csv"):
            raise HTTPException(status_code=400, detail=f"unknown format {format!r} (choose json or csv)")
        result = run(name.value, venue, years, tier, place)
        if name.value in analyses.READS_WORKSPACE and hides(request):
            result = hidden_analysis(result)
        if format == "csv":
            return _csv(result, name.value)
        return JSONResponse(result)

    @app.get("/api/countries/{code}", summary="A country's profile")
    def country(request: Request, code: Annotated[str, Path_(max_length=3)], venue: AnalysisVenueQ = None,
                years: YearsQ = None, tier: AnalysisTierQ = "top20", place: PlaceQ = "lab"):
        profile = run("country", venue, years, tier, place, code.upper())
        return JSONResponse(hidden_country(profile) if hides(request) else profile)

    @app.get("/static-vendor/topojson/{name}", include_in_schema=False)
    def plotly_topojson(name: str) -> Response:
        # plotly.js fetches base-map geometry even for a hidden base map; give it the
        # installed Natural Earth file instead of letting it reach for its CDN
        if not WORLD.is_file():
            raise HTTPException(status_code=404, detail="map geometry missing from this install")
        return Response(WORLD.read_bytes(), media_type="application/json", headers={"Cache-Control": "max-age=86400"})

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request):
        return templates.TemplateResponse(request, "docs.html", {})

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        # ReDoc's bundle always loads its logo from a CDN: the docs are Swagger UI's
        return RedirectResponse("/docs", status_code=308)

    def page(request: Request, key: str, **extra) -> HTMLResponse:
        _path, title, charts = PAGES[key]
        return templates.TemplateResponse(request, "page.html", {
            "page": key, "title": title, "charts": charts, "pages": PAGES, "static_site": False,
            "meta_json": safe_json(meta_of(tracker)), **extra})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request):
        return page(request, "overview")

    def page_route(key: str):
        def route(request: Request) -> HTMLResponse:
            return page(request, key)
        return route

    @app.get("/api/compare", summary="The published tracker's figures beside this tracker's own")
    def compared(request: Request):
        result = comparison(tracker)
        return JSONResponse(hidden_comparison(result) if hides(request) else result)

    for key in ("flows", "map", "trends", "institutions", "methodology", "compare"):
        app.add_api_route(PAGES[key][0], page_route(key), response_class=HTMLResponse, include_in_schema=False)

    @app.get("/countries/{code}", response_class=HTMLResponse, include_in_schema=False)
    def country_page(request: Request, code: Annotated[str, Path_(max_length=3)]):
        return page(request, "countries", country=code.upper())

    # the typed data API (api.py): people, institutions, papers, estimates, samples, the list of analyses
    install_api(app, tracker, run, PAGES, hides)
    return app


def _csv(result: dict, name: str) -> PlainTextResponse:
    if "columns" in result:
        text = exports.csv_text(result["columns"], result["rows"])
    else:
        text = exports.csv_text(["key", "value"], result.items())
    return PlainTextResponse(text, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
