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
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from talent_tracker.annotations import AnnotationFields, workflow
from talent_tracker.annotations import review as reviews
from talent_tracker.errors import UserError
from talent_tracker.figures.person import person_record
from talent_tracker.limits import MAX_FORM_NAME, MAX_FORM_TEXT, MAX_QUERY
from talent_tracker.stages import STAGES
from talent_tracker.store import exports, reading
from talent_tracker.web.access import Access, Viewer
from talent_tracker.web.security import SESSION_SECONDS


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


def router(tracker: reading.Tracker, access: Access, resolver, templates: Jinja2Templates, notice: str | None = None) -> APIRouter:
    """The annotation routes; `notice`: a warning every annotation page shows (a workspace
    that was missing when the server started)."""
    r = APIRouter()
    workspace, sessions = access.workspace, access.sessions

    def viewer(request: Request) -> Viewer:
        found = access.identify(request)
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

    async def checked_write(request: Request) -> Write:
        """Every write's one guard: a known user; and for a cookie session (which a browser
        sends on any site's behalf) a request from this site carrying the form's CSRF token
        (a form field, or the X-CSRF-Token header for JSON)."""
        who = await run_in_threadpool(viewer, request)
        is_form = request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data"))
        form = await read_form(request) if is_form else {}
        if who.session is not None:
            same_site(request)
            if not sessions.csrf_ok(who.session, form.get("csrf") or request.headers.get("x-csrf-token")):
                raise HTTPException(status_code=403, detail="this form is not from this site (CSRF token missing)")
        return Write(who, form)

    def needs(capability: str):
        """A dependency: the signed-in user, who must be allowed `capability` (review, export)."""
        def allowed(who: Viewer = Depends(viewer)) -> Viewer:
            if not who.user.may(capability):
                raise HTTPException(status_code=403, detail=f"{who.user.name} may not {capability}")
            return who
        return allowed

    def page(request: Request, name: str, who: Viewer | None, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {
            "user": who.user if who else None, "csrf": sessions.csrf(who.session) if who else "",
            "blind": access.blind, "notice": notice, **context}, status_code=status)

    @r.get("/annotate", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        who = access.identify(request)
        if who is None:
            return page(request, "annotate_login.html", None)
        own = access.blind_for(who)
        samples = workflow.samples_overview(workspace.connection(), who.user.name if own else None)
        return page(request, "annotate_home.html", who, samples=samples, own=own)

    @r.post("/annotate/login", include_in_schema=False)
    async def login(request: Request):
        same_site(request)
        form = await read_form(request)
        token = str(form.get("token") or "").strip()
        user = await run_in_threadpool(workflow.authenticate, workspace.connection(), token)
        if user is None:
            return page(request, "annotate_login.html", None, status=401, error="That token is not valid.")
        found = await run_in_threadpool(workflow.user_named, workspace.connection(), user.name)
        cookie = await run_in_threadpool(sessions.issue, user.name, found[1])
        response = RedirectResponse("/annotate", status_code=303)
        response.set_cookie(sessions.cookie, cookie, httponly=True, samesite="strict", max_age=SESSION_SECONDS)
        return response

    @r.post("/annotate/logout", include_in_schema=False)
    async def logout(write: Write = Depends(checked_write)):
        if write.who.session is not None:
            # ended here, not only in this browser: a copy of the cookie is refused too
            await run_in_threadpool(sessions.end, write.who.session)
        response = RedirectResponse("/annotate", status_code=303)
        response.delete_cookie(sessions.cookie)
        return response

    @r.get("/annotate/samples/{sample_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def sample_queue(request: Request, sample_id: str, who: Viewer = Depends(viewer)):
        with tracker.reader() as con:
            names = dict(con.execute("SELECT person_id, display_name FROM persons WHERE person_id IN "
                                     "(SELECT person_id FROM samples WHERE sample_id = ?)", [sample_id]).fetchall())
        rows = workflow.queue(workspace.connection(), sample_id, who.user.name, names)
        if not rows:
            raise HTTPException(status_code=404, detail=f"no sample {sample_id[:100]!r}")
        if access.blind_for(who):
            for row in rows:
                row["entries"] = int(row["mine"])
        done = sum(1 for row in rows if row["entries"])
        return page(request, "annotate_queue.html", who, sample_id=sample_id, rows=rows, done=done)

    def evidence(person_id: str, who: Viewer) -> dict:
        with tracker.reader() as con:
            hidden = ("annotation",) if access.blind_for(who) else ()
            record = person_record(con, person_id, hidden)
            if record is None:
                raise HTTPException(status_code=404, detail=f"no person {person_id[:100]!r}")
            context = {
                "person": record["person"],
                "papers": record["papers"],
                "coauthors": [r[0] for r in con.execute("""SELECT DISTINCT b.author_name FROM authorships a
                    JOIN authorships b ON a.venue = b.venue AND a.year = b.year AND a.paper_id = b.paper_id
                    WHERE a.person_id = ? AND b.person_id <> a.person_id ORDER BY 1 LIMIT 40""",
                                                     [person_id]).fetchall()],
                "facts": record["careers"],
                # per stage, the inferred value the analyst may confirm (an act recorded as theirs)
                "inferred": {stage: fact for (_, stage), fact in workflow.inferred_values(con, [person_id]).items()},
            }
        q = quote(record["person"]["display_name"] or "")
        context["links"] = {
            "OpenReview": f"https://openreview.net/search?term={q}&group=all&content=all&source=all",
            "DBLP": f"https://dblp.org/search?q={q}",
            "Google Scholar": f"https://scholar.google.com/scholar?q=%22{q}%22",
            "ORCID": f"https://orcid.org/orcid-search/search?searchQuery={q}",
            "Web": f"https://duckduckgo.com/?q=%22{q}%22+curriculum+vitae",
        }
        return context

    def inferred_of(person_id: str) -> dict[str, dict]:
        with tracker.reader(with_workspace=False) as con:
            return {stage: fact for (_, stage), fact in workflow.inferred_values(con, [person_id]).items()}

    def known_person(person_id: str) -> bool:
        with tracker.reader(with_workspace=False) as con:
            return con.execute("SELECT 1 FROM persons WHERE person_id = ?", [person_id]).fetchone() is not None

    @r.get("/annotate/person/{person_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def person_form(request: Request, person_id: str, who: Viewer = Depends(viewer), sample: str = "", saved: int = 0):
        context = evidence(person_id, who)
        mine = workflow.submission(workspace.connection(), person_id, who.user.name) or {}
        return page(request, "annotate_person.html", who, sample=sample[:200], saved=saved, mine=mine,
                    values=_values(mine), version=mine.get("version", 0), stages=STAGES, **context)

    def save_form(request: Request, person_id: str, who: Viewer, form: dict):
        sample = str(form.get("sample_id") or "")[:200]
        try:
            version = int(form.get("version") or 0)
            workflow.save(workspace, who.user, person_id, sample or None, form, version, resolver,
                          known_person(person_id), inferred_of(person_id))
        except (workflow.StaleForm, workflow.Invalid, PermissionError, ValueError, UserError) as exc:
            status, problems = _status(exc)
            return page(request, "annotate_person.html", who, status=status, sample=sample, saved=0, mine={},
                        values=form, version=form.get("version", 0), stages=STAGES, problems=problems,
                        **evidence(person_id, who))
        return RedirectResponse(f"/annotate/person/{quote(person_id)}?sample={quote(sample)}&saved=1",
                                status_code=303)

    @r.post("/annotate/person/{person_id:path}", response_class=HTMLResponse, include_in_schema=False)
    async def person_save(request: Request, person_id: str, write: Write = Depends(checked_write)):
        return await run_in_threadpool(save_form, request, person_id, write.who, write.form)

    # before the entry's own route, whose `{person_id:path}` would also take ".../history"
    @r.get("/api/annotations/{person_id:path}/history",
           summary="Every change to a person's annotations, oldest first (reviewers; Bearer token)")
    def api_history(person_id: str, who: Viewer = Depends(needs("review"))):
        return JSONResponse(workflow.history(workspace.connection(), person_id), headers={"Cache-Control": "no-store"})

    @r.get("/api/annotations/{person_id:path}", summary="Your entry for a person, with its version (Bearer token)")
    def api_get(person_id: str, who: Viewer = Depends(viewer)):
        mine = workflow.submission(workspace.connection(), person_id, who.user.name)
        return JSONResponse(mine or {"person_id": person_id, "annotator": who.user.name, "version": 0},
                            headers={"Cache-Control": "no-store"})

    @r.post("/api/annotations/{person_id:path}", summary="Save your entry for a person (Bearer token)",
            responses={409: {"description": "Saved again since this version was read"},
                       413: {"description": "Body too large"}, 422: {"description": "Invalid entry"},
                       503: {"description": "The workspace cannot take the write now (busy, or a full disk)"}})
    def api_save(person_id: str, entry: Entry, write: Write = Depends(checked_write)):
        who = write.who
        form = entry.model_dump()
        try:
            version = workflow.save(workspace, who.user, person_id, entry.sample_id, form, entry.version, resolver,
                                    known_person(person_id), inferred_of(person_id))
        except (workflow.StaleForm, workflow.Invalid, PermissionError) as exc:
            status, problems = _status(exc)
            return JSONResponse({"detail": problems}, status_code=status)
        return {"person_id": person_id, "annotator": who.user.name, "version": version}

    @r.get("/api/annotate/institutions", summary="Institution autocomplete for the annotation form (registry and world universities)")
    def institutions(q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
                     limit: Annotated[int, Query(ge=1, le=50)] = 20):
        needle = q.strip().casefold()
        if len(needle) < 2:
            return []
        found = []
        for inst in resolver.by_id.values():
            names = (inst.name, *inst.aliases)
            if any(needle in n.casefold() for n in names):
                found.append({"institution_id": inst.institution_id, "name": inst.name, "country": inst.country,
                              "sector": inst.sector})
                if len(found) >= limit:
                    break
        return found

    @r.get("/annotate/review", response_class=HTMLResponse, include_in_schema=False)
    def review(request: Request, who: Viewer = Depends(needs("review"))):
        return page(request, "annotate_review.html", who, items=reviews.disagreements(workspace.connection()))

    def decide(who: Viewer, form: dict) -> None:
        try:
            reviews.decide(workspace, who.user, str(form.get("person_id", "")), str(form.get("stage", "")),
                            str(form.get("annotator", "")))
        except PermissionError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        except workflow.Invalid as exc:
            raise HTTPException(status_code=422, detail=exc.problems) from None

    @r.post("/annotate/review", include_in_schema=False)
    async def review_decide(write: Write = Depends(checked_write)):
        await run_in_threadpool(decide, write.who, write.form)
        return RedirectResponse("/annotate/review", status_code=303)

    @r.get("/annotate/export.csv", include_in_schema=False)
    def export(who: Viewer = Depends(needs("export"))):
        cursor = workspace.connection().execute("SELECT * FROM annotations ORDER BY person_id, stage")
        text = exports.csv_text([d[0] for d in cursor.description], cursor.fetchall())
        return PlainTextResponse(text, media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="annotations.csv"'})

    return r


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
