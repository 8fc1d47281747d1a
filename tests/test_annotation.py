"""The annotation workflow in Debian's Chromium: sign in, save, edit, conflict, invalid input,
unauthorised and cross-site writes, untrusted text; review; and a load test with a restart."""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from talent_tracker.build.pipeline import build

from conftest import PAPERLISTS, ROOT, UNIVERSITIES, cli, copy_db, query, serving


@pytest.fixture(scope="module")
def prepared(shared, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("annotate") / "base.duckdb"
    build(PAPERLISTS, db, venue_names=["neurips"], years="2021", universities=UNIVERSITIES)
    assert cli("sample", "--db", db, "--venue", "neurips", "--years", "2021", "--size", "12", "--seed", "5",
               "--output", db.parent / "sheet.csv").returncode == 0
    return db


@pytest.fixture(scope="module")
def served(prepared, tmp_path_factory):
    db = tmp_path_factory.mktemp("served") / "work.duckdb"
    copy_db(prepared, db)
    people = [r[0] for r in query(db, "SELECT DISTINCT person_id FROM samples ORDER BY 1")]
    tokens = {}
    for name, role in (("alice", "annotator"), ("bob", "annotator"), ("rita", "reviewer"), ("adam", "admin")):
        result = cli("users", "add", name, "--role", role, "--db", db)
        assert result.returncode == 0, result.stderr
        tokens[name] = result.stdout.strip()
    with serving(db, "--annotate", "--universities", UNIVERSITIES) as base:
        yield {"base": base, "tokens": tokens, "db": db, "people": people}


def sign_in(browser, base: str, token: str):
    page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "409" not in m.text and "422" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(base + "/annotate")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_selector("text=Samples")
    return page, problems


def open_first_person(page, base: str) -> str:
    page.click("table.data a")
    page.wait_for_selector("#progress")
    link = page.locator("table.data a").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_selector("#entry")
    return href.split("/annotate/person/")[1].split("?")[0]


def shot(page, name: str) -> None:
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "test-artifacts" / f"annotate_{name}.png"), full_page=True)


@pytest.mark.browser
def test_save_then_edit_with_autocomplete(browser, served):
    page, problems = sign_in(browser, served["base"], served["tokens"]["alice"])
    open_first_person(page, served["base"])
    page.fill("#work_institution", "Tsinghua")
    page.locator("#institutions option").first.wait_for(state="attached")
    page.fill("#work_institution", "Tsinghua University")
    page.dispatch_event("#work_institution", "change")
    assert page.input_value("#work_country") == "CN" and page.input_value("#work_sector") == "academia"
    page.fill("#origin_country", "CN")
    page.fill("#evidence_url", "https://example.org/cv")
    page.click("#save")
    page.wait_for_selector("#saved")
    assert page.input_value("#work_institution") == "Tsinghua University"
    shot(page, "saved")
    # edit: the form now carries version 1
    page.fill("#work_institution", "Peking University")
    page.fill("#work_country", "CN")
    page.click("#save")
    page.wait_for_selector("#saved")
    assert page.input_value("#work_institution") == "Peking University"
    assert page.locator("input[name=version]").input_value() == "2"
    assert "annotation" in page.inner_text("section")  # the settled entry shows among the facts
    assert problems == []
    page.close()


@pytest.mark.browser
def test_a_stale_form_is_refused_clearly(browser, served):
    page, _problems = sign_in(browser, served["base"], served["tokens"]["bob"])
    open_first_person(page, served["base"])
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector("#entry")
    page.fill("#work_country", "US")
    page.click("#save")
    page.wait_for_selector("#saved")
    other.fill("#work_country", "GB")
    other.click("#save")
    other.wait_for_selector("#problems")
    assert "saved again" in other.inner_text("#problems") and "reload" in other.inner_text("#problems")
    shot(other, "conflict")
    other.goto(page.url.split("&saved")[0])
    assert other.input_value("#work_country") == "US"  # nothing was silently overwritten
    page.close()


@pytest.mark.browser
def test_invalid_entries_are_explained(browser, served):
    page, _ = sign_in(browser, served["base"], served["tokens"]["alice"])
    open_first_person(page, served["base"])
    page.fill("#graduate_institution", "Hogwarts School of Witchcraft")
    page.fill("#graduate_country", "")
    page.click("#save")
    page.wait_for_selector("#problems")
    assert "is not in the registry: give its country" in page.inner_text("#problems")
    page.fill("#graduate_institution", "")
    page.fill("#graduate_country", "XX")
    page.click("#save")
    page.wait_for_selector("#problems")
    assert "not an ISO 3166-1" in page.inner_text("#problems")
    shot(page, "invalid")
    page.close()


