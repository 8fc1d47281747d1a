"""The web layer against a real server: headers, Host check, body caps, malformed
requests, signed sessions, blind annotation, formula-safe CSV, offline API docs; and
data that looks like markup or formulas, through build, summary, exports and sheets.

All on a tiny synthetic conference (no real data needed: the fast tier runs it), but
the pages in a browser."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from talent_tracker.store.workspace import path_for
from talent_tracker.web.security import CSP, SESSION_SECONDS

from conftest import cli, one, query, serving

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\tTAB"]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """A tiny conference whose names, titles, statuses and affiliations are formulas and markup."""
    root = tmp_path_factory.mktemp("evil")
    (root / "paperlists" / "nips").mkdir(parents=True)
    papers = [{"title": formula, "author": f"{formula[:20]} Person;Ada [bold]Lovelace[/]", "status": "Poster",
               "id": f"e{i}", "aff": f"{formula};University of Oxford"} for i, formula in enumerate(FORMULAS)]
    papers.append({"title": "[red]not markup[/]", "author": "Grace Hopper", "status": "[/]", "id": "m1"})
    (root / "paperlists" / "nips" / "nips2030.json").write_text(json.dumps(papers))
    db = root / "evil.duckdb"
    result = cli("build", "--data", root / "paperlists", "--db", db)
    assert result.returncode == 0, result.stderr
    assert "unknown status '[/]'" in result.stdout and "Traceback" not in result.stderr
    return db


@pytest.fixture(scope="module")
def served(hostile_db):
    sheet = hostile_db.parent / "sheet.csv"
    assert cli("sample", "--db", hostile_db, "--venue", "neurips", "--years", "2030", "--size", "3",
               "--output", sheet).returncode == 0
    tokens = {name: cli("users", "add", name, "--role", role, "--db", hostile_db).stdout.strip()
              for name, role in (("ann", "annotator"), ("ben", "annotator"), ("rev", "reviewer"), ("adm", "admin"))}
    with serving(hostile_db, "--annotate", "--blind") as base:  # the curated registry alone: no real data
        yield {"base": base, "tokens": tokens, "db": hostile_db, "sheet": sheet,
               "people": [r[0] for r in query(hostile_db, "SELECT DISTINCT person_id FROM samples ORDER BY 1")]}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(base: str, token: str) -> dict:
    response = httpx.post(f"{base}/annotate/login", data={"token": token}, headers={"Origin": base})
    assert response.status_code == 303
    return dict(response.cookies)  # the one session cookie, named after the workspace


@pytest.mark.fast
def test_markup_in_data_is_shown_as_text_in_the_terminal(hostile_db):
    summary = cli("summary", "--db", hostile_db)
    assert summary.returncode == 0 and "Traceback" not in summary.stderr
    assert "unknown status '[/]'" in summary.stdout
    person = one(hostile_db, "SELECT person_id FROM persons WHERE display_name LIKE 'Ada%'")
    shown = cli("person", person, "--db", hostile_db)
    assert shown.returncode == 0 and "Ada [bold]Lovelace[/]" in shown.stdout
    assert "[red]not markup[/]" in cli("person", one(hostile_db, "SELECT person_id FROM persons WHERE display_name "
                                                                  "= 'Grace Hopper'"), "--db", hostile_db).stdout


@pytest.mark.fast
def test_csv_exports_and_sheets_neutralise_formulas(hostile_db, served, tmp_path):
    out = tmp_path / "authorships.csv"
    assert cli("export", "authorships", "--db", hostile_db, "--format", "csv", "--output", out).returncode == 0
    cells = [cell for row in csv.reader(out.open(newline="")) for cell in row]
    leading = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert leading == [] and "'=HYPERLINK(\"http://evil.example\",\"click\")" in cells
    sheet_cells = [cell for row in csv.reader(served["sheet"].open(newline="")) for cell in row]
    assert [c for c in sheet_cells if c[:1] in ("=", "+", "@", "\t")] == []
    # an annotator's notes, through the admin's export
    base, tokens = served["base"], served["tokens"]
    person = served["people"][0]
    saved = httpx.post(f"{base}/api/annotations/{person}", headers=bearer(tokens["ann"]),
                       json={"version": 0, "work_country": "GB", "notes": "=HYPERLINK(\"http://evil\")"})
    assert saved.status_code == 200, saved.text
    exported = httpx.get(f"{base}/annotate/export.csv", cookies=login(base, tokens["adm"]))
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["notes"] for r in rows if r["person_id"] == person] == ["'=HYPERLINK(\"http://evil\")"]


@pytest.mark.fast
def test_every_response_carries_security_headers(served):
    base = served["base"]
    for path in ("/", "/api/meta", "/static/app.js", "/docs", "/annotate", "/nope"):
        headers = httpx.get(base + path).headers
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path


@pytest.mark.fast
def test_the_host_header_must_name_this_server(served):
    base = served["base"]
    assert httpx.get(base + "/api/meta", headers={"Host": "evil.example"}).status_code == 400
    assert httpx.get(base.replace("127.0.0.1", "localhost") + "/api/meta").status_code == 200


@pytest.mark.fast
def test_request_bodies_are_capped(served):
    base, token = served["base"], served["tokens"]["ann"]
    person = served["people"][0]
    huge = {"version": 0, "notes": "x" * 200_000}
    assert httpx.post(f"{base}/api/annotations/{person}", headers=bearer(token), json=huge).status_code == 413

    def chunks():  # no Content-Length: counted while read
        for _ in range(100):
            yield b"x" * 10_000

    response = httpx.post(f"{base}/api/annotations/{person}", headers={**bearer(token), "Content-Type":
                          "application/json"}, content=chunks())
    assert response.status_code == 413
    assert httpx.post(f"{base}/annotate/login", data={"token": "x" * 100_000}, headers={"Origin": base}
                      ).status_code == 413
    # and nothing of it reached the workspace
    assert sqlite3.connect(path_for(served["db"])).execute(
        "SELECT count(*) FROM submissions WHERE length(notes) > 10000").fetchone()[0] == 0


@pytest.mark.fast
@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'"a string"', "application/json"),
    (b'{"version": "seven"}', "application/json"),
    (b'{"version": -1}', "application/json"),
    (b'{"version": 0, "favourite_colour": "blue"}', "application/json"),
    (b'{"version": 0, "work_country": ["US"]}', "application/json"),
    (b'{"version": 0, "work_country": "Atlantis"}', "application/json"),
    (b'{"version": 0, "evidence_url": "javascript:alert(1)"}', "application/json"),
    (b'{"version": 0, "notes": "' + b"n" * 5000 + b'"}', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"version=0", "application/x-www-form-urlencoded"),
    (b"--nope\r\nContent-Disposition: form-data\r\n\r\nx", "multipart/form-data; boundary=nope"),
    (b"", "application/json"),
])
def test_malformed_bodies_are_4xx_with_a_message(served, body, content_type):
    base, token = served["base"], served["tokens"]["ann"]
    response = httpx.post(f"{base}/api/annotations/{served['people'][0]}", content=body,
                          headers={**bearer(token), "Content-Type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["detail"]


@pytest.mark.fast
def test_malformed_forms_are_4xx(served):
    base = served["base"]
    cookies = login(base, served["tokens"]["ann"])
    for body, content_type in ((b"--x\r\nbroken", "multipart/form-data; boundary=x"),
                               (b"a=" + b"b&a=" * 200, "application/x-www-form-urlencoded")):
        response = httpx.post(f"{base}/annotate/person/{served['people'][0]}", content=body, cookies=cookies,
                              headers={"Content-Type": content_type, "Origin": base})
        assert 400 <= response.status_code < 500, response.status_code
    assert httpx.get(f"{base}/api/annotate/institutions", params={"q": "x" * 1000}).status_code == 422
    assert httpx.get(f"{base}/api/analyses/work_countries", params={"format": "xml"}).status_code == 400  # unknown format


@pytest.mark.fast
def test_sessions_are_signed_tied_to_the_token_and_expire(served):
    base, tokens, db = served["base"], served["tokens"], served["db"]
    cookies = login(base, tokens["rev"])
    (name, value), = cookies.items()
    assert name.startswith("tt_session_") and tokens["rev"] not in value
    assert httpx.get(f"{base}/annotate/review", cookies=cookies).status_code == 200
    forged = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    assert httpx.get(f"{base}/annotate/review", cookies={name: forged}).status_code == 401
    # a session older than its lifetime, signed with the workspace's own key
    secret = bytes.fromhex(sqlite3.connect(path_for(db)).execute(
        "SELECT value FROM meta WHERE key = 'session_secret'").fetchone()[0])

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - SESSION_SECONDS - 60

    fresh = URLSafeTimedSerializer(secret, salt="talent-tracker session").loads(value)
    stale = URLSafeTimedSerializer(secret, salt="talent-tracker session", signer=Earlier).dumps(fresh)
    assert httpx.get(f"{base}/annotate/review", cookies={name: stale}).status_code == 401
    # a new token ends the sessions of the old one
    assert cli("users", "add", "rev", "--role", "reviewer", "--db", db).returncode == 0
    assert httpx.get(f"{base}/annotate/review", cookies=cookies).status_code == 401


@pytest.mark.browser
def test_sign_out_ends_the_session_in_the_browser(served, browser):
    base = served["base"]
    page = browser.new_context().new_page()
    page.goto(base + "/annotate")
    page.fill("#token", served["tokens"]["ben"])
    page.click("#login")
    page.wait_for_selector("text=Samples")
    page.click("#logout")
    page.wait_for_selector("#token")
    assert page.context.cookies() == []
    page.close()


@pytest.mark.fast
def test_blind_annotators_do_not_see_each_other(served):
    base, tokens = served["base"], served["tokens"]
    person = served["people"][1]
    for name, country in (("ann", "FR"), ("ben", "FR")):
        saved = httpx.post(f"{base}/api/annotations/{person}", headers=bearer(tokens[name]),
                           json={"version": 0, "origin_country": country})
        assert saved.status_code == 200, saved.text
    # they agree, so it is settled; yet an annotator sees neither the other's entry nor the settled fact
    assert one(served["db"], "SELECT country FROM annotations WHERE person_id = ? AND stage = 'origin'",
               [person]) == "FR"
    ben = httpx.get(f"{base}/annotate/person/{person}", cookies=login(base, tokens["ben"])).text
    assert ">annotation<" not in ben
    sample_id = one(served["db"], "SELECT sample_id FROM sample_designs")
    queue = httpx.get(f"{base}/annotate/samples/{sample_id}", cookies=login(base, tokens["ben"])).text
    assert "<td>2</td>" not in queue
    reviewer = httpx.get(f"{base}/annotate/person/{person}", cookies=login(base, tokens["adm"])).text
    assert ">annotation<" in reviewer


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_from_this_server_only(served, browser, path):
    page = browser.new_page()
    problems, outside = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((served["base"], "data:", "blob:")) else None)
    page.goto(served["base"] + path)
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=30000)
    assert "talent-tracker" in page.inner_text("body")
    assert outside == [] and problems == [], (outside, problems)
    page.close()
