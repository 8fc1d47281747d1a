"""Institution resolution: the resolver on known cases, and its accuracy on the real data."""

from __future__ import annotations

import json

import pycountry
import pytest

from talent_tracker.errors import UserError
from talent_tracker.institutions import ResolutionSettings, Resolver, load_resolver
from talent_tracker.institutions.registry import load_registry, load_universities

from conftest import PAPERLISTS, UNIVERSITIES, cli, one, query


@pytest.fixture(scope="module")
def resolver(shared):
    return load_resolver(UNIVERSITIES)[0]


@pytest.mark.realdata
@pytest.mark.parametrize("text, domain, institution_id, country", [
    ("National Key Laboratory for Novel Software Technology, Nanjing University, Nanjing 210023, China", None, "nju", "CN"),
    ("MIT", None, "mit", "US"), ("CMU", None, "cmu", "US"), ("KAIST", None, "kaist", "KR"),
    ("USTC", None, "ustc", "CN"), ("ETH", None, "eth", "CH"), ("EPFL", None, "epfl", "CH"),
    ("NUS", None, "nus", "SG"), ("HKUST", None, "hkust", "HK"), ("SJTU", None, "sjtu", "CN"),
    ("MSRA", None, "msr-asia", "CN"), ("Microsoft Research Asia, Beijing", None, "msr-asia", "CN"),
    ("Google, Zurich, Switzerland", None, "google", "CH"), ("Google Brain", None, "google", "US"),
    ("DeepMind, London, UK", None, "deepmind", "GB"),
    ("Microsoft Research, Cambridge, MA", None, "msr-cambridge", "US"),
    ("Department of Computer Science, University of Toronto", None, "utoronto", "CA"),
    ("Universität Tübingen", None, "tuebingen", "DE"),
    ("École Polytechnique Fédérale de Lausanne (EPFL), Switzerland", None, "epfl", "CH"),
    ("´Ecole Polytechnique F´ed´erale de Lausanne, Switzerland", None, "epfl", "CH"),
    ("Montr ´eal Institute for Learning Algorithms (MILA)", None, "mila", "CA"),
    ("Fachbereich Informatik, Universitaet Stuttgart", None, "stuttgart", "DE"),
    ("", "cs.stanford.edu", "stanford", "US"),
    ("", "mails.tsinghua.edu.cn", "tsinghua", "CN"),
    ("Toyota Technological Institute at Chicago", None, "ttic", "US"),
])
def test_known_affiliations(resolver, text, domain, institution_id, country):
    result = resolver.resolve(text, domain)
    assert (result.institution_id, result.country) == (institution_id, country)
    assert result.sector in ("academia", "industry", "government", "nonprofit")


@pytest.mark.realdata
def test_several_institutions_take_the_authors_by_domain(resolver):
    both = "Google Brain; Stanford University"
    assert resolver.resolve(both).institution_id == "google"
    result = resolver.resolve(both, "cs.stanford.edu")
    assert result.institution_id == "stanford" and result.other_institution_ids == ("google",)


@pytest.mark.realdata
def test_country_only_evidence(resolver):
    assert (resolver.resolve("", "foo.edu.cn").country, resolver.resolve("", "foo.edu.cn").method) == ("CN", "domain")
    assert resolver.resolve("", "lab.ac.uk").country == "GB"
    assert resolver.resolve("Some Lab, Nanjing 210023, China").country == "CN"
    assert resolver.resolve("Some Lab, Pittsburgh, PA").method == "place"
    assert resolver.resolve("Laboratory X, New England").country == "US"


@pytest.mark.realdata
def test_unsure_means_unknown(resolver):
    assert resolver.resolve("", "gmail.com").country is None
    assert resolver.resolve("Independent researcher", "qq.com").country is None
    assert resolver.resolve("Department of Computer Science").country is None
    # a listed university whose country the text contradicts is someone else's
    assert resolver.resolve("Lancaster University, Lancaster, UK").country == "GB"


