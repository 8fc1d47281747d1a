"""Annotation mode of the web app: queue, evidence, form, review, export (annotate.py stores).

Every write needs a valid token: as `Authorization: Bearer <token>` (API) or as the
session cookie set by logging in with it (pages). Cookie-authenticated writes must also
carry the form's CSRF token and come from this site (Origin/Referer), so another site
cannot make an analyst's browser write. A stale form gets 409 with a clear message.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from urllib.parse import quote, urlparse

import duckdb
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from .. import annotate
from ..careers import STAGES

COOKIE = "tt_token"


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"talent-tracker csrf", hashlib.sha256).hexdigest()[:32]


def router(con: duckdb.DuckDBPyConnection, resolver, templates: Jinja2Templates) -> APIRouter:
    r = APIRouter()

    def cursor():
        return con.cursor()

    def user_of(request: Request, write: bool = False) -> annotate.User:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        by_cookie = token is None
        token = token or request.cookies.get(COOKIE)
        with cursor() as c:
            user = annotate.authenticate(c, token)
        if user is None:
            raise HTTPException(status_code=401, detail="a valid token is needed (talent-tracker users add)")
        if write and by_cookie:
            _same_site(request)
        return user

    def _same_site(request: Request) -> None:
        origin = request.headers.get("origin") or request.headers.get("referer")
        host = request.headers.get("host", "")
        if not origin or urlparse(origin).netloc != host:
            raise HTTPException(status_code=403, detail="cross-site request refused")

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    @r.get("/annotate", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        try:
            user = user_of(request)
        except HTTPException:
            return page(request, "annotate_login.html", user=None)
        with cursor() as c:
            samples = c.execute("""SELECT d.sample_id, d.population_size, count(DISTINCT s.person_id),
                count(DISTINCT u.person_id) FROM sample_designs d JOIN samples s USING (sample_id)
                LEFT JOIN submissions u ON u.person_id = s.person_id GROUP BY ALL ORDER BY 1""").fetchall()
        return page(request, "annotate_home.html", user=user, samples=samples)

    @r.post("/annotate/login", include_in_schema=False)
    async def login(request: Request):
        _same_site(request)
        form = await request.form()
        token = str(form.get("token") or "").strip()
        with cursor() as c:
            user = annotate.authenticate(c, token)
        if user is None:
            return page(request, "annotate_login.html", status=401, user=None, error="That token is not valid.")
        response = RedirectResponse("/annotate", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    @r.post("/annotate/logout", include_in_schema=False)
    def logout(request: Request):
        response = RedirectResponse("/annotate", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @r.get("/annotate/samples/{sample_id}", response_class=HTMLResponse, include_in_schema=False)
    def sample_queue(request: Request, sample_id: str):
        user = user_of(request)
        with cursor() as c:
            rows = annotate.queue(c, sample_id, user.name)
        if not rows:
            raise HTTPException(status_code=404, detail=f"no sample {sample_id!r}")
        done = sum(1 for row in rows if row["entries"])
        return page(request, "annotate_queue.html", user=user, sample_id=sample_id, rows=rows, done=done)

    def evidence(c, person_id: str) -> dict:
        from ..profile import _rows

        person = _rows(c, "SELECT * FROM persons WHERE person_id = ?", [person_id])
        if not person:
            raise HTTPException(status_code=404, detail=f"no person {person_id!r}")
        name = person[0]["display_name"]
        q = quote(name or "")
        return {
            "person": person[0],
            "papers": _rows(c, """SELECT a.venue, a.year, p.title, a.affiliation, a.job_title, a.institution, a.country
                FROM authorships a JOIN papers p USING (venue, year, paper_id) WHERE a.person_id = ?
                ORDER BY a.year DESC, p.title""", [person_id]),
            "coauthors": [r[0] for r in c.execute("""SELECT DISTINCT b.author_name FROM authorships a
                JOIN authorships b ON a.venue = b.venue AND a.year = b.year AND a.paper_id = b.paper_id
                WHERE a.person_id = ? AND b.person_id <> a.person_id ORDER BY 1 LIMIT 40""", [person_id]).fetchall()],
            "facts": _rows(c, "SELECT * FROM careers WHERE person_id = ? ORDER BY stage, source", [person_id]),
            "links": {
                "OpenReview": f"https://openreview.net/search?term={q}&group=all&content=all&source=all",
                "DBLP": f"https://dblp.org/search?q={q}",
                "Google Scholar": f"https://scholar.google.com/scholar?q=%22{q}%22",
                "ORCID": f"https://orcid.org/orcid-search/search?searchQuery={q}",
                "Web": f"https://duckduckgo.com/?q=%22{q}%22+curriculum+vitae",
            },
        }

    @r.get("/annotate/person/{person_id}", response_class=HTMLResponse, include_in_schema=False)
    def person_form(request: Request, person_id: str, sample: str = "", saved: int = 0):
        user = user_of(request)
        with cursor() as c:
            context = evidence(c, person_id)
            mine = annotate.submission(c, person_id, user.name) or {}
        return page(request, "annotate_person.html", user=user, sample=sample, saved=saved, mine=mine,
                    values=_values(mine), version=mine.get("version", 0), stages=STAGES,
                    csrf=csrf_for(request.cookies.get(COOKIE, "")), **context)

    @r.post("/annotate/person/{person_id}", response_class=HTMLResponse, include_in_schema=False)
    async def person_save(request: Request, person_id: str):
        user = user_of(request, write=True)
        form = dict(await request.form())
        if not hmac.compare_digest(str(form.get("csrf", "")), csrf_for(request.cookies.get(COOKIE, ""))):
            raise HTTPException(status_code=403, detail="this form is not from this site (CSRF token missing)")
        sample = str(form.get("sample_id") or "")
        try:
            version = int(form.get("version") or 0)
            with cursor() as c:
                annotate.save(c, user, person_id, sample or None, form, version, resolver)
        except (annotate.StaleForm, annotate.Invalid, PermissionError, duckdb.TransactionException) as exc:
            status, problems = _status(exc)
            with cursor() as c:
                context = evidence(c, person_id)
            return page(request, "annotate_person.html", status=status, user=user, sample=sample, saved=0,
                        mine={}, values=form, version=form.get("version", 0), stages=STAGES, problems=problems,
                        csrf=csrf_for(request.cookies.get(COOKIE, "")), **context)
        return RedirectResponse(f"/annotate/person/{quote(person_id)}?sample={quote(sample)}&saved=1", status_code=303)

    @r.get("/api/annotations/{person_id}", summary="Your entry for a person, with its version (Bearer token)")
    def api_get(request: Request, person_id: str):
        user = user_of(request)
        with cursor() as c:
            mine = annotate.submission(c, person_id, user.name)
        return JSONResponse(mine or {"person_id": person_id, "annotator": user.name, "version": 0},
                            headers={"Cache-Control": "no-store"})

    @r.post("/api/annotations/{person_id}", summary="Save an annotator's entry for a person (Bearer token)")
    async def api_save(request: Request, person_id: str):
        user = user_of(request, write=True)
        body = await request.json()
        try:
            with cursor() as c:
                version = annotate.save(c, user, person_id, body.get("sample_id"), body, int(body.get("version", 0)),
                                        resolver)
        except (annotate.StaleForm, annotate.Invalid, PermissionError, duckdb.TransactionException) as exc:
            status, problems = _status(exc)
            return JSONResponse({"detail": problems}, status_code=status)
        return {"person_id": person_id, "annotator": user.name, "version": version}

    @r.get("/api/institutions", summary="Institution autocomplete (registry and world universities)")
    def institutions(q: str = "", limit: int = 20):
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
    def review(request: Request):
        user = user_of(request)
        if not user.may("review"):
            raise HTTPException(status_code=403, detail=f"{user.name} may not review")
        with cursor() as c:
            items = annotate.disagreements(c)
        return page(request, "annotate_review.html", user=user, items=items,
                    csrf=csrf_for(request.cookies.get(COOKIE, "")))

    @r.post("/annotate/review", include_in_schema=False)
    async def review_decide(request: Request):
        user = user_of(request, write=True)
        form = dict(await request.form())
        if not hmac.compare_digest(str(form.get("csrf", "")), csrf_for(request.cookies.get(COOKIE, ""))):
            raise HTTPException(status_code=403, detail="this form is not from this site (CSRF token missing)")
        try:
            with cursor() as c:
                annotate.decide(c, user, str(form["person_id"]), str(form["stage"]), str(form["annotator"]))
        except PermissionError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        except annotate.Invalid as exc:
            raise HTTPException(status_code=422, detail=exc.problems) from None
        return RedirectResponse("/annotate/review", status_code=303)

    @r.get("/annotate/export.csv", include_in_schema=False)
    def export(request: Request):
        user = user_of(request)
        if not user.may("export"):
            raise HTTPException(status_code=403, detail=f"{user.name} may not export")
        with cursor() as c:
            result = c.execute("SELECT * FROM annotations ORDER BY person_id, stage")
            names = [d[0] for d in result.description]
            rows = result.fetchall()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(names)
        writer.writerows(rows)
        return PlainTextResponse(buffer.getvalue(), media_type="text/csv")

    return r


def _status(exc: Exception) -> tuple[int, list[str]]:
    if isinstance(exc, annotate.StaleForm):
        return 409, [str(exc)]
    if isinstance(exc, duckdb.TransactionException):
        return 409, ["someone saved this person at the same moment: reload and save again"]
    if isinstance(exc, PermissionError):
        return 403, [str(exc)]
    return 422, exc.problems


def _values(mine: dict) -> dict:
    values = {k: mine.get(k) or "" for k in annotate.FORM_FIELDS}
    for stage in STAGES:
        values[f"{stage}_undetermined"] = stage in (mine.get("undetermined") or [])
    values["confidence"] = mine.get("confidence") or "medium"
    return values
