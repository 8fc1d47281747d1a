"""The tracker's tables: named analyses over the database, each with its method and coverage.

Every analysis takes a `Population` (venues, years, tier, place; population.py) and returns a `Result`:
columns, rows, the method, the coverage (the share of the population whose value is
known) and notes saying what the figure rests on. The web API, the static site, the
terminal report and the exports all show these results; none computes anything of its own.

Methods: `exact` when counted from data known for at least EXACT_COVERAGE of the
population; `partial` when counted from fewer (the coverage says how few: shares are of
the people with a value, who may not be like the rest); `sample` when estimated from an
annotated sample, with intervals; `assisted` when estimated from an annotated sample and
everyone's predictions (estimates.py), with intervals; `model` when no sample is annotated
yet: what the predictions alone say (predicted counts, no interval: never an estimate,
and labelled so); `unavailable`. An estimated row too uncertain to show (the NCHS rule,
stats.too_uncertain) has no figure, only its interval and the reason in `flag`.

A person is counted once per figure: for "where they work", by the country, institution
and sector of their latest accepted paper in the filtered years that has one. The
country is the lab's (`Google, Zurich` is Switzerland) or, with `place = "hq"`, the
headquarters' (the country of the institution's topmost parent: the United States).
Regions and region groups come from regions.csv and region_groups.csv. Origin, graduate
school, flows and retention come from `career_stages` and samples (estimates.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import estimates, regions
from .errors import UserError
from .institutions.places import country_name
from .population import Population
from .store import Tracker, reader, tracker_of

EXACT_COVERAGE = 0.95
# a growth multiple needs at least this many people in its first year to mean anything
GROWTH_BASE = 20


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
    coverage: float | None = None  # the share of the population whose value is known

    def as_dict(self) -> dict:
        return asdict(self)


def _unavailable(name: str, title: str, f: Population, *notes: str) -> Result:
    return Result(name, title, [], [], "unavailable", f.label, list(notes), coverage=0.0)


def filters_of(venues: list[str] | None, years: list[int] | None, tier: str | None, place: str | None = None
               ) -> Population:
    return Population.of(venues, years, tier, place)


def method_of(coverage: float) -> str:
    if coverage <= 0:
        return "unavailable"  # nobody's value is known: no figure at all
    return "exact" if coverage >= EXACT_COVERAGE else "partial"


def coverage_note(known: int, total: int, what: str = "people") -> str:
    share = known / total if total else 0.0
    if share >= EXACT_COVERAGE:
        return f"{known:,} of {total:,} {what} ({share:.1%}) have a value; shares are of those."
    return (f"Partial: only {known:,} of {total:,} {what} ({share:.1%}) have a value; shares are of those, who "
            "may not be like the rest.")


def _country(f: Population) -> str:
    """The work country of an authorship `a` (joined to its institution `i`)."""
    return "coalesce(i.hq_country, a.country)" if f.place == "hq" else "a.country"


# the person's latest accepted authorship with a country, in the filtered years
def _latest(f: Population, where: str) -> str:
    return f"""
