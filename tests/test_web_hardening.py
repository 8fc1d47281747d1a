"""The web server and the workspace under pressure: blind annotation hides analysts' values
from every path an annotator or a passer-by can reach; signing out ends a session on the
server; a cookie this workspace did not issue is refused; ids holding `/` work in every
route; a full disk is a 503 saying so (and a one-line error for `users add`), never a
half-written save; a database served without its workspace says so.

Fast tier: a synthetic NeurIPS 2020 (minidata.edition, with published figures) and an
ICLR 2021 whose OpenReview ids hold `/`, in-process (TestClient, CliRunner) except where a
real process is the point (uvicorn decoding `%2F`, a file-size limit, `serve`'s warning)."""

from __future__ import annotations

import csv
import json
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from talent_tracker.build.pipeline import build
from talent_tracker.store.workspace import SCHEMA_VERSION, open_workspace, path_for
from talent_tracker.web.access import HIDDEN
from talent_tracker.web.app import create_app
from talent_tracker.web.security import CSP, SecurityHeaders

import minidata
from conftest import cli, copy_db, serving

BASE = "http://127.0.0.1"
SLASHED = "~Ana/Ortiz1"  # an OpenReview profile id holding a slash: the person's id
# ICLR 2021 as OpenReview lists it, with per-author ids
ICLR = [{"id": "slash00001", "title": "Paths With Slashes", "track": "main", "status": "Poster",
         "author": "Ana Ortiz;Bo Chen", "authorids": f"{SLASHED};~Bo_Chen1",
         "aff": "Stanford University;Tsinghua University", "aff_domain": "stanford.edu;tsinghua.edu.cn",
         "position": "PhD student;Full Professor"}]
ORIGINS = ("CN", "US", "CN", "IN", "DE")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> dict:
    """The database with two samples (NeurIPS 2020, 60 people, 30 of them with an imported
    origin; ICLR 2021, both its people) and four users."""
    root = minidata.edition(tmp_path_factory.mktemp("hardening"))
    (root / "paperlists" / "iclr").mkdir()
    (root / "paperlists" / "iclr" / "iclr2021.json").write_text(json.dumps(ICLR), encoding="utf-8")
    db = root / "h.duckdb"
    build(root, db)
    sheet = root / "sheet.csv"
    for venue, years, size, output in (("neurips", "2020", 60, sheet), ("iclr", "2021", 2, root / "iclr.csv")):
        drawn = cli("sample", "--db", db, "--venue", venue, "--years", years, "--size", size, "--seed", 3,
                    "--output", output)
        assert drawn.returncode == 0, drawn.stderr
    with sheet.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows[:30]):
        row["origin_country"] = ORIGINS[i % len(ORIGINS)]
    with sheet.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = cli("careers", "import", sheet, "--db", db)
    assert imported.returncode == 0, imported.stderr
    tokens = {name: cli("users", "add", name, "--role", role, "--db", db).stdout.strip()
              for name, role in (("ann", "annotator"), ("ben", "annotator"), ("rev", "reviewer"), ("adm", "admin"))}
    return {"db": db, "tokens": tokens, "origins": [r["person_id"] for r in rows[:30]],
            "others": [r["person_id"] for r in rows[30:]],
            "sample": next(r[0] for r in sqlite3.connect(path_for(db)).execute(
                "SELECT sample_id FROM sample_designs WHERE venues LIKE '%neurips%'"))}


@pytest.fixture
def db(prepared, tmp_path) -> Path:
    return copy_db(prepared["db"], tmp_path / "db.duckdb")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client: TestClient, token: str) -> dict:
    """The Cookie header of a new session (the client itself keeps no cookie: each request
    says who makes it)."""
    response = client.post("/annotate/login", data={"token": token}, headers={"Origin": BASE}, follow_redirects=False)
    assert response.status_code == 303, response.text
    (name, value), = response.cookies.items()
    client.cookies.clear()
    return {"Cookie": f"{name}={value}"}


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


def save(client: TestClient, headers: dict, person: str, **fields) -> httpx.Response:
    url = f"/api/annotations/{quote(person, safe='')}"
    version = client.get(url, headers=headers).json()["version"]
    return client.post(url, headers=headers, json={"version": version, **fields})