@pytest.mark.realdata
def test_webmail_never_decides_even_beside_a_text(resolver):
    assert resolver.resolve("Tsinghua University", "gmail.com").institution_id == "tsinghua"


def _code(name: str) -> str | None:
    fixes = {"South Korea": "KR", "Russia": "RU", "Taiwan": "TW", "Iran": "IR", "Vietnam": "VN", "Turkey": "TR",
             "Czech Republic": "CZ", "Macau": "MO"}
    try:
        return fixes.get(name) or pycountry.countries.lookup(name).alpha_2
    except LookupError:
        return None


@pytest.mark.realdata
def test_paperlists_affiliations_agree_with_the_sources_own_countries(full_db):
    # the resolver reads only `affiliation` and `email_domain`; `source_countries` is the answer key
    scope = """FROM authorships WHERE affiliation IS NOT NULL AND affiliation <> ''
               AND ((venue = 'neurips' AND year BETWEEN 1987 AND 2018) OR (venue = 'icml' AND year BETWEEN 2013 AND 2019))"""
    total = one(full_db, f"SELECT count(*) {scope}")
    with_country = one(full_db, f"SELECT count(*) {scope} AND country IS NOT NULL")
    assert with_country / total >= 0.98
    rows = query(full_db, f"SELECT country, source_countries {scope} AND country IS NOT NULL AND source_countries IS NOT NULL")
    agreeing = 0
    for country, key in rows:
        codes = {_code(name) for name in key}
        # the key names Hong Kong, Macao and Taiwan "China"; we give their own ISO codes
        agreeing += country in codes or (country in ("HK", "MO", "TW") and "CN" in codes)
    assert len(rows) > 25000
    assert agreeing / len(rows) >= 0.97


@pytest.mark.realdata
def test_openreview_years_get_a_country(full_db):
    for venue in ("neurips", "iclr"):
        total = one(full_db, f"SELECT count(*) FROM authorships WHERE venue='{venue}' AND year=2021 AND affiliation IS NOT NULL")
        found = one(full_db, f"SELECT count(*) FROM authorships WHERE venue='{venue}' AND year=2021 "
                             "AND affiliation IS NOT NULL AND country IS NOT NULL")
        assert found / total >= 0.95


@pytest.mark.realdata
def test_sector_is_filled_for_resolved_authorships(full_db):
    resolved = one(full_db, "SELECT count(*) FROM authorships WHERE country IS NOT NULL")
    with_sector = one(full_db, "SELECT count(*) FROM authorships WHERE country IS NOT NULL AND sector IS NOT NULL")
    assert with_sector / resolved >= 0.95


@pytest.mark.realdata
def test_institutions_table_and_columns(full_db):
    assert one(full_db, "SELECT count(*) FROM institutions WHERE layer='registry'") == len(load_registry())
    assert one(full_db, "SELECT count(*) FROM authorships a LEFT JOIN institutions i USING (institution_id) "
                        "WHERE a.institution_id IS NOT NULL AND i.institution_id IS NULL") == 0
    assert query(full_db, "SELECT parent FROM institutions WHERE institution_id='msr-asia'") == [("microsoft",)]
    assert query(full_db, "SELECT parent FROM institutions WHERE institution_id='google'") == [("alphabet",)]


@pytest.mark.realdata
def test_summary_reports_resolution_coverage(full_db):
    data = json.loads(cli("summary", "--db", full_db, "--json").stdout)
    row = next(r for r in data["venue_years"] if (r["venue"], r["year"]) == ("neurips", 2021))
    assert row["with_country"] > 0 and 90 <= row["country_coverage_pct"] <= 100


