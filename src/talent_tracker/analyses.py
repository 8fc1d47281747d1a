"""The tracker's tables: named analyses over the database, each with its method.

Every analysis takes a `Filters` (venues, years, tier) and returns a `Result`: columns,
rows, the method (`exact` when counted from data known for every person, `sample` when
estimated, with intervals), and notes saying what the figure rests on. The web API, the
static site, the terminal report and the exports all show these results; none of them
computes anything of its own.

A person is counted once per figure: for "where they work", by the country, institution
and sector of their latest accepted paper in the filtered years that has one (exact: the
affiliation at publication is known for every such person). Origin, graduate school,
flows and retention come from `career_stages` and samples (see estimates.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import estimates
from .errors import UserError
from .institutions.places import country_name
from .store import reader
from .venues import load_venues

ASIA = ("CN", "HK", "TW", "MO", "JP", "KR", "SG", "IN", "IL", "AE", "SA", "VN", "TH", "MY", "ID", "PK", "BD", "IR",
        "TR", "QA", "PH", "LK", "NP", "KZ")


@dataclass(frozen=True)
class Filters:
    venues: tuple[str, ...] = ("neurips",)
    years: tuple[int, ...] = ()
    tier: str = "top20"

    def sql(self, alias: str = "a") -> tuple[str, list]:
        if self.tier not in ("top20", "top2"):
            raise UserError(f"unknown tier {self.tier!r} (choose top20 or top2)")
        parts = [f"{alias}.accepted", f"{alias}.venue IN (SELECT unnest(?))"]
        params: list = [list(self.venues)]
        if self.years:
            parts.append(f"{alias}.year IN (SELECT unnest(?))")
            params.append(list(self.years))
        if self.tier == "top2":
            parts.append(f"{alias}.tier = 'top2'")
        return " AND ".join(parts), params

    @property
    def years_label(self) -> str:
        if not self.years:
            return "all years"
        return f"{min(self.years)}-{max(self.years)}" if len(self.years) > 1 else str(self.years[0])

    @property
    def label(self) -> str:
        return f"{'+'.join(self.venues)} {self.years_label} {self.tier}"


@dataclass
class Result:
    name: str
    title: str
    columns: list[str]
    rows: list[list]
    method: str
    filters: str
    notes: list[str] = field(default_factory=list)
    sample_size: int | None = None
    population_size: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def filters_of(venues: list[str] | None, years: list[int] | None, tier: str | None) -> Filters:
    catalogue = load_venues()
    keys = tuple(sorted({catalogue.get(v).key for v in venues})) if venues else ("neurips",)
    return Filters(keys, tuple(sorted(set(years or ()))), tier or "top20")


# the person's latest accepted authorship with a country, in the filtered years
_LATEST = """
WITH located AS (
    SELECT a.person_id, a.year, a.country, a.institution_id, a.institution, a.sector,
           row_number() OVER (PARTITION BY a.person_id ORDER BY a.year DESC, a.venue, a.paper_id,
                              a.author_position) AS rank
    FROM authorships a WHERE {where} AND a.country IS NOT NULL
), latest AS (SELECT * EXCLUDE (rank) FROM located WHERE rank = 1)
"""


def _people(con, f: Filters) -> int:
    where, params = f.sql()
    return con.execute(f"SELECT count(DISTINCT a.person_id) FROM authorships a WHERE {where}", params).fetchone()[0]


def work_countries(db: Path, f: Filters) -> Result:
    where, params = f.sql()
    with reader(db, with_workspace=False) as con:
        total = _people(con, f)
        rows = con.execute(_LATEST.format(where=where) + """
            SELECT country, count(*) AS people FROM latest GROUP BY country ORDER BY people DESC, country""",
                           params).fetchall()
    located = sum(r[1] for r in rows)
    return Result("work_countries", "Where they work: country at publication", ["country", "name", "people", "share"],
                  [[c, country_name(c), n, round(n / located, 4)] for c, n in rows], "exact", f.label,
                  [f"{located:,} of {total:,} people have a country at publication; shares are of those."],
                  located, total)


def work_sectors(db: Path, f: Filters) -> Result:
    where, params = f.sql()
    with reader(db, with_workspace=False) as con:
        rows = con.execute(_LATEST.format(where=where) + """
            SELECT coalesce(sector, 'unknown'), count(*) FROM latest GROUP BY 1 ORDER BY 2 DESC""", params).fetchall()
    total = sum(r[1] for r in rows)
    return Result("work_sectors", "Where they work: sector at publication", ["sector", "people", "share"],
                  [[s, n, round(n / total, 4)] for s, n in rows], "exact", f.label,
                  ["Sector of the institution of each person's latest paper."], total, total)


def top_institutions(db: Path, f: Filters, limit: int = 25, country: str | None = None,
                     region: str | None = None) -> Result:
    where, params = f.sql()
    extra, extra_params = "", []
    if country:
        extra, extra_params = "AND a.country = ?", [country.upper()]
    elif region == "asia":
        extra, extra_params = "AND a.country IN (SELECT unnest(?))", [list(ASIA)]
    with reader(db, with_workspace=False) as con:
        rows = con.execute(f"""
            SELECT i.name, i.country, i.sector, count(DISTINCT a.person_id) AS people
            FROM authorships a JOIN institutions i USING (institution_id)
            WHERE {where} {extra}
            GROUP BY ALL ORDER BY people DESC, i.name LIMIT ?""", [*params, *extra_params, limit]).fetchall()
    scope = f" in {country_name(country.upper())}" if country else " in Asia" if region == "asia" else " worldwide"
    return Result("top_institutions", f"Top {limit} institutions{scope}", ["institution", "country", "sector", "people"],
                  [list(r) for r in rows], "exact", f.label,
                  ["People with at least one accepted paper affiliated with the institution (a person at two "
                   "institutions counts for both)."])


def trends(db: Path, f: Filters, countries: int = 8) -> Result:
    where, params = f.sql()
    with reader(db, with_workspace=False) as con:
        rows = con.execute(f"""
            SELECT a.year, a.country, count(DISTINCT a.person_id) FROM authorships a
            WHERE {where} AND a.country IS NOT NULL GROUP BY ALL ORDER BY 1, 3 DESC""", params).fetchall()
    totals: dict[str, int] = {}
    for _, c, n in rows:
        totals[c] = totals.get(c, 0) + n
    leaders = sorted(totals, key=lambda c: -totals[c])[:countries]
    years = sorted({y for y, _, _ in rows})
    by = {(y, c): n for y, c, n in rows}
    table = [[y, c, by.get((y, c), 0)] for c in leaders for y in years]
    notes = []
    for c in leaders:
        first = next((by[(y, c)] for y in years if by.get((y, c))), 0)
        last = by.get((years[-1], c), 0) if years else 0
        if first:
            notes.append(f"{c}: {first:,} → {last:,} people, ×{last / first:.1f} from {years[0]} to {years[-1]}")
    return Result("trends", "People per year by country of work (at publication)", ["year", "country", "people"],
                  table, "exact", f.label, notes)


def tier_comparison(db: Path, f: Filters) -> Result:
    rows: dict[str, dict[str, float]] = {}
    for tier in ("top20", "top2"):
        try:
            result = work_countries(db, Filters(f.venues, f.years, tier))
        except UserError:
            continue
        for country, _, _, share in result.rows:
            rows.setdefault(country, {})[tier] = share
    ranked = sorted(rows, key=lambda c: -rows[c].get("top20", 0))[:15]
    return Result("tier_comparison", "Top 2% against top 20%: share of people by country of work",
                  ["country", "top20_share", "top2_share"],
                  [[c, rows[c].get("top20", 0.0), rows[c].get("top2", 0.0)] for c in ranked], "exact",
                  f"{'+'.join(f.venues)} {f.years_label}",
                  ["top2 is empty for years whose data carries no oral label."])


def edition_comparison(db: Path, f: Filters, first: int, second: int) -> Result:
    a = {r[0]: r for r in work_countries(db, Filters(f.venues, (first,), f.tier)).rows}
    b = {r[0]: r for r in work_countries(db, Filters(f.venues, (second,), f.tier)).rows}
    ranked = sorted(set(a) | set(b), key=lambda c: -(b.get(c, [0, 0, 0])[2]))[:15]
    return Result("edition_comparison", f"{first} against {second}: people by country of work",
                  ["country", f"people_{first}", f"share_{first}", f"people_{second}", f"share_{second}"],
                  [[c, a.get(c, [0, 0, 0, 0])[2], a.get(c, [0, 0, 0, 0])[3], b.get(c, [0, 0, 0, 0])[2],
                    b.get(c, [0, 0, 0, 0])[3]] for c in ranked], "exact", f"{'+'.join(f.venues)} {f.tier}")


def career_stage(db: Path, f: Filters, stage: str) -> Result:
    """Origin or graduate (or work, from careers) by country: exact or estimated (estimates.py)."""
    if not f.years:
        return Result(f"{stage}_countries", _STAGE_TITLES[stage], [], [], "unavailable", f.label,
                      ["Figures from careers are estimated per sampled population: choose the year(s) of a sample."])
    try:
        data = estimates.estimate(db, list(f.venues), list(f.years), f.tier, stage)
    except UserError as exc:
        return Result(f"{stage}_countries", _STAGE_TITLES[stage], [], [], "unavailable", f.label, [str(exc)])
    rows = [[r["group"], r["estimate"], r["low"], r["high"], r["share"], r["share_low"], r["share_high"]]
            for r in data["figures"]]
    first = data["figures"][0] if data["figures"] else {}
    method = "exact" if data["sample"] is None else "sample"
    notes = [f"Sample {data['sample']['sample_id']} ({data['sample']['design']})"] if data["sample"] else []
    return Result(f"{stage}_countries", _STAGE_TITLES[stage],
                  ["country", "estimate", "low", "high", "share", "share_low", "share_high"], rows, method, f.label,
                  notes, first.get("sample_size"), data["population_size"])


_STAGE_TITLES = {"origin": "Where they come from: country of undergraduate degree",
                 "graduate": "Where they train: country of graduate school",
                 "work": "Where they work: country of current employer (careers)"}


def flows(db: Path, f: Filters) -> Result:
    if not f.years:
        return Result("flows", "Paths: origin → graduate school → work", [], [], "unavailable", f.label,
                      ["Flows are estimated per sampled population: choose the year(s) of a sample."])
    try:
        data = estimates.estimate(db, list(f.venues), list(f.years), f.tier, "flow")
    except UserError as exc:
        return Result("flows", "Paths: origin → graduate school → work", [], [], "unavailable", f.label, [str(exc)])
    rows = [r["group"].split(" -> ") + [r["estimate"], r["low"], r["high"]] for r in data["figures"]]
    notes = [f"retention {r['origin']}: {r['retention']:.0%} ({r['low']:.0%}–{r['high']:.0%}), "
             f"{r['origin_sampled']} sampled" for r in data.get("retention", [])]
    return Result("flows", "Paths: origin → graduate school → work",
                  ["origin", "graduate", "work", "estimate", "low", "high"], rows,
                  "exact" if data["sample"] is None else "sample", f.label, notes,
                  data["figures"][0]["sample_size"] if data["figures"] else None, data["population_size"])


def country_profile(db: Path, f: Filters, country: str) -> dict:
    code = country.upper()
    if country_name(code) is None:
        raise UserError(f"unknown country code {country!r}")
    works = work_countries(db, f)
    row = next((r for r in works.rows if r[0] == code), [code, country_name(code), 0, 0.0])
    return {
        "country": code, "name": country_name(code), "people": row[2], "share": row[3],
        "filters": f.label,
        "institutions": top_institutions(db, f, 15, country=code).as_dict(),
        "trend": [[y, n] for y, c, n in trends(db, f, countries=200).rows if c == code],
        "origin_mix": origin_mix(db, f, code).as_dict(),
    }


def editions(db: Path, f: Filters) -> Result:
    """Two editions side by side: the first and last of the filtered years, else the two
    latest years whose authors have affiliations (a year without them cannot be compared)."""
    years = f.years
    if len(years) < 2:
        with reader(db, with_workspace=False) as con:
            years = tuple(r[0] for r in con.execute(
                "SELECT DISTINCT year FROM authorships WHERE accepted AND country IS NOT NULL "
                "AND venue IN (SELECT unnest(?)) ORDER BY 1", [list(f.venues)]).fetchall())[-2:]
    if len(years) < 2:
        return Result("editions", "Edition against edition", [], [], "unavailable", f.label,
                      ["Needs two years in the data."])
    result = edition_comparison(db, f, years[0], years[-1])
    result.name = "editions"
    return result


def net_flows(db: Path, f: Filters) -> Result:
    """Per country: people working there minus people originating there (net gain or loss).

    From the sampled people whose origin and work are both known: a = from elsewhere and
    working in c, b = from c and working elsewhere; net = N (a - b) / n with the normal
    interval of a difference of two multinomial counts, with the finite population
    correction: var = N² (1 - n/N) [(p_a + p_b) - (p_a - p_b)²] / (n - 1) (Cochran 3.5).
    """
    if not f.years:
        return Result("net_flows", "Net gain or loss of talent per country", [], [], "unavailable", f.label,
                      ["Estimated per sampled population: choose the year(s) of a sample."])
    try:
        data = estimates.estimate(db, list(f.venues), list(f.years), f.tier, "flow")
    except UserError as exc:
        return Result("net_flows", "Net gain or loss of talent per country", [], [], "unavailable", f.label, [str(exc)])
    paths = [(r["group"].split(" -> "), r["estimate"]) for r in data["figures"]]
    N = data["population_size"]
    n = data["figures"][0]["sample_size"] if data["figures"] else 0
    if not n:
        return Result("net_flows", "Net gain or loss of talent per country", [], [], "unavailable", f.label, [])
    # back from estimates to sampled counts: each path's estimate is N * count / n
    counts = [(stages, round(est * n / N)) for stages, est in paths]
    countries = sorted({s[0] for s, _ in counts} | {s[2] for s, _ in counts})
    import math

    from scipy.stats import norm as normal

    z = normal.ppf(0.975)
    rows = []
    for c in countries:
        a = sum(k for s, k in counts if s[2] == c and s[0] != c)
        b = sum(k for s, k in counts if s[0] == c and s[2] != c)
        pa, pb = a / n, b / n
        net = N * (pa - pb)
        var = N * N * (1 - n / N) * ((pa + pb) - (pa - pb) ** 2) / max(n - 1, 1) if n < N else 0.0
        half = z * math.sqrt(max(var, 0.0))
        rows.append([c, round(net, 1), round(net - half, 1), round(net + half, 1), a, b])
    rows.sort(key=lambda r: -r[1])
    return Result("net_flows", "Net gain or loss of talent per country (work minus origin)",
                  ["country", "net", "low", "high", "in_sampled", "out_sampled"], rows,
                  "exact" if data["sample"] is None else "sample", f.label,
                  ["Positive: more people work in the country than come from it."], n, N)


def origin_mix(db: Path, f: Filters, country: str) -> Result:
    """The origins of the people who work in a country (e.g. US institutions by origin)."""
    title = f"Where the people working in {country_name(country) or country} come from"
    if not f.years:
        return Result("origin_mix", title, [], [], "unavailable", f.label,
                      ["Estimated per sampled population: choose the year(s) of a sample."])
    try:
        data = estimates.estimate(db, list(f.venues), list(f.years), f.tier, "flow")
    except UserError as exc:
        return Result("origin_mix", title, [], [], "unavailable", f.label, [str(exc)])
    in_country = [(r["group"].split(" -> ")[0], r) for r in data["figures"] if r["group"].split(" -> ")[2] == country]
    total = sum(r["estimate"] for _, r in in_country) or 1
    by_origin: dict[str, list] = {}
    for origin, r in in_country:
        row = by_origin.setdefault(origin, [origin, 0.0, 0.0, 0.0])
        row[1] += r["estimate"]
        row[2] += r["low"]
        row[3] += r["high"]
    rows = sorted(([o, round(e, 1), round(e / total, 4)] for o, e, _, _ in by_origin.values()), key=lambda r: -r[1])
    return Result("origin_mix", title, ["origin", "estimate", "share_of_country"], rows,
                  "exact" if data["sample"] is None else "sample", f.label,
                  ["Shares of the people working in the country whose origin is known; intervals per path are in flows."])


ANALYSES = {
    "work_countries": work_countries, "work_sectors": work_sectors, "top_institutions": top_institutions,
    "top_institutions_asia": lambda db, f: top_institutions(db, f, 14, region="asia"),
    "trends": trends, "tier_comparison": tier_comparison,
    "origin_countries": lambda db, f: career_stage(db, f, "origin"),
    "graduate_countries": lambda db, f: career_stage(db, f, "graduate"),
    "flows": flows,
    "net_flows": net_flows,
    "editions": editions,
    "us_origin_mix": lambda db, f: origin_mix(db, f, "US"),
}