@pytest.mark.browser
def test_script_in_a_field_is_shown_as_text(browser, served):
    page, problems = sign_in(browser, served["base"], served["tokens"]["alice"])
    open_first_person(page, served["base"])
    page.fill("#graduate_institution", "<img src=x onerror=window.pwned=1>")
    page.fill("#graduate_country", "US")
    page.fill("#notes", "<script>window.pwned=1</script>")
    page.click("#save")
    page.wait_for_selector("#saved")
    assert page.input_value("#notes") == "<script>window.pwned=1</script>"
    assert page.input_value("#graduate_institution") == "<img src=x onerror=window.pwned=1>"
    assert page.evaluate("window.pwned") is None and page.locator("img").count() == 0
    assert "<img src=x onerror=window.pwned=1>" in page.inner_text("section")  # shown, as text
    assert problems == []
    page.close()


def session_of(base: str, token: str) -> dict:
    """The signed session cookie a browser gets by signing in with `token`."""
    response = httpx.post(f"{base}/annotate/login", data={"token": token}, headers={"Origin": base})
    assert response.status_code == 303, response.text
    return dict(response.cookies)  # the one session cookie, named after the workspace


@pytest.mark.realdata
def test_unauthorised_and_cross_site_writes_are_refused(served):
    base, tokens = served["base"], served["tokens"]
    person = served["people"][0]
    assert httpx.post(f"{base}/api/annotations/{person}", json={"version": 0}).status_code == 401
    assert httpx.post(f"{base}/api/annotations/{person}", json={"version": 0},
                      headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    cookies = session_of(base, tokens["alice"])
    (name, value), = cookies.items()
    assert tokens["alice"] not in value
    # the raw token is no cookie: only a signed session is
    assert httpx.get(f"{base}/annotate/review", cookies={"tt_token": tokens["rita"]}).status_code == 401
    assert httpx.get(f"{base}/annotate/review", cookies={name: tokens["rita"]}).status_code == 401
    # a form posted from another site with the analyst's cookie
    evil = httpx.post(f"{base}/annotate/person/{person}", data={"work_country": "US", "version": 0},
                      cookies=cookies, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "cross-site" in evil.text
    # same site but without the form's CSRF token
    no_token = httpx.post(f"{base}/annotate/person/{person}", data={"work_country": "US", "version": 0},
                          cookies=cookies, headers={"Origin": base})
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    # signing out is a write like the others
    assert httpx.post(f"{base}/annotate/logout", cookies=cookies, headers={"Origin": base}).status_code == 403
    assert httpx.post(f"{base}/annotate/logout", cookies=cookies, headers={"Origin": "http://evil.example"}
                      ).status_code == 403
    # roles: an annotator may neither review nor export
    assert httpx.get(f"{base}/annotate/review", cookies=cookies).status_code == 403
    assert httpx.get(f"{base}/annotate/export.csv", cookies=cookies).status_code == 403
    assert httpx.get(f"{base}/annotate/export.csv", cookies=session_of(base, tokens["adam"])).status_code == 200


@pytest.mark.browser
def test_reviewer_settles_a_disagreement(browser, served):
    base, tokens = served["base"], served["tokens"]
    person = served["people"][-1]
    for name, country in (("alice", "FR"), ("bob", "CA")):
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        version = httpx.get(f"{base}/api/annotations/{person}", headers=headers).json()["version"]
        saved = httpx.post(f"{base}/api/annotations/{person}", headers=headers,
                           json={"version": version, "origin_country": country})
        assert saved.status_code == 200, saved.text
    page, problems = sign_in(browser, base, tokens["rita"])
    page.goto(base + "/annotate/review")
    assert person in page.inner_text("main")
    shot(page, "review")
    page.locator("form.decide", has_text="bob").filter(has_text="CA").first.locator("button").click()
    page.wait_for_load_state()
    assert "origin" not in [s.split(" · ")[-1] for s in page.locator("section h3").all_inner_texts()
                             if person in s]
    # estimates use the settled entry at once
    origins = httpx.get(f"{base}/api/analyses/origin_countries", params={"venue": "neurips", "years": "2021"}).json()
    assert origins["method"] == "assisted" and any(r[0] == "CA" for r in origins["rows"])
    assert problems == []
    page.close()


@pytest.mark.realdata
def test_saves_survive_a_rebuild_and_a_kill(prepared, tmp_path):
    """10 annotators save while the database is rebuilt under the running server and the
    server is then killed (SIGKILL) and restarted: every acknowledged save is kept, and
    the server shows the new build without a restart."""
    spec = importlib.util.spec_from_file_location("annotation_load", ROOT / "benchmarks" / "annotation_load.py")
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    db = tmp_path / "load.duckdb"
    copy_db(prepared, db)
    # in a thread of its own: Playwright's sync API keeps an event loop on this one
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(load.run, db, 10, 20, True, True).result()
    assert report["problems"] == [], report
    assert report["rebuild"] == {"exit_code": 0, "seconds": report["rebuild"]["seconds"], "shown_without_restart": True}
    assert report["acknowledged_saves"] > 100 and report["restart_seconds"]
    assert report["audit_log_saves"] >= report["acknowledged_saves"]
    assert report["read_meta_ms"]["requests"] > 20