def rows_of(client: TestClient, headers: dict, name: str) -> dict:
    answer = client.get(f"/api/analyses/{name}", params={"venue": "neurips", "years": "2020"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- 1. blind annotation ----------------------------------------------------------------------

@pytest.mark.fast
def test_blind_mode_hides_settled_values_from_every_path(prepared, db):
    tokens = prepared["tokens"]
    person = prepared["others"][0]  # drawn, with no entry yet
    with TestClient(create_app(db, annotate=True, blind=True), base_url=BASE) as client:
        ann = sign_in(client, tokens["ann"])
        # two annotators agree: settled, like the imported origins
        for name in ("ann", "ben"):
            assert save(client, bearer(tokens[name]), person, work_country="FR").status_code == 200
        viewers = {"anonymous": {}, "annotator's cookie": ann, "annotator's token": bearer(tokens["ben"])}
        seeing = {"reviewer": bearer(tokens["rev"]), "admin's cookie": sign_in(client, tokens["adm"])}

        for who, headers in seeing.items():
            origins = rows_of(client, headers, "origin_countries")
            assert origins["rows"] and origins["method"] != "unavailable", who
            assert client.get("/api/estimates", params={"by": "origin", "years": "2020"},
                              headers=headers).status_code == 200, who
            samples = client.get("/api/samples", headers=headers).json()["rows"]
            assert {r["sample_id"]: r["annotated"] for r in samples}[prepared["sample"]] == 31, who
            facts = client.get(f"/api/persons/{quote(person, safe='')}", headers=headers).json()["careers"]
            assert {f["source"] for f in facts} >= {"annotation"}, who

        for who, headers in viewers.items():
            for name in ("origin_countries", "graduate_countries", "flows", "retention", "net_flows", "us_origin_mix"):
                hidden = rows_of(client, headers, name)
                assert hidden["rows"] == [] and hidden["notes"] == [HIDDEN], (who, name)
                assert hidden["title"] and hidden["method"] == "unavailable", (who, name)
            as_csv = client.get("/api/analyses/origin_countries", params={"years": "2020", "format": "csv"},
                                headers=headers)
            assert as_csv.status_code == 200 and "CN" not in as_csv.text, who
            # figures the build alone makes stay
            assert rows_of(client, headers, "work_countries")["rows"], who
            estimate = client.get("/api/estimates", params={"by": "origin", "years": "2020"}, headers=headers)
            assert estimate.status_code == 403 and estimate.json()["detail"] == HIDDEN, who
            profile = client.get("/api/countries/US", params={"years": "2020"}, headers=headers).json()
            assert profile["people"] and profile["origin_mix"]["rows"] == [], who
            compared = client.get("/api/compare", headers=headers).json()["figures"]
            assert all(f["tracker"] is None and f["status"] == HIDDEN for f in compared
                       if f["measure"] != "work country"), who
            assert any(f["tracker"] is not None for f in compared if f["measure"] == "work country"), who
            samples = client.get("/api/samples", headers=headers).json()["rows"]
            assert samples and all(r["annotated"] is None for r in samples), who
            facts = client.get(f"/api/persons/{quote(person, safe='')}", headers=headers).json()["careers"]
            assert facts and "annotation" not in {f["source"] for f in facts}, who

        # the annotation pages: an annotator counts their own entries only, the reviewer everyone's
        home = client.get("/annotate", headers=ann).text
        assert "with your entry" in home and f">{prepared['sample']}</a></td><td>60</td><td>1</td>" in home
        reviewer_home = client.get("/annotate", headers=seeing["admin's cookie"]).text
        assert f">{prepared['sample']}</a></td><td>60</td><td>31</td>" in reviewer_home


@pytest.mark.fast
def test_without_blind_nothing_is_hidden(prepared, db):
    with TestClient(create_app(db, annotate=True), base_url=BASE) as client:
        for headers in ({}, bearer(prepared["tokens"]["ann"])):
            assert rows_of(client, headers, "origin_countries")["rows"]
            assert client.get("/api/estimates", params={"by": "origin", "years": "2020"},
                              headers=headers).status_code == 200
            samples = client.get("/api/samples", headers=headers).json()["rows"]
            assert {r["sample_id"]: r["annotated"] for r in samples}[prepared["sample"]] == 30
    # nor on a server without annotation, --blind or not
    with TestClient(create_app(db, blind=True), base_url=BASE) as client:
        assert rows_of(client, {}, "origin_countries")["rows"]


# --- 2 and 3. sessions are the server's ------------------------------------------------------

@pytest.mark.fast
def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(prepared, db):
    with TestClient(create_app(db, annotate=True), base_url=BASE) as client:
        cookie = sign_in(client, prepared["tokens"]["rev"])
        copied = dict(cookie)
        page = client.get("/annotate", headers=cookie)
        assert page.status_code == 200 and "Sign out" in page.text
        assert client.get("/annotate/review", headers=copied).status_code == 200
        out = client.post("/annotate/logout", data={"csrf": csrf_of(page.text)},
                          headers={**cookie, "Origin": BASE}, follow_redirects=False)
        assert out.status_code == 303
        # the browser forgot it, and the server refuses any copy of it
        assert client.get("/annotate/review", headers=copied).status_code == 401
        assert 'id="token"' in client.get("/annotate", headers=copied).text
    with sqlite3.connect(path_for(db)) as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


@pytest.mark.fast
def test_a_cookie_this_workspace_did_not_issue_is_refused(prepared, db, tmp_path):
    """Cookies are not scoped by port: another server on 127.0.0.1 can set this one's. A
    well-signed cookie this workspace never issued, or another workspace's, is no session."""
    other = copy_db(prepared["db"], tmp_path / "other.duckdb")
    with sqlite3.connect(path_for(other)) as con:  # another tracker: a workspace of its own
        con.execute("UPDATE meta SET value = ? WHERE key = 'session_secret'", ["ab" * 32])
    token = prepared["tokens"]["rev"]
    with TestClient(create_app(db, annotate=True), base_url=BASE) as ours, \
            TestClient(create_app(other, annotate=True), base_url=BASE) as theirs:
        mine, foreign = sign_in(ours, token), sign_in(theirs, token)
        name, value = mine["Cookie"].split("=", 1)
        their_name, their_value = foreign["Cookie"].split("=", 1)
        assert name != their_name  # two trackers on one host keep their own sessions
        assert ours.get("/annotate/review", headers=mine).status_code == 200
        assert ours.get("/annotate/review", headers={"Cookie": f"{name}={their_value}"}).status_code == 401
        # signed with this workspace's own secret, naming a real user and their token, yet never issued
        secret = bytes.fromhex(sqlite3.connect(path_for(db)).execute(
            "SELECT value FROM meta WHERE key = 'session_secret'").fetchone()[0])
        serializer = URLSafeTimedSerializer(secret, salt="talent-tracker session")
        fields = serializer.loads(value)
        planted = serializer.dumps({**fields, "s": "0" * 32})
        assert ours.get("/annotate/review", headers={"Cookie": f"{name}={planted}"}).status_code == 401
        assert ours.get("/annotate/review", headers={"Cookie": f"{name}={serializer.dumps(fields)}"}
                        ).status_code == 200  # the same fields with the issued id: the real session
        # sessions past their time are forgotten at the next sign-in
        with sqlite3.connect(path_for(db)) as con:
            con.execute("INSERT INTO sessions VALUES ('old', 'rev', '2020-01-01', '2020-01-02')")
        sign_in(ours, token)
        with sqlite3.connect(path_for(db)) as con:
            assert con.execute("SELECT count(*) FROM sessions WHERE session_id = 'old'").fetchone()[0] == 0
            assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 2


@pytest.mark.fast
def test_a_workspace_of_schema_2_gains_its_sessions_and_keeps_its_work(prepared, db):
    with sqlite3.connect(path_for(db)) as con:  # as schema 2 left it
        con.execute("DROP TABLE sessions")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        before = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                  for t in ("users", "submissions", "annotations", "audit_log", "samples", "sample_designs")}
    con.close()
    open_workspace(db).close()
    with sqlite3.connect(path_for(db)) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert SCHEMA_VERSION == 3 and con.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
        for table, rows in before.items():
            assert con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() == rows, table
    con.close()
    with TestClient(create_app(db, annotate=True), base_url=BASE) as client:
        assert client.get("/annotate/review", headers=sign_in(client, prepared["tokens"]["rev"])).status_code == 200


# --- 4. ids holding a slash ------------------------------------------------------------------------

@pytest.mark.fast
def test_ids_holding_a_slash_work_in_every_route(prepared, db):
    tokens = prepared["tokens"]
    encoded = quote(SLASHED, safe="")
    assert encoded == "~Ana%2FOrtiz1"
    with TestClient(create_app(db, annotate=True), base_url=BASE) as client:
        listed = client.get("/api/persons", params={"q": "Ana Ortiz"}).json()["rows"]
        assert [r["person_id"] for r in listed] == [SLASHED] and listed[0]["url"] == f"/api/persons/{encoded}"
        for path in (listed[0]["url"], f"/api/persons/{SLASHED}"):
            person = client.get(path)
            assert person.status_code == 200 and person.json()["person"]["person_id"] == SLASHED, path
        assert client.get("/api/persons/~Ana%2FNobody1").status_code == 404
        # the queue links to the form, which saves and comes back to itself
        cookie = sign_in(client, tokens["ann"])
        iclr = next(r[0] for r in sqlite3.connect(path_for(db)).execute(
            "SELECT sample_id FROM sample_designs WHERE venues LIKE '%iclr%'"))
        queue = client.get(f"/annotate/samples/{quote(iclr, safe='')}", headers=cookie).text
        link = next(part.split('"')[0] for part in queue.split('href="')[1:] if "Ortiz" in part)
        form = client.get(link.replace("&amp;", "&"), headers=cookie)
        assert form.status_code == 200 and "Ana Ortiz" in form.text and f"/annotate/person/{SLASHED}" in form.text
        saved = client.post(f"/annotate/person/{encoded}", headers={**cookie, "Origin": BASE}, follow_redirects=False,
                            data={"csrf": csrf_of(form.text), "version": "0", "origin_country": "ES"})
        assert saved.status_code == 303, saved.text
        again = client.get(saved.headers["location"], headers=cookie)
        assert again.status_code == 200 and 'id="saved"' in again.text and 'value="ES"' in again.text
        # the JSON twin, encoded or not
        for path in (f"/api/annotations/{encoded}", f"/api/annotations/{SLASHED}"):
            entry = client.get(path, headers=bearer(tokens["ann"])).json()
            assert (entry["person_id"], entry["version"], entry["origin_country"]) == (SLASHED, 1, "ES"), path
        assert save(client, bearer(tokens["ben"]), SLASHED, origin_country="PT").json()["version"] == 1
        history = client.get(f"/api/annotations/{encoded}/history", headers=bearer(tokens["rev"]))
        assert [(h["annotator"], h["after"]) for h in history.json()] == [("ann", "ES"), ("ben", "PT")]
        assert client.get(f"/api/annotations/{SLASHED}/history", headers=bearer(tokens["ann"])).status_code == 403
        # a reviewer settles it from the review page, whose link leads to the person too
        review = client.get("/annotate/review", headers=sign_in(client, tokens["rev"]))
        assert f'href="/annotate/person/{SLASHED}"' in review.text


@pytest.mark.fast
def test_a_real_server_decodes_an_encoded_slash(prepared, db):
    with serving(db) as base:
        person = httpx.get(f"{base}/api/persons/{quote(SLASHED, safe='')}")
        assert person.status_code == 200 and person.json()["person"]["person_id"] == SLASHED


# --- 5. a full disk ------------------------------------------------------------------------------------

def in_worker(client: TestClient, work):
    """Run `work` in the thread that serves the client's requests: sequential requests all
    run in one worker thread of the app's event loop, holding its own workspace connection."""
    return client.portal.call(anyio.to_thread.run_sync, work)


@pytest.mark.fast
def test_a_full_disk_is_a_503_saying_so_and_keeps_nothing(prepared, db):
    tokens = prepared["tokens"]
    person = prepared["origins"][5]
    app = create_app(db, annotate=True)
    workspace = app.state.workspace
    with TestClient(app, base_url=BASE) as client:
        cookie = sign_in(client, tokens["ann"])
        form = client.get(f"/annotate/person/{quote(person, safe='')}", headers=cookie).text

        def counts() -> tuple:
            with sqlite3.connect(path_for(db)) as con:
                return (*tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("submissions", "audit_log", "annotations")), con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

        before = counts()
        # SQLite answers as on a full disk once the file may not grow (SQLITE_FULL)
        in_worker(client, lambda: workspace.connection().execute(
            "PRAGMA max_page_count = 1").fetchone())  # raised to the pages it has: no room for more
        full = save(client, bearer(tokens["ann"]), person, origin_country="JP", notes="n" * 3_000)
        assert full.status_code == 503, full.text
        assert "could not be written (database or disk is full)" in full.json()["detail"]
        assert full.headers["content-security-policy"] == CSP and full.headers["x-frame-options"] == "DENY"
        page = client.post(f"/annotate/person/{quote(person, safe='')}", headers={**cookie, "Origin": BASE},
                           data={"csrf": csrf_of(form), "version": "0", "origin_country": "JP", "notes": "m" * 3_000})
        assert page.status_code == 503 and "database or disk is full" in page.text and 'value="JP"' in page.text
        assert page.headers["content-security-policy"] == CSP
        assert counts() == before  # nothing half-written
        # room again: the same server saves without a restart
        in_worker(client, lambda: workspace.connection().execute("PRAGMA max_page_count = 1073741823").fetchone())
        assert save(client, bearer(tokens["ann"]), person, origin_country="JP", notes="n" * 3_000).status_code == 200


@pytest.mark.fast
def test_users_add_on_a_workspace_that_cannot_be_written_is_one_line(prepared, db):
    """A real process whose files may not grow past 64 bytes: the workspace's next write
    fails in SQLite, which must be one line and exit 2, and leave no user behind."""
    holder = sqlite3.connect(path_for(db))  # keeps the workspace's shared memory, as a server would
    holder.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.RLIM_INFINITY))

    exe = shutil.which("talent-tracker", path=str(Path(sys.executable).parent))
    ran = subprocess.run([exe, "users", "add", "zoe", "--db", str(db)], capture_output=True, text=True,
                         preexec_fn=limited, timeout=120)
    assert ran.returncode == 2 and ran.stdout == "", (ran.returncode, ran.stdout, ran.stderr)
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert "the workspace could not be written (disk I/O error)" in ran.stderr
    assert holder.execute("SELECT count(*) FROM users WHERE name = 'zoe'").fetchone() == (0,)
    holder.close()
    assert cli("users", "add", "zoe", "--db", db).returncode == 0  # and with room, it works