WITH located AS (
    SELECT a.person_id, a.year, {_country(f)} AS country, a.institution_id, a.institution, a.sector,
           row_number() OVER (PARTITION BY a.person_id ORDER BY a.year DESC, a.venue, a.paper_id,
                              a.author_position) AS rank
    FROM authorships a LEFT JOIN institutions i USING (institution_id)
    WHERE {where} AND a.country IS NOT NULL
), latest AS (SELECT * EXCLUDE (rank) FROM located WHERE rank = 1)
"""


def _people(con, f: Population) -> int:
    where, params = f.where()
    return con.execute(f"SELECT count(DISTINCT a.person_id) FROM authorships a WHERE {where}", params).fetchone()[0]


def year_coverage(con, f: Population) -> list[tuple[int, int, int]]:
    """Per year: people, and people with a country at publication."""
    where, params = f.where()
    return con.execute(f"""SELECT a.year, count(DISTINCT a.person_id),
                                  count(DISTINCT a.person_id) FILTER (WHERE a.country IS NOT NULL)
                           FROM authorships a WHERE {where} GROUP BY 1 ORDER BY 1""", params).fetchall()


def _thin_years(con, f: Population) -> list[str]:
    """For views over several years: the years whose people mostly have no country."""
    if len(f.years) == 1:
        return []
    thin = [(y, k / n if n else 0) for y, n, k in year_coverage(con, f) if n and k / n < EXACT_COVERAGE]
    if not thin:
        return []
    listed = ", ".join(f"{y} ({share:.0%})" for y, share in thin)
    return [f"Years where fewer than {EXACT_COVERAGE:.0%} of people have a country: {listed}; their people count "
            "as located only through papers of other years."]


def work_countries(db: Tracker | Path, f: Population) -> Result:
    where, params = f.where()
    with reader(db, with_workspace=False) as con:
        total = _people(con, f)
        rows = con.execute(_latest(f, where) + """
            SELECT country, count(*) AS people FROM latest GROUP BY country ORDER BY people DESC, country""",
                           params).fetchall()
        thin = _thin_years(con, f)
    located = sum(r[1] for r in rows)
    coverage = located / total if total else 0.0
    place = ("Country of the headquarters of each person's employer (its topmost parent institution)"
             if f.place == "hq" else "Country of the lab each person's latest paper names")
    return Result("work_countries", "Where they work: country at publication", ["country", "name", "people", "share"],
                  [[c, country_name(c), n, round(n / located, 4)] for c, n in rows], method_of(coverage), f.label,
                  [coverage_note(located, total), f"{place}.", *thin], located, total, round(coverage, 4))


def work_regions(db: Tracker | Path, f: Population) -> Result:
    """Where they work by region (regions.csv)."""
    countries = work_countries(db, f)
    by_region: dict[str, int] = {}
    for code, _, people, _ in countries.rows:
        region = regions.region_of(code) or "unknown region"
        by_region[region] = by_region.get(region, 0) + people
    located = sum(by_region.values()) or 1
    rows = [[r, n, round(n / located, 4)] for r, n in sorted(by_region.items(), key=lambda kv: (-kv[1], kv[0]))]
    return Result("work_regions", "Where they work: region at publication", ["region", "people", "share"], rows,
                  countries.method, countries.filters, [*countries.notes, "Regions as in regions.csv (UN M49 "
                  "sub-regions; the Middle East apart from Asia)."], countries.sample_size, countries.population_size,
                  countries.coverage)


def work_sectors(db: Tracker | Path, f: Population) -> Result:
    where, params = f.where()
    with reader(db, with_workspace=False) as con:
        total = _people(con, f)
        rows = con.execute(_latest(f, where) + """
            SELECT sector, count(*) FROM latest GROUP BY 1 ORDER BY 2 DESC, 1""", params).fetchall()
    known = sum(n for s, n in rows if s)
    coverage = known / total if total else 0.0
    return Result("work_sectors", "Where they work: sector at publication", ["sector", "people", "share"],
                  [[s, n, round(n / known, 4)] for s, n in rows if s], method_of(coverage), f.label,
                  [coverage_note(known, total), "Sector of the institution of each person's latest paper."],
                  known, total, round(coverage, 4))


def top_institutions(db: Tracker | Path, f: Population, limit: int = 25, country: str | None = None,
                     region: str | None = None) -> Result:
    where, params = f.where()
    extra, extra_params = "", []
    if country:
        extra, extra_params = f"AND {_country(f)} = ?", [country.upper()]
    elif region:
        extra, extra_params = f"AND {_country(f)} IN (SELECT unnest(?))", [list(regions.group(region))]
    with reader(db, with_workspace=False) as con:
        total = _people(con, f)
        known = con.execute(f"SELECT count(DISTINCT a.person_id) FROM authorships a WHERE {where} "
                            "AND a.institution_id IS NOT NULL", params).fetchone()[0]
        rows = con.execute(f"""
            SELECT i.name, i.country, i.sector, count(DISTINCT a.person_id) AS people
            FROM authorships a JOIN institutions i USING (institution_id)
            WHERE {where} {extra}
            GROUP BY ALL ORDER BY people DESC, i.name LIMIT ?""", [*params, *extra_params, limit]).fetchall()
    coverage = known / total if total else 0.0
    scope = f" in {country_name(country.upper())}" if country else f" in {region.title()}" if region else " worldwide"
    notes = ["People with at least one accepted paper affiliated with the institution (a person at two "
             "institutions counts for both)."]
    if region:
        notes.append(f"{region.title()}: " + ", ".join(_regions_of(region)) + " (region_groups.csv).")
    return Result("top_institutions", f"Top {len(rows)} institutions{scope}", ["institution", "country", "sector", "people"],
                  [list(r) for r in rows], method_of(coverage), f.label,
                  [coverage_note(known, total).replace("have a value", "have an institution"), *notes],
                  known, total, round(coverage, 4))


def _regions_of(group: str) -> list[str]:
    members = set(regions.group(group))
    return sorted({r for c, r in regions.regions().items() if c in members})


def trends(db: Tracker | Path, f: Population, countries: int = 8) -> Result:
    """People per year by country of work; years without affiliations are left out."""
    where, params = f.where()
    with reader(db, with_workspace=False) as con:
        rows = con.execute(f"""
            SELECT a.year, {_country(f)} AS country, count(DISTINCT a.person_id)
            FROM authorships a LEFT JOIN institutions i USING (institution_id)
            WHERE {where} AND a.country IS NOT NULL GROUP BY ALL ORDER BY 1, 3 DESC""", params).fetchall()
        per_year = year_coverage(con, f)
    covered = {y: k / n for y, n, k in per_year if n}
    kept_years = sorted(y for y, share in covered.items() if share >= 0.5)
    left_out = sorted(y for y, share in covered.items() if share < 0.5)
    rows = [r for r in rows if r[0] in kept_years]
    totals: dict[str, int] = {}
    for _, c, n in rows:
        totals[c] = totals.get(c, 0) + n
    leaders = sorted(totals, key=lambda c: -totals[c])[:countries]
    by = {(y, c): n for y, c, n in rows}
    table = [[y, c, by.get((y, c), 0)] for c in leaders for y in kept_years]
    notes = []
    if left_out:
        notes.append(f"Left out, fewer than half their people have a country: {', '.join(map(str, left_out))}.")
    partial = [y for y in kept_years if covered[y] < EXACT_COVERAGE]
    if partial:
        notes.append("Partial years (share of people with a country): "
                     + ", ".join(f"{y} {covered[y]:.0%}" for y in partial) + ".")
    for c in leaders:
        first_year = next((y for y in kept_years if by.get((y, c), 0) >= GROWTH_BASE), None)
        if first_year is None or not kept_years:
            continue
        first, last = by[(first_year, c)], by.get((kept_years[-1], c), 0)
        if first_year != kept_years[-1]:
            notes.append(f"{c}: {first:,} → {last:,} people, ×{last / first:.1f} from {first_year} to "
                         f"{kept_years[-1]} (growth from the first year with at least {GROWTH_BASE} people)")
    coverage = (sum(k for y, n, k in per_year if y in kept_years) / max(1, sum(n for y, n, k in per_year
                                                                                 if y in kept_years)))
    return Result("trends", "People per year by country of work (at publication)", ["year", "country", "people"],
                  table, method_of(coverage) if kept_years else "unavailable", f.label, notes,
                  coverage=round(coverage, 4) if kept_years else 0.0)


def paper_countries(db: Tracker | Path, f: Population) -> Result:
    """The country mix of papers: the share of papers with at least one author in each
    country, counting affiliation entries that could not be placed on an author."""
    where, params = f.where("p")
    with reader(db, with_workspace=False) as con:
        total, known = con.execute(f"SELECT count(*), count(p.countries) FROM papers p WHERE {where}",
                                   params).fetchone()
        rows = con.execute(f"""SELECT c, count(*) FROM (SELECT unnest(p.countries) AS c FROM papers p WHERE {where})
                               GROUP BY 1 ORDER BY 2 DESC, 1""", params).fetchall()
    coverage = known / total if total else 0.0
    return Result("paper_countries", "Papers with an author in each country", ["country", "name", "papers", "share"],
                  [[c, country_name(c), n, round(n / known, 4)] for c, n in rows], method_of(coverage), f.label,
                  [coverage_note(known, total, "papers").replace("have a value", "have a country"),
                   "A paper counts once for every country of its authors, so shares add up to more than 100%. "
                   "Affiliations that could not be placed on an author still tell the paper's countries."],
                  known, total, round(coverage, 4))


def tier_comparison(db: Tracker | Path, f: Population) -> Result:
    rows: dict[str, dict[str, float]] = {}
    coverages: dict[str, float] = {}
    unavailable = []
    for tier in ("top20", "top2"):
        try:
            result = work_countries(db, f.with_(tier=tier))
        except UserError:
            unavailable.append(tier)
            continue
        if not result.population_size:
            unavailable.append(tier)
            continue
        coverages[tier] = result.coverage or 0.0
        for country, _, _, share in result.rows:
            rows.setdefault(country, {})[tier] = share
    ranked = sorted(rows, key=lambda c: -rows[c].get("top20", 0))[:15]
    notes = [f"Coverage: {', '.join(f'{t} {c:.0%}' for t, c in coverages.items())}."]
    if unavailable:
        notes.append(f"No {' or '.join(unavailable)} authors in these years (no oral label): shown as -, not as 0.")
    coverage = min(coverages.values()) if coverages else 0.0
    return Result("tier_comparison", "Top 2% against top 20%: share of people by country of work",
                  ["country", "top20_share", "top2_share"],
                  # a tier with no label is empty (None); a country with nobody in a tier that has one is 0
                  [[c, *(rows[c].get(t, 0.0 if t in coverages else None) for t in ("top20", "top2"))] for c in ranked],
                  method_of(coverage) if coverages else "unavailable", f"{'+'.join(f.venues)} {f.years_label}",
                  notes, coverage=round(coverage, 4))


def edition_comparison(db: Tracker | Path, f: Population, first: int, second: int) -> Result:
    a_result = work_countries(db, f.with_(years=(first,)))
    b_result = work_countries(db, f.with_(years=(second,)))
    a = {r[0]: r for r in a_result.rows}
    b = {r[0]: r for r in b_result.rows}
    ranked = sorted(set(a) | set(b), key=lambda c: -(b.get(c, [0, 0, 0])[2]))[:15]
    coverage = min(a_result.coverage or 0.0, b_result.coverage or 0.0)
    return Result("edition_comparison", f"{first} against {second}: people by country of work",
                  ["country", f"people_{first}", f"share_{first}", f"people_{second}", f"share_{second}"],
                  [[c, a.get(c, [0, 0, 0, 0])[2], a.get(c, [0, 0, 0, 0])[3], b.get(c, [0, 0, 0, 0])[2],
                    b.get(c, [0, 0, 0, 0])[3]] for c in ranked], method_of(coverage), f"{'+'.join(f.venues)} {f.tier}",
                  [f"Coverage: {first} {a_result.coverage:.0%}, {second} {b_result.coverage:.0%}."],
                  coverage=round(coverage, 4))


def career_stage(db: Tracker | Path, f: Population, stage: str) -> Result:
    """Origin or graduate (or work, from careers) by country: exact, estimated (estimates.py),
    or, before any annotation, model-only."""
    name, title = f"{stage}_countries", _STAGE_TITLES[stage]
    if not f.years:
        return _unavailable(name, title, f, "Figures from careers are estimated per sampled population: choose "
                            "the year(s) of a sample.")
    try:
        data = estimates.estimate(db, list(f.venues), list(f.years), f.tier, stage)
    except UserError as exc:
        return _model(db, f, stage, name, title, str(exc))
    rows = [[r["group"], *_shown(r, "estimate"), r["low"], r["high"], *_shown(r, "share"), r["share_low"],
             r["share_high"], r.get("flag")] for r in data["figures"]]
    first = data["figures"][0] if data["figures"] else {}
    method, coverage, notes = _estimate_method(data)
    return Result(name, title, ["country", "estimate", "low", "high", "share", "share_low", "share_high", "flag"],
                  rows, method, f.label, notes, first.get("sample_size"), data["population_size"], coverage)


def _shown(row: dict, key: str) -> list:
    """A figure, or None when it is too uncertain to show (its interval still is)."""
    return [None if row.get("flag") else row[key]]


def _model(db: Tracker | Path, f: Population, by: str, name: str, title: str, reason: str) -> Result:
    """Model-only figures: the predicted counts, labelled as predictions, never as estimates."""
    try:
        data = estimates.model_figures(db, list(f.venues), list(f.years), f.tier, by)
    except UserError as exc:
        return _unavailable(name, title, f, reason, str(exc))
    if not data["figures"]:
        return _unavailable(name, title, f, reason, "No person has a prediction.")
    notes = _model_notes(data, reason)
    if by == "flow":
        rows = [r["group"].split(" -> ") + [r["predicted"], r["share"]] for r in data["figures"]]
        columns = ["origin", "graduate", "work", "predicted", "share"]
    else:
        rows = [[r["group"], r["predicted"], r["share"]] for r in data["figures"]]
        columns = ["country", "predicted", "share"]
    return Result(name, title, columns, rows, "model", f.label, notes, None, data["population_size"],
                  data["coverage"])


MODEL_NOTE = ("Model only: each person's predicted country from their career evidence (papers' affiliations, job "
              "titles, profiles), counted; not an estimate and with no interval. {coverage:.0%} of the people have a "
              "prediction. Annotate a sample (talent-tracker sample) for estimates.")


def _estimate_method(data: dict) -> tuple[str, float, list[str]]:
    """Method, coverage (of the sample: the share of sampled people whose value is known) and notes."""
    sample = data["sample"]
    if sample is None:
        return "exact", 1.0, []
    coverage = round(sample["known"] / sample["people"], 4) if sample["people"] else 0.0
    notes = [f"Sample {sample['sample_id']} ({sample['design']}): {sample['known']:,} of "
             f"{sample['people']:,} sampled people have a known value ({coverage:.0%})."]
    if data.get("method") == "assisted":
        notes.append(f"Model-assisted: the sample's annotations correct the predictions of all "
                     f"{data['population_size']:,} people ({data.get('predictions_coverage', 0):.0%} have one); "
                     "exact 95% intervals.")
    if any(r.get("flag") for r in data["figures"]):
        notes.append("Rows without a figure are too uncertain to show (sample under 30, or an interval too wide "
                      "for the share): only their interval is given.")
    return data.get("method", "sample"), coverage, notes


_STAGE_TITLES = {"origin": "Where they come from: country of undergraduate degree",
                 "graduate": "Where they train: country of graduate school",
                 "work": "Where they work: country of current employer (careers)"}
FLOWS_TITLE = "Paths: origin → graduate school → work"


def flows(db: Tracker | Path, f: Population) -> Result:
    if not f.years:
        return _unavailable("flows", FLOWS_TITLE, f, "Flows are estimated per sampled population: choose the "
                            "year(s) of a sample.")
    try:
        data = _flow_estimate(db, f)
    except UserError as exc:
        return _model(db, f, "flow", "flows", FLOWS_TITLE, str(exc))
    rows = [_path(r["group"]) + [*_shown(r, "estimate"), r["low"], r["high"], r.get("flag")]
            for r in data["figures"]]
    method, coverage, notes = _estimate_method(data)
    return Result("flows", FLOWS_TITLE, ["origin", "graduate", "work", "estimate", "low", "high", "flag"], rows,
                  method, f.label, notes,
                  data["figures"][0]["sample_size"] if data["figures"] else None, data["population_size"], coverage)


def _flow_estimate(db: Tracker | Path, f: Population) -> dict:
    """The flow estimate that flows, retention, net flows and origin mixes all read: made
    once per build, workspace generation and population, not once per chart."""
    tracker = tracker_of(db)
    key = ("flow", tracker.build_stamp(), tracker.workspace_generation(), f.venues, f.years, f.tier)
    return tracker.memo(key, lambda: estimates.estimate(tracker, list(f.venues), list(f.years), f.tier, "flow"))


NEEDS_YEARS = "Estimated per sampled population: choose the year(s) of a sample."


def _flow_model(db: Tracker | Path, f: Population) -> dict:
    """The predicted paths (model only), shown until a sample of the population is annotated."""
    return estimates.model_figures(db, list(f.venues), list(f.years), f.tier, "flow")


def _model_notes(model: dict, reason: UserError | str) -> list[str]:
    return [MODEL_NOTE.format(coverage=model["coverage"]), f"No estimate yet: {reason}"]


def _flow_model_result(db: Tracker | Path, f: Population, name: str, title: str, reason: UserError,
                       columns: list[str], rows_of) -> Result:
    """What a flow analysis shows before its population has an estimate (`reason`): its
    rows from the predicted paths (`rows_of(model)`), labelled model only."""
    try:
        model = _flow_model(db, f)
    except UserError as inner:
        return _unavailable(name, title, f, str(reason), str(inner))
    rows = rows_of(model)
    return Result(name, title, columns, rows, "model" if rows else "unavailable", f.label,
                  _model_notes(model, reason), None, model["population_size"], model["coverage"])


def _path(group: str) -> list[str]:
    return [group] * 3 if group == estimates.OTHER_PATHS else group.split(" -> ")


def retention(db: Tracker | Path, f: Population) -> Result:
    """Per origin country, the share of its people who work there."""
    title = "Retention: the share of each origin country's people who work there"
    if not f.years:
        return _unavailable("retention", title, f, NEEDS_YEARS)
    try:
        data = _flow_estimate(db, f)
    except UserError as exc:
        return _flow_model_result(db, f, "retention", title, exc, ["origin", "retention", "people_predicted"],
                                  lambda model: [[r["origin"], r["retention"], r["origin_predicted"]]
                                                 for r in model["retention"] if r["origin_predicted"] >= estimates.MIN_PATH])
    rows = [[r["origin"], None if r.get("flag") else r["retention"], r["low"], r["high"], r["origin_sampled"],
             r["stayed"], r.get("flag")] for r in data.get("retention", [])]
    method, coverage, notes = _estimate_method(data)
    return Result("retention", title, ["origin", "retention", "low", "high", "origin_sampled", "stayed", "flag"],
                  rows, method, f.label, notes,
                  data["figures"][0]["sample_size"] if data["figures"] else None, data["population_size"], coverage)


def country_profile(db: Tracker | Path, f: Population, country: str) -> dict:
    code = country.upper()
    if country_name(code) is None:
        raise UserError(f"unknown country code {country!r}")
    works = work_countries(db, f)
    row = next((r for r in works.rows if r[0] == code), [code, country_name(code), 0, 0.0])
    return {
        "country": code, "name": country_name(code), "region": regions.region_of(code), "people": row[2],
        "share": row[3], "filters": f.label, "coverage": works.coverage, "method": works.method,
        "institutions": top_institutions(db, f, 15, country=code).as_dict(),
        "trend": [[y, n] for y, c, n in trends(db, f, countries=200).rows if c == code],
        "origin_mix": origin_mix(db, f, code).as_dict(),
    }


def editions(db: Tracker | Path, f: Population) -> Result:
    """Two editions side by side: the first and last of the filtered years, else the two
    latest years in which most people have a country (a year without them cannot be compared)."""
    years = f.years
    if len(years) < 2:
        with reader(db, with_workspace=False) as con:
            covered = year_coverage(con, f.with_(years=()))
        years = tuple(y for y, n, k in covered if n and k / n >= 0.5)[-2:]
    if len(years) < 2:
        return _unavailable("editions", "Edition against edition", f,
                            "Needs two years in which most people have a country.")
    result = edition_comparison(db, f, years[0], years[-1])
    result.name = "editions"
    return result


def net_flows(db: Tracker | Path, f: Population) -> Result:
    """Per country: people working there minus people originating there (net gain or loss).

    From the sampled people whose origin and work are both known: a = from elsewhere and
    working in c, b = from c and working elsewhere; net = N (a - b) / n with the normal
    interval of a difference of two multinomial counts, with the finite population
    correction: var = N² (1 - n/N) [(p_a + p_b) - (p_a - p_b)²] / (n - 1) (Cochran 3.5).
    From the sample alone, also when the paths are model-assisted. Before any annotation,
    the predicted counts (model only).
    """
    title = "Net gain or loss of talent per country (work minus origin)"
    if not f.years:
        return _unavailable("net_flows", title, f, NEEDS_YEARS)
    try:
        data = _flow_estimate(db, f)
    except UserError as exc:
        def predicted(model: dict) -> list[list]:
            counts = [(path.split(" -> "), k) for path, k in model["paths"].items()]
            return sorted(([c, a - b, a, b] for c, a, b in _in_out(counts)), key=lambda r: -r[1])

        return _flow_model_result(db, f, "net_flows", title, exc,
                                  ["country", "net_predicted", "in_predicted", "out_predicted"], predicted)
    counts = [(path.split(" -> "), k) for path, k in data["paths"].items()]
    N = data["population_size"]
    n = sum(k for _, k in counts)
    if not n:
        return _unavailable("net_flows", title, f)
    import math

    from scipy.stats import norm as normal

    z = normal.ppf(0.975)
    rows = []
    for c, a, b in _in_out(counts):
        pa, pb = a / n, b / n
        net = N * (pa - pb)
        var = N * N * (1 - n / N) * ((pa + pb) - (pa - pb) ** 2) / max(n - 1, 1) if n < N else 0.0
        half = z * math.sqrt(max(var, 0.0))
        rows.append([c, round(net, 1), round(net - half, 1), round(net + half, 1), a, b])
    rows.sort(key=lambda r: -r[1])
    method, coverage, notes = _estimate_method(data)
    if method == "assisted":
        method = "sample"
        notes = [n_ for n_ in notes if not n_.startswith("Model-assisted")] + ["From the sample alone."]
    return Result("net_flows", title, ["country", "net", "low", "high", "in_sampled", "out_sampled"], rows, method,
                  f.label, ["Positive: more people work in the country than come from it.", *notes], n, N, coverage)


def _in_out(counts: list[tuple[list[str], int]]) -> list[tuple[str, int, int]]:
    """Per country: people from elsewhere working there, and people from there working elsewhere."""
    countries = sorted({s[0] for s, _ in counts} | {s[2] for s, _ in counts})
    return [(c, sum(k for s, k in counts if s[2] == c and s[0] != c),
             sum(k for s, k in counts if s[0] == c and s[2] != c)) for c in countries]


def origin_mix(db: Tracker | Path, f: Population, country: str) -> Result:
    """The origins of the people who work in a country (e.g. US institutions by origin)."""
    title = f"Where the people working in {country_name(country) or country} come from"
    if not f.years:
        return _unavailable("origin_mix", title, f, NEEDS_YEARS)
    try:
        data = _flow_estimate(db, f)
        method, coverage, notes = _estimate_method(data)
        notes = [n_ for n_ in notes if not n_.startswith("Model-assisted")]
        if method == "assisted":
            method = "sample"
        scale = data["population_size"] / max(1, sum(data["paths"].values()))
    except UserError as exc:
        try:
            data = _flow_model(db, f)
        except UserError as inner:
            return _unavailable("origin_mix", title, f, str(exc), str(inner))
        method, coverage, scale = "model", data["coverage"], 1.0
        notes = _model_notes(data, exc)
    by_origin: dict[str, float] = {}
    for path, k in data["paths"].items():
        origin, _, work = path.split(" -> ")
        if work == country:
            by_origin[origin] = by_origin.get(origin, 0) + k
    total = sum(by_origin.values()) or 1
    rows = sorted(([o, round(k * scale, 1), round(k / total, 4)] for o, k in by_origin.items()), key=lambda r: -r[1])
    return Result("origin_mix", title, ["origin", "estimate" if method != "model" else "predicted",
                                        "share_of_country"], rows, method if rows else "unavailable", f.label,
                  ["Shares of the people working in the country whose origin is known.", *notes], coverage=coverage)


ANALYSES = {
    "work_countries": work_countries, "work_regions": work_regions, "work_sectors": work_sectors,
    "top_institutions": top_institutions,
    "top_institutions_asia": lambda db, f: top_institutions(db, f, 14, region="asia"),
    "paper_countries": paper_countries,
    "trends": trends, "tier_comparison": tier_comparison,
    "origin_countries": lambda db, f: career_stage(db, f, "origin"),
    "graduate_countries": lambda db, f: career_stage(db, f, "graduate"),
    "flows": flows,
    "retention": retention,
    "net_flows": net_flows,
    "editions": editions,
    "us_origin_mix": lambda db, f: origin_mix(db, f, "US"),
}