@pytest.mark.realdata
def test_resolve_command_json_and_file(tmp_path):
    result = cli("resolve", "Google Brain; Stanford", "--domain", "cs.stanford.edu", "--json",
                 "--universities", UNIVERSITIES)
    row = json.loads(result.stdout)
    assert set(row) == {"query", "institution_id", "institution", "country", "sector", "method", "confidence"}
    assert row["institution_id"] == "stanford"
    queries = tmp_path / "q.txt"
    queries.write_text("MSRA\nSome lab\tmails.tsinghua.edu.cn\nNowhere\tgmail.com\n", encoding="utf-8")
    lines = cli("resolve", "--file", queries, "--json", "--universities", UNIVERSITIES).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["country"] for r in rows] == ["CN", "CN", None]
    assert rows[2]["institution_id"] is None and rows[2]["method"] is None


@pytest.mark.fast
def test_resolve_errors_are_one_line(tmp_path):
    result = cli("resolve", "MIT", "--universities", tmp_path / "missing.json")
    assert result.returncode == 2 and "universities file not found" in result.stderr
    assert cli("resolve").returncode == 2


@pytest.mark.fast
@pytest.mark.parametrize("row, message", [
    ("x,X,ZZ,academia,,,,", "not an ISO 3166-1 alpha-2 country"),
    ("x,X,US,school,,,,", "sector 'school'"),
    ("x,X,US,academia,nobody,,,", "parent 'nobody'"),
])
def test_registry_rows_are_validated(tmp_path, row, message):
    path = tmp_path / "registry.csv"
    path.write_text("institution_id,name,country,sector,parent,multinational,aliases,domains\n" + row + "\n")
    with pytest.raises(UserError, match=message):
        load_registry(path)


@pytest.mark.realdata
def test_universities_list_is_read_from_the_shared_file():
    universities = load_universities(UNIVERSITIES)
    assert len(universities) == 10251
    assert all(u.sector == "academia" and len(u.country) == 2 for u in universities)


@pytest.mark.realdata
def test_matching_settings_come_from_toml_and_are_recorded(tmp_path):
    registry, universities = load_registry(), load_universities(UNIVERSITIES)
    text = "University of the Witwatersrand, Johannesburg, South Africa"  # a fuzzy match by default
    assert Resolver(registry, universities).resolve(text).method == "fuzzy"
    strict = tmp_path / "strict.toml"
    strict.write_text("fuzzy_cutoff = 100\n[confidence]\nexact = 0.99\n")
    settings = ResolutionSettings.load(strict)
    assert settings.fuzzy_cutoff == 100 and dict(settings.confidence)["exact"] == 0.99
    assert settings.max_words == ResolutionSettings().max_words  # untouched keys keep the packaged value
    strict_resolver = Resolver(registry, universities, settings)
    assert strict_resolver.resolve(text).method != "fuzzy"
    assert strict_resolver.resolve("Stanford University").confidence == pytest.approx(0.99)
    # a build takes them from --resolution and records them; a bad file stops it in one line
    db = tmp_path / "r.duckdb"
    assert cli("build", "--data", PAPERLISTS, "--db", db, "--venue", "neurips", "--years", "2018",
               "--universities", UNIVERSITIES, "--resolution", strict).returncode == 0
    recorded = json.loads(one(db, "SELECT value FROM build_info WHERE key = 'settings'"))
    assert recorded["resolution"]["fuzzy_cutoff"] == 100 and recorded["resolution_file"] == str(strict)
    assert one(db, "SELECT count(*) FROM authorships WHERE resolution_method = 'fuzzy'") == 0
    for bad, message in (("fuzzy_cutoff = 5", "fuzzy_cutoff must be a number from 50 to 100"),
                         ("threshold = 1", "unknown setting(s) threshold"),
                         ("[confidence]\nguess = 0.5", "no method 'guess'"), ("fuzzy_cutoff = [", "not valid TOML")):
        strict.write_text(bad)
        result = cli("build", "--data", PAPERLISTS, "--db", tmp_path / "bad.duckdb", "--venue", "neurips",
                     "--years", "2018", "--resolution", strict)
        assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