@pytest.mark.fast
def test_an_error_no_handler_answers_still_carries_the_security_headers():
    def broken(request):
        raise RuntimeError("a bug")

    app = Starlette(routes=[Route("/broken", broken)], middleware=[Middleware(SecurityHeaders)])
    response = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert response.status_code == 500 and response.text == "Internal Server Error"
    assert response.headers["content-security-policy"] == CSP and response.headers["x-frame-options"] == "DENY"


# --- 6. a database served without its workspace ----------------------------------------------------

@pytest.mark.fast
def test_a_database_without_its_workspace_is_served_with_a_warning(prepared, db, tmp_path):
    path_for(db).unlink()
    app = create_app(db)
    assert "is missing" in app.state.workspace_warning and "no annotations, samples or users" in \
        app.state.workspace_warning
    assert not path_for(db).exists()  # the dashboard alone makes none
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/api/samples").json()["rows"] == []
    annotating = create_app(db, annotate=True)
    assert "a new, empty one is made" in annotating.state.workspace_warning and path_for(db).exists()
    with TestClient(annotating, base_url=BASE) as client:
        login = client.get("/annotate").text
        assert 'id="notice"' in login and "is missing" in login
    # `serve` says so on its first line of trouble; with the workspace in place, nothing
    moved = copy_db(prepared["db"], tmp_path / "moved.duckdb")
    path_for(moved).unlink()
    log = tmp_path / "serve.log"
    with serving(moved, log=log):
        pass
    warned = [line for line in log.read_text().splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "moved.workspace.sqlite is missing" in warned[0], log.read_text()
    with serving(prepared["db"], log=log):
        pass
    assert "warning:" not in log.read_text()
