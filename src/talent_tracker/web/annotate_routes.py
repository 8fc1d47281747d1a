"""Annotation mode of the web app: queue, evidence, form, review, export (annotations/ stores).

Every write needs a valid token: as `Authorization: Bearer <token>` (API), or a signed
session cookie got by signing in with it (pages; see security.Sessions). Cookie-based
writes must also carry the form's CSRF token and come from this site (Origin/Referer),
so another site cannot make an analyst's browser write; signing in and out included.
A stale form gets 409 with a clear message, a malformed one 4xx. Handlers that touch the
databases are plain functions, which FastAPI runs in its thread pool, so a save never
stalls the other requests; async handlers only read the request body and hand the
rest to the thread pool.

With `blind`, annotators see neither each other's entries nor the settled values until a
reviewer looks (access.Access.blind_for decides): their evidence page leaves out
annotation facts, their queue and the samples page count only their own entries.

Person and sample ids may hold `/` (they come from the sources' ids): their routes take
the rest of the path (`{person_id:path}`), written encoded or not. A write the workspace
cannot take (a full disk) is a 503 saying why, the form kept as it was sent.

The routes are defined once, on the module's `router`; what one app's routes work with (its
Tracker, Access, resolver, templates and notice) is an `AnnotationContext` that `install`
puts on `app.state.annotation`, and handlers get it through the `context` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from talent_tracker.annotations import AnnotationFields, workflow
from talent_tracker.annotations import review as reviews
from talent_tracker.errors import UserError
from talent_tracker.figures.person import person_record
from talent_tracker.institutions.resolver import Resolver
from talent_tracker.limits import MAX_FORM_NAME, MAX_FORM_TEXT, MAX_QUERY
from talent_tracker.links import LABELS
from talent_tracker.stages import STAGES
from talent_tracker.store import exports, reading
from talent_tracker.store.workspace import Workspace
from talent_tracker.web.access import Access, Viewer
from talent_tracker.web.security import SESSION_SECONDS, Sessions


class Entry(AnnotationFields):
    """An annotator's entry for a person (JSON API): the fields a sheet row has
    (annotations.AnnotationFields), and the form's version, sample and confidence, and
    which stages could not be determined."""

    version: int = Field(0, ge=0, description="The version this entry was read at (0 for a first save)")
    sample_id: Annotated[str | None, Field(default=None, max_length=MAX_FORM_NAME)] = None
    origin_undetermined: bool = False
    graduate_undetermined: bool = False
    work_undetermined: bool = False
    origin_confirmed: bool = Field(False, description="the origin entered is the inferred one, confirmed")
    graduate_confirmed: bool = False
    work_confirmed: bool = False
    confidence: Annotated[str | None, Field(default=None, max_length=20)] = None


class Write:
    """A write that passed the guard: who makes it, and the form it sent (empty for JSON)."""

    def __init__(self, who: Viewer, form: dict):
        self.who, self.form = who, form


@dataclass(frozen=True)
class AnnotationContext:
    """What the annotation routes of one app work with (`app.state.annotation`, set by `install`)."""

    tracker: reading.Tracker
    access: Access
    resolver: Resolver
    templates: Jinja2Templates
    notice: str | None = None  # a warning every annotation page shows (a workspace missing at start)

    @property
    def workspace(self) -> Workspace:
        return self.access.workspace

    @property
    def sessions(self) -> Sessions:
        return self.access.sessions


async def context(request: Request) -> AnnotationContext:
    # async: a plain attribute read, not worth a trip to the thread pool
    return request.app.state.annotation


Context = Annotated[AnnotationContext, Depends(context)]

# the route definitions; each app's state comes through `context`
router = APIRouter()


def install(app: FastAPI, tracker: reading.Tracker, access: Access, resolver: Resolver, templates: Jinja2Templates,
            notice: str | None = None) -> None:
    """Add the annotation routes to `app`; `notice`: a warning every annotation page shows (a
    workspace that was missing when the server started)."""
    app.state.annotation = AnnotationContext(tracker, access, resolver, templates, notice)
    app.include_router(router)


# --- who writes, and the guards every write passes ---

def viewer(request: Request, ctx: Context) -> Viewer:
    found = ctx.access.identify(request)
    if found is None:
        raise HTTPException(status_code=401, detail="a valid token is needed (talent-tracker users add)")
    return found


def same_site(request: Request) -> None:
    origin = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host", "")
    if not origin or urlparse(origin).netloc != host:
        raise HTTPException(status_code=403, detail="cross-site request refused")


async def read_form(request: Request) -> dict:
    form = await request.form(max_files=0, max_fields=60, max_part_size=MAX_FORM_TEXT * 4)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def checked_write(request: Request, ctx: Context) -> Write:
    """Every write's one guard: a known user; and for a cookie session (which a browser
    sends on any site's behalf) a request from this site carrying the form's CSRF token
    (a form field, or the X-CSRF-Token header for JSON)."""
    who = await run_in_threadpool(viewer, request, ctx)
    is_form = request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data"))
    form = await read_form(request) if is_form else {}
    if who.session is not None:
        same_site(request)
        if not ctx.sessions.csrf_ok(who.session, form.get("csrf") or request.headers.get("x-csrf-token")):
            raise HTTPException(status_code=403, detail="this form is not from this site (CSRF token missing)")
    return Write(who, form)


def needs(capability: str):
    """A dependency: the signed-in user, who must be allowed `capability` (review, export)."""
    def allowed(who: Viewer = Depends(viewer)) -> Viewer:
        if not who.user.may(capability):
            raise HTTPException(status_code=403, detail=f"{who.user.name} may not {capability}")
        return who
    return allowed


def page(request: Request, ctx: AnnotationContext, name: str, who: Viewer | None, status: int = 200,
         **values) -> HTMLResponse:
    return ctx.templates.TemplateResponse(request, name, {
        "user": who.user if who else None, "csrf": ctx.sessions.csrf(who.session) if who else "",
        "blind": ctx.access.blind, "notice": ctx.notice, **values}, status_code=status)


# --- signing in and out, the samples ---

@router.get("/annotate", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, ctx: Context):
    who = ctx.access.identify(request)
    if who is None:
        return page(request, ctx, "annotate_login.html", None)
    own = ctx.access.blind_for(who)
    samples = workflow.samples_overview(ctx.workspace.connection(), who.user.name if own else None)
    return page(request, ctx, "annotate_home.html", who, samples=samples, own=own)


@router.post("/annotate/login", include_in_schema=False)
async def login(request: Request, ctx: Context):
    same_site(request)
    form = await read_form(request)
    token = str(form.get("token") or "").strip()
    workspace, sessions = ctx.workspace, ctx.sessions
    user = await run_in_threadpool(workflow.authenticate, workspace.connection(), token)
    if user is None:
        return page(request, ctx, "annotate_login.html", None, status=401, error="That token is not valid.")
    found = await run_in_threadpool(workflow.user_named, workspace.connection(), user.name)
    cookie = await run_in_threadpool(sessions.issue, user.name, found[1])
    response = RedirectResponse("/annotate", status_code=303)
    response.set_cookie(sessions.cookie, cookie, httponly=True, samesite="strict", max_age=SESSION_SECONDS)
    return response


@router.post("/annotate/logout", include_in_schema=False)
async def logout(ctx: Context, write: Write = Depends(checked_write)):
    if write.who.session is not None:
        # ended here, not only in this browser: a copy of the cookie is refused too
        await run_in_threadpool(ctx.sessions.end, write.who.session)
    response = RedirectResponse("/annotate", status_code=303)
    response.delete_cookie(ctx.sessions.cookie)
    return response


@router.get("/annotate/samples/{sample_id:path}", response_class=HTMLResponse, include_in_schema=False)
def sample_queue(request: Request, ctx: Context, sample_id: str, who: Viewer = Depends(viewer)):
    with ctx.tracker.reader() as con:
        names = dict(con.execute("SELECT person_id, display_name FROM persons WHERE person_id IN "
                                 "(SELECT person_id FROM samples WHERE sample_id = ?)", [sample_id]).fetchall())
        found = reading.profile_links(con, list(names))
    rows = workflow.queue(ctx.workspace.connection(), sample_id, who.user.name, names)
    for row in rows:  # direct links to the person's own pages, beside the name
        row["links"] = [(LABELS[link["kind"]], link["url"]) for link in found.get(row["person_id"], [])]
    if not rows:
        raise HTTPException(status_code=404, detail=f"no sample {sample_id[:100]!r}")
    if ctx.access.blind_for(who):
        for row in rows:
            row["entries"] = int(row["mine"])
    done = sum(1 for row in rows if row["entries"])
    return page(request, ctx, "annotate_queue.html", who, sample_id=sample_id, rows=rows, done=done)


# --- a person: the evidence, the form and its saves ---

def evidence(ctx: AnnotationContext, person_id: str, who: Viewer) -> dict:
    with ctx.tracker.reader() as con:
        hidden = ("annotation",) if ctx.access.blind_for(who) else ()
        record = person_record(con, person_id, hidden)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no person {person_id[:100]!r}")
        values = {
            "person": record["person"],
            "papers": record["papers"],
            "coauthors": [r[0] for r in con.execute("""SELECT DISTINCT b.author_name FROM authorships a
                JOIN authorships b ON a.venue = b.venue AND a.year = b.year AND a.paper_id = b.paper_id
                WHERE a.person_id = ? AND b.person_id <> a.person_id ORDER BY 1 LIMIT 40""",
                                                 [person_id]).fetchall()],
            "facts": record["careers"],
            "profile_links": [(LABELS[link["kind"]], link["url"]) for link in record["profile_links"]],
            # per stage, the inferred value the analyst may confirm (an act recorded as theirs)
            "inferred": {stage: fact for (_, stage), fact in workflow.inferred_values(con, [person_id]).items()},
        }
    q = quote(record["person"]["display_name"] or "")
    values["links"] = {
        "OpenReview": f"https://openreview.net/search?term={q}&group=all&content=all&source=all",
        "DBLP": f"https://dblp.org/search?q={q}",
        "Google Scholar": f"https://scholar.google.com/scholar?q=%22{q}%22",
        "ORCID": f"https://orcid.org/orcid-search/search?searchQuery={q}",
        "Web": f"https://duckduckgo.com/?q=%22{q}%22+curriculum+vitae",
    }
    return values


def inferred_of(ctx: AnnotationContext, person_id: str) -> dict[str, dict]:
    with ctx.tracker.reader(with_workspace=False) as con:
        return {stage: fact for (_, stage), fact in workflow.inferred_values(con, [person_id]).items()}


def known_person(ctx: AnnotationContext, person_id: str) -> bool:
    with ctx.tracker.reader(with_workspace=False) as con:
        return con.execute("SELECT 1 FROM persons WHERE person_id = ?", [person_id]).fetchone() is not None


@router.get("/annotate/person/{person_id:path}", response_class=HTMLResponse, include_in_schema=False)
def person_form(request: Request, ctx: Context, person_id: str, who: Viewer = Depends(viewer), sample: str = "",
                saved: int = 0):
    values = evidence(ctx, person_id, who)
    mine = workflow.submission(ctx.workspace.connection(), person_id, who.user.name) or {}
    return page(request, ctx, "annotate_person.html", who, sample=sample[:200], saved=saved, mine=mine,
                values=_values(mine), version=mine.get("version", 0), stages=STAGES, **values)


def save_form(request: Request, ctx: AnnotationContext, person_id: str, who: Viewer, form: dict):
    sample = str(form.get("sample_id") or "")[:200]
    try:
        version = int(form.get("version") or 0)
        workflow.save(ctx.workspace, who.user, person_id, sample or None, form, version, ctx.resolver,
                      known_person(ctx, person_id), inferred_of(ctx, person_id))
    except (workflow.StaleForm, workflow.Invalid, PermissionError, ValueError, UserError) as exc:
        status, problems = _status(exc)
        return page(request, ctx, "annotate_person.html", who, status=status, sample=sample, saved=0, mine={},
                    values=form, version=form.get("version", 0), stages=STAGES, problems=problems,
                    **evidence(ctx, person_id, who))
    return RedirectResponse(f"/annotate/person/{quote(person_id)}?sample={quote(sample)}&saved=1",
                            status_code=303)


@router.post("/annotate/person/{person_id:path}", response_class=HTMLResponse, include_in_schema=False)
async def person_save(request: Request, ctx: Context, person_id: str, write: Write = Depends(checked_write)):
    return await run_in_threadpool(save_form, request, ctx, person_id, write.who, write.form)


# --- the JSON API of entries ---

# before the entry's own route, whose `{person_id:path}` would also take ".../history"
@router.get("/api/annotations/{person_id:path}/history",
            summary="Every change to a person's annotations, oldest first (reviewers; Bearer token)")
def api_history(ctx: Context, person_id: str, who: Viewer = Depends(needs("review"))):
    return JSONResponse(workflow.history(ctx.workspace.connection(), person_id), headers={"Cache-Control": "no-store"})


@router.get("/api/annotations/{person_id:path}", summary="Your entry for a person, with its version (Bearer token)")
def api_get(ctx: Context, person_id: str, who: Viewer = Depends(viewer)):
    mine = workflow.submission(ctx.workspace.connection(), person_id, who.user.name)
    return JSONResponse(mine or {"person_id": person_id, "annotator": who.user.name, "version": 0},
                        headers={"Cache-Control": "no-store"})


@router.post("/api/annotations/{person_id:path}", summary="Save your entry for a person (Bearer token)",
             responses={409: {"description": "Saved again since this version was read"},
                        413: {"description": "Body too large"}, 422: {"description": "Invalid entry"},
                        503: {"description": "The workspace cannot take the write now (busy, or a full disk)"}})
def api_save(ctx: Context, person_id: str, entry: Entry, write: Write = Depends(checked_write)):
    who = write.who
    form = entry.model_dump()
    try:
        version = workflow.save(ctx.workspace, who.user, person_id, entry.sample_id, form, entry.version,
                                ctx.resolver, known_person(ctx, person_id), inferred_of(ctx, person_id))
    except (workflow.StaleForm, workflow.Invalid, PermissionError) as exc:
        status, problems = _status(exc)
        return JSONResponse({"detail": problems}, status_code=status)
    return {"person_id": person_id, "annotator": who.user.name, "version": version}


@router.get("/api/annotate/institutions",
            summary="Institution autocomplete for the annotation form (registry and world universities)")
def institutions(ctx: Context, q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
                 limit: Annotated[int, Query(ge=1, le=50)] = 20):
    needle = q.strip().casefold()
    if len(needle) < 2:
        return []
    found = []
    for inst in ctx.resolver.by_id.values():
        names = (inst.name, *inst.aliases)
        if any(needle in n.casefold() for n in names):
            found.append({"institution_id": inst.institution_id, "name": inst.name, "country": inst.country,
                          "sector": inst.sector})
            if len(found) >= limit:
                break
    return found


# --- review and export ---

@router.get("/annotate/review", response_class=HTMLResponse, include_in_schema=False)
def review(request: Request, ctx: Context, who: Viewer = Depends(needs("review"))):
    return page(request, ctx, "annotate_review.html", who, items=reviews.disagreements(ctx.workspace.connection()))


def decide(ctx: AnnotationContext, who: Viewer, form: dict) -> None:
    try:
        reviews.decide(ctx.workspace, who.user, str(form.get("person_id", "")), str(form.get("stage", "")),
                       str(form.get("annotator", "")))
    except PermissionError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except workflow.Invalid as exc:
        raise HTTPException(status_code=422, detail=exc.problems) from None


@router.post("/annotate/review", include_in_schema=False)
async def review_decide(ctx: Context, write: Write = Depends(checked_write)):
    await run_in_threadpool(decide, ctx, write.who, write.form)
    return RedirectResponse("/annotate/review", status_code=303)


@router.get("/annotate/export.csv", include_in_schema=False)
def export(ctx: Context, who: Viewer = Depends(needs("export"))):
    cursor = ctx.workspace.connection().execute("SELECT * FROM annotations ORDER BY person_id, stage")
    text = exports.csv_text([d[0] for d in cursor.description], cursor.fetchall())
    return PlainTextResponse(text, media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="annotations.csv"'})


def _status(exc: Exception) -> tuple[int, list[str]]:
    if isinstance(exc, workflow.StaleForm):
        return 409, [str(exc)]
    if isinstance(exc, UserError):  # the workspace cannot take it now (busy, or a full disk)
        return 503, [str(exc)]
    if isinstance(exc, PermissionError):
        return 403, [str(exc)]
    if isinstance(exc, ValueError) and not isinstance(exc, workflow.Invalid):
        return 422, ["the form's version is not a number: reload the page"]
    return 422, exc.problems


def _values(mine: dict) -> dict:
    values = {k: mine.get(k) or "" for k in workflow.FORM_FIELDS}
    for stage in STAGES:
        values[f"{stage}_undetermined"] = stage in (mine.get("undetermined") or [])
        values[f"{stage}_confirmed"] = stage in (mine.get("confirmed") or [])
    values["confidence"] = mine.get("confidence") or "medium"
    return values
