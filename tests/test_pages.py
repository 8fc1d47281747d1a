"""The tracker's pages as a reader sees them, in a real browser (Debian's Chromium driven by
Playwright), served and published: NeurIPS 2019, 2022, 2024 and a pooled range.

Every page fails on a JS error, an empty plot area, a label cut by its container, a share
not written as a percentage, a year axis with fractional years, or two pages giving
different counts for the same population; a view goes through its URL and back. Each page
is photographed at 1400 and 390 px wide into pagecheck.SCREENSHOTS (test-artifacts/pages/,
ignored by git), for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import serving
from pagecheck import CHECK, Reader

FILTERED = ["overview", "flows", "map", "trends", "institutions", "countries"]
# (name, years in the server's view, years in the published site's): the site offers each
# edition and all its editions pooled; the server any range
VIEWS = [("2019", "2019", "2019"), ("2022", "2022", "2022"), ("2024", "2024", "2024"),
         ("pooled", "2019-2024", "all")]


@pytest.fixture(scope="module")
def served(full_db):
    with serving(full_db) as base:
        yield base


def page_url(where: str, base, page: str, years: str, country: str = "US") -> str:
    fragment = f"#venue=neurips&years={years}&tier=top20&place=lab" + (f"&country={country}" if page == "countries" else "")
    if where == "served":
        path = {"overview": "/", "countries": f"/countries/{country}"}.get(page, f"/{page}")
        return base + path + fragment
    return (Path(base) / f"{page}.html").as_uri() + fragment


def read_every_page(browser, where: str, base, label: str, years: str) -> dict:
    reader = Reader(browser)
    seen = {}
    try:
        for page in FILTERED:
            reader.open(page_url(where, base, page, years))
            assert reader.view()["years"] == years or (where == "published" and page == "countries"), reader.view()
            seen[page] = reader.check(f"{where}_neurips_{label}_{page}")
        assert reader.errors == [] and reader.outside == [], (reader.errors, reader.outside)
    finally:
        reader.close()
    return seen


def agree(seen: dict, profile_years_too: bool = True) -> tuple[dict, dict]:
    """The same population counted on two pages gives one number: a country's people on the
    overview, the map and its profile; an institution's on the institutions page and on its
    country's profile (where the profile is of the same years: a published site's profiles
    are of all its years)."""
    overview, world = seen["overview"]["counts"]["work_countries"], seen["map"]["counts"]["map"]
    assert overview == world
    profile = seen["countries"]["counts"]["country"]
    if not profile_years_too:
        return overview, profile
    institutions = {**seen["institutions"]["counts"]["top_institutions"],
                    **seen["institutions"]["counts"]["top_institutions_asia"]}
    shared = set(profile) & set(institutions)
    assert shared, "no institution on both the institutions page and the US profile"
    assert {k: profile[k] for k in shared} == {k: institutions[k] for k in shared}
    return overview, profile


@pytest.mark.browser
@pytest.mark.parametrize(("label", "served_years", "_"), VIEWS, ids=[v[0] for v in VIEWS])
def test_every_served_page_reads_right(browser, served, label, served_years, _):
    seen = read_every_page(browser, "served", served, label, served_years)
    for page, found in seen.items():
        assert found["problems"] == [], (page, found["problems"])
    overview, profile = agree(seen)
    # the profile is of the same view (its years), so its headline is the overview's US
    assert profile["US"] == overview["US"] > 0
    assert "neurips " + served_years in seen["overview"]["method"]["work_countries"]


@pytest.mark.browser
@pytest.mark.parametrize(("label", "_", "site_years"), VIEWS, ids=[v[0] for v in VIEWS])
def test_every_published_page_reads_right(browser, neurips_site, label, _, site_years):
    seen = read_every_page(browser, "published", neurips_site, label, site_years)
    for page, found in seen.items():
        assert found["problems"] == [], (page, found["problems"])
    overview, profile = agree(seen, profile_years_too=site_years == "all")
    if site_years == "all":  # the published site's profiles are of all its years
        assert profile["US"] == overview["US"] > 0
    else:
        assert "all years" in seen["countries"]["method"]["country"]  # and they say so


@pytest.mark.browser
@pytest.mark.parametrize("where", ["served", "published"])
def test_the_compare_and_methodology_pages_read_right(browser, served, neurips_site, where):
    reader = Reader(browser)
    for page in ("compare", "methodology"):
        reader.open(served + f"/{page}" if where == "served" else (neurips_site / f"{page}.html").as_uri())
        found = reader.check(f"{where}_{page}")
        assert found["problems"] == [], found["problems"]
    assert "Samples and intervals" in reader.page.inner_text("main")
    assert reader.errors == [] and reader.outside == []
    reader.close()


@pytest.mark.browser
@pytest.mark.parametrize("where", ["served", "published"])
def test_a_view_goes_through_its_url_and_back(browser, served, neurips_site, where):
    base = served if where == "served" else neurips_site
    start = base + "/institutions" if where == "served" else (Path(base) / "institutions.html").as_uri()
    reader = Reader(browser)
    reader.open(start)
    # the default: the latest edition most of whose people have a country, top 20%
    assert reader.view() == {"venue": "neurips", "years": "2024", "tier": "top20", "place": "lab"}
    default = reader.page.locator("section[data-chart=top_institutions]").get_attribute("data-counts")
    reader.choose("#years", "2019")
    reader.choose("#tier", "top2")
    reader.choose("#place", "hq")
    chosen = reader.page.locator("section[data-chart=top_institutions]").get_attribute("data-counts")
    assert reader.view() == {"venue": "neurips", "years": "2019", "tier": "top2", "place": "hq"} and chosen != default
    url = reader.page.url
    # the link, opened anew (a colleague's browser), shows the same view and the same figures
    other = Reader(browser)
    other.open(url)
    assert [other.page.input_value(s) for s in ("#venue", "#years", "#tier", "#place")] == ["neurips", "2019", "top2", "hq"]
    assert other.page.locator("section[data-chart=top_institutions]").get_attribute("data-counts") == chosen
    # the page links carry the view
    assert other.page.get_attribute("nav a[data-page=map]", "href").endswith("#venue=neurips&years=2019&tier=top2&place=hq")
    other.close()
    # back: the view before, drawn again
    for expected in ({"tier": "top2", "place": "lab"}, {"tier": "top20", "place": "lab"}):
        before = reader.page.evaluate("document.body.dataset.ready")
        reader.page.go_back()
        reader.ready(before)
        assert {k: reader.view()[k] for k in expected} == expected and reader.page.input_value("#tier") == expected["tier"]
    assert reader.page.locator("section[data-chart=top_institutions]").get_attribute("data-counts") != chosen
    assert reader.errors == []
    reader.close()


@pytest.mark.browser
@pytest.mark.parametrize("where", ["served", "published"])
def test_a_chart_and_its_data_can_be_taken_away(browser, served, neurips_site, where, tmp_path):
    base = served if where == "served" else neurips_site
    reader = Reader(browser)
    reader.open(base + "/" if where == "served" else (Path(base) / "overview.html").as_uri())
    section = reader.page.locator("section[data-chart=work_countries]")
    taken = {}
    for kind in ("csv", "png", "svg"):
        with reader.page.expect_download() as download:
            section.locator(f"a.{kind}").click()
        target = tmp_path / f"{where}.{kind}"
        download.value.save_as(target)
        taken[kind] = target.read_bytes()
    assert taken["csv"].decode().splitlines()[0].replace('"', "") == "country,name,people,share"
    assert "United States" in taken["csv"].decode()
    assert taken["png"].startswith(b"\x89PNG") and b"<svg" in taken["svg"][:500]
    assert reader.errors == []
    reader.close()


@pytest.mark.browser
def test_a_page_prints_as_a_report(browser, served):
    reader = Reader(browser)
    reader.open(served + "/")
    reader.page.emulate_media(media="print")
    hidden = reader.page.evaluate("""() => ['nav', 'form#filters', 'p.downloads'].map(
        (s) => getComputedStyle(document.querySelector(s)).display)""")
    assert hidden == ["none", "none", "none"]
    assert "NeurIPS 2024" in reader.page.inner_text("#view")  # the printed page says its view
    pdf = reader.page.pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    reader.close()


@pytest.mark.browser
def test_keyboard_reaches_the_filters_and_downloads(browser, served):
    reader = Reader(browser)
    reader.open(served + "/")
    reached = []
    for _ in range(40):
        reader.page.keyboard.press("Tab")
        reached.append(reader.page.evaluate("document.activeElement.id || document.activeElement.className"))
    assert {"venue", "years", "tier", "place"} <= set(reached) and "csv" in reached
    outline = reader.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    reader.close()


@pytest.mark.browser
def test_the_checks_catch_what_reads_wrong(browser, served):
    # the page checks above would pass a page that shows nothing wrong; here is one that does:
    # a share as a decimal, a label pushed out of its chart, a chart with its bars taken away,
    # a chart without its text alternative
    reader = Reader(browser)
    reader.open(served + "/")
    assert reader.page.evaluate(CHECK)["problems"] == []
    reader.page.evaluate("""() => {
      document.querySelector('section[data-chart=work_countries] tbody td:nth-child(4)').textContent = '0.419';
      document.querySelector('section[data-chart=work_regions] g.ytick text').setAttribute('x', '-3000');
      document.querySelectorAll('section[data-chart=work_sectors] g.point path').forEach((p) => p.remove());
      document.querySelector('#plot-paper_countries').removeAttribute('aria-label');
    }""")
    problems = reader.page.evaluate(CHECK)["problems"]
    assert any(p.startswith('work_countries: a bare decimal "0.419"') for p in problems), problems
    assert any(p.startswith("work_regions: label") and "cut by its chart" in p for p in problems), problems
    assert "work_sectors: an empty plot area" in problems and "paper_countries: a chart without a text alternative" in problems
    reader.close()
