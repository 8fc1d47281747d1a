"""The tracker's tables: named analyses over the database, each with its method and coverage.

Every analysis takes a `Population` (venues, years, tier, place; population.py) and returns a `Result`:
columns, rows, the method, the coverage (the share of the population whose value is
known) and notes saying what the figure rests on. The web API, the static site, the
terminal report and the exports all show these results; none computes anything of its own.

Methods: `exact` when counted from data known for at least EXACT_COVERAGE of the
population; `partial` when counted from fewer (the coverage says how few: shares are of
the people with a value, who may not be like the rest); `sample` when estimated from an
annotated sample, with intervals; `assisted` when estimated from an annotated sample and
everyone's predictions (estimates.py), with intervals; `unavailable`, with a note saying
what is missing and the command that supplies it (origin, graduate school, flows,
retention and net flows are shown from annotated samples only: nothing inferred stands in
for them). An estimated row too uncertain to show (stats.too_uncertain) has no figure, only
its interval and the reason in `flag`.

A person is counted once per figure: for "where they work", by the country, institution
and sector of their latest accepted paper in the filtered years that has one. The
country is the lab's (`Google, Zurich` is Switzerland) or, with `place = "hq"`, the
headquarters' (the country of the institution's topmost parent: the United States).
Regions and region groups come from regions.csv and region_groups.csv. Work at
publication is measures.work_at_publication's, the one `estimate` counts too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import pycountry

from talent_tracker import regions
from talent_tracker.errors import UserError
from talent_tracker.figures import estimates, measures
from talent_tracker.institutions.places import country_name
from talent_tracker.population import Population
from talent_tracker.store.reading import Tracker

EXACT_COVERAGE = 0.95
# a growth multiple needs at least this many people in its first year to mean anything
GROWTH_BASE = 20
# ... and a coverage (share of people with a country) this close to the last year's
GROWTH_COVERAGE = 0.05


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


_country = measures.work_country_sql
_latest = measures.latest_sql  # the one definition of work at publication (measures.py)


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
    per_year = year_coverage(con, f)
    thin = [(y, k / n) for y, n, k in per_year if n and k / n < EXACT_COVERAGE]
    if not thin:
        return []
    low, high = min(s for _, s in thin), max(s for _, s in thin)
    shares = f"{low:.0%}" if f"{low:.0%}" == f"{high:.0%}" else f"{low:.0%}–{high:.0%}"
    return [f"{len(thin)} of the {len(per_year)} years have fewer than {EXACT_COVERAGE:.0%} of people "
            f"with a country ({shares}): {year_spans([y for y, _ in thin])}. Their people count as located only "
            "through papers of other years."]


def year_spans(years: list[int]) -> str:
    """Years as runs: 1987–1996, 1999, 2001–2003 (a paragraph of 38 years reads as three spans)."""
    spans: list[list[int]] = []
    for y in sorted(years):
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def work_countries(tracker: Tracker, f: Population) -> Result:
    where, params = f.where()
    with tracker.reader(with_workspace=False) as con:
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


def work_regions(tracker: Tracker, f: Population) -> Result:
    """Where they work by region (regions.csv)."""
    countries = work_countries(tracker, f)
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


def work_sectors(tracker: Tracker, f: Population) -> Result:
    where, params = f.where()
    with tracker.reader(with_workspace=False) as con:
        total = _people(con, f)
        rows = con.execute(_latest(f, where) + """
            SELECT sector, count(*) FROM latest GROUP BY 1 ORDER BY 2 DESC, 1""", params).fetchall()
    known = sum(n for s, n in rows if s)
    coverage = known / total if total else 0.0
    return Result("work_sectors", "Where they work: sector at publication", ["sector", "people", "share"],
                  [[s, n, round(n / known, 4)] for s, n in rows if s], method_of(coverage), f.label,
                  [coverage_note(known, total), "Sector of the institution of each person's latest paper."],
                  known, total, round(coverage, 4))


def top_institutions(tracker: Tracker, f: Population, limit: int = 25, country: str | None = None,
                     region: str | None = None) -> Result:
    where, params = f.where()
    extra, extra_params = "", []
    if country:
        extra, extra_params = f"AND {_country(f)} = ?", [country.upper()]
    elif region:
        extra, extra_params = f"AND {_country(f)} IN (SELECT unnest(?))", [list(regions.group(region))]
    with tracker.reader(with_workspace=False) as con:
        total = _people(con, f)
        known = con.execute(f"SELECT count(DISTINCT a.person_id) FROM authorships a WHERE {where} "
                            "AND a.institution_id IS NOT NULL", params).fetchone()[0]
        # one row per institution and work country (the lab's, or the headquarters' with place=hq), so an
        # institution's count is the same on the institutions page and on its country's profile
        rows = con.execute(f"""
            SELECT i.name, {_country(f)} AS country, i.sector, count(DISTINCT a.person_id) AS people
            FROM authorships a JOIN institutions i USING (institution_id)
            WHERE {where} {extra} AND {_country(f)} IS NOT NULL
            GROUP BY ALL ORDER BY people DESC, i.name, country LIMIT ?""", [*params, *extra_params, limit]).fetchall()
    coverage = known / total if total else 0.0
    scope = (f" in {country_name(country.upper())}" if country else
             f" in {region.title()} ({', '.join(_regions_of(region))})" if region else " worldwide")
    where_counted = "its headquarters' country" if f.place == "hq" else "the country of the lab the paper names"
    notes = ["People with at least one accepted paper affiliated with the institution, by " + where_counted
             + " (a person at two institutions, or at one institution's labs in two countries, counts for each)."]
    if region:
        notes.append(f"{region.title()}: the institutions whose work country is in " + ", ".join(_regions_of(region))
                     + " (region_groups.csv); the Middle East is a region of its own.")
    return Result("top_institutions", f"Top {len(rows)} institutions{scope}", ["institution", "country", "sector", "people"],
                  [list(r) for r in rows], method_of(coverage), f.label,
                  [coverage_note(known, total).replace("have a value", "have an institution"), *notes],
                  known, total, round(coverage, 4))


def _regions_of(group: str) -> list[str]:
    members = set(regions.group(group))
    return sorted({r for c, r in regions.regions().items() if c in members})


def trends(tracker: Tracker, f: Population, countries: int = 8) -> Result:
    """People per year by country of work; years without affiliations are left out."""
    where, params = f.where()
    with tracker.reader(with_workspace=False) as con:
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
    # a year left out stays in the table with no count, so a line breaks there instead of bridging it
    table = [[y, c, None if y in left_out else by.get((y, c), 0)]
             for c in leaders for y in sorted(covered)] if kept_years else []
    notes = []
    if left_out:
        notes.append(f"No figure (the lines break) where fewer than half the people have a country: "
                     f"{year_spans(left_out)}.")
    partial = [y for y in kept_years if covered[y] < EXACT_COVERAGE]
    if partial:
        shares = [covered[y] for y in partial]
        notes.append(f"Partial years, {min(shares):.0%}–{max(shares):.0%} of people with a country: "
                     f"{year_spans(partial)} (the table gives each year's people).")
    last_year = kept_years[-1] if kept_years else None
    for c in leaders:
        # growth only from a year whose coverage is comparable with the last year's (within
        # GROWTH_COVERAGE points): a multiple between 60% and 99% coverage measures the data, not people
        first_year = next((y for y in kept_years if by.get((y, c), 0) >= GROWTH_BASE
                           and abs(covered[y] - covered[last_year]) <= GROWTH_COVERAGE), None)
        if first_year is None or first_year == last_year:
            continue
        first, last = by[(first_year, c)], by.get((last_year, c), 0)
        notes.append(f"{c}: {first:,} → {last:,} people, ×{last / first:.1f} from {first_year} to {last_year} "
                     f"(from the first year with at least {GROWTH_BASE} people and coverage within "
                     f"{100 * GROWTH_COVERAGE:.0f} points of {last_year}'s)")
    coverage = (sum(k for y, n, k in per_year if y in kept_years) / max(1, sum(n for y, n, k in per_year
                                                                                 if y in kept_years)))
    return Result("trends", "People per year by country of work (at publication)", ["year", "country", "people"],
                  table, method_of(coverage) if kept_years else "unavailable", f.label, notes,
                  coverage=round(coverage, 4) if kept_years else 0.0)


def paper_countries(tracker: Tracker, f: Population) -> Result:
    """The country mix of papers: the share of papers with at least one author in each
    country, counting affiliation entries that could not be placed on an author."""
    where, params = f.where("p")
    with tracker.reader(with_workspace=False) as con:
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


def tier_comparison(tracker: Tracker, f: Population) -> Result:
    rows: dict[str, dict[str, float]] = {}
    coverages: dict[str, float] = {}
    unavailable = []
    for tier in ("top20", "top2"):
        try:
            result = work_countries(tracker, f.with_(tier=tier))
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


def edition_comparison(tracker: Tracker, f: Population, first: int, second: int) -> Result:
    a_result = work_countries(tracker, f.with_(years=(first,)))
    b_result = work_countries(tracker, f.with_(years=(second,)))
    a = {r[0]: r for r in a_result.rows}
    b = {r[0]: r for r in b_result.rows}
    ranked = sorted(set(a) | set(b), key=lambda c: -(b.get(c, [0, 0, 0])[2]))[:15]
    coverage = min(a_result.coverage or 0.0, b_result.coverage or 0.0)
    return Result("edition_comparison", f"{first} against {second}: share of people by country of work",
                  ["country", f"people_{first}", f"share_{first}", f"people_{second}", f"share_{second}"],
                  [[c, a.get(c, [0, 0, 0, 0])[2], a.get(c, [0, 0, 0, 0])[3], b.get(c, [0, 0, 0, 0])[2],
                    b.get(c, [0, 0, 0, 0])[3]] for c in ranked], method_of(coverage), f"{'+'.join(f.venues)} {f.tier}",
                  [f"Coverage: {first} {a_result.coverage:.0%}, {second} {b_result.coverage:.0%}."],
                  coverage=round(coverage, 4))


def career_stage(tracker: Tracker, f: Population, stage: str) -> Result:
    """Origin or graduate school by country: estimated from an annotated sample (estimates.py),
    or, without one, exact counts of direct evidence when they cover enough people to show."""
    name, title = f"{stage}_countries", _STAGE_TITLES[stage]
    if not f.years:
        return _unavailable(name, title, f, NEEDS_YEARS)
    try:
        data = estimates.estimate(tracker, list(f.venues), list(f.years), f.tier, stage)  # no place: not about work
    except UserError as exc:
        return _unavailable(name, title, f, str(exc))
    if data["method"] == "exact" and all(r["flag"] for r in data["figures"]):
        return _unavailable(name, title, f, estimates.needs_sample(f, (stage,)), _direct_note(data, stage))
    rows = [[r["group"], *_shown(r, "estimate"), r["low"], r["high"], *_shown(r, "share"), r["share_low"],
             r["share_high"], r.get("flag")] for r in data["figures"]]
    method, coverage, notes = _estimate_method(data)
    return Result(name, title, ["country", "people", "low", "high", "share", "share_low", "share_high", "flag"],
                  rows, method, f.label, notes, _n(data), data["population_size"], coverage)


def _shown(row: dict, key: str) -> list:
    """A figure, or None when it is too uncertain to show (its interval still is)."""
    return [None if row.get("flag") else row[key]]


def _n(data: dict) -> int | None:
    """The people a figure rests on: those with an analyst's value (a sample), or with a value."""
    return data["sample"]["annotated"] if data.get("sample") else data.get("known")


def _direct_note(data: dict, stage: str) -> str:
    return (f"Direct evidence of the {stage} stage (an analyst's annotation, a profile, a job title) covers "
            f"{data['known']:,} of {data['population_size']:,} people ({data['coverage']:.1%}): too few to show. "
            "Other evidence (where people published, where they work) does not say where they studied, so it "
            "is not shown under this name.")


def _estimate_method(data: dict) -> tuple[str, float, list[str]]:
    """Method, coverage and notes of an estimate: for a sample, the share of the sampled units
    with an analyst's value (the rest is non-response, set aside); for exact counts, the share
    of the population with a value."""
    notes = [f"Measures the {data['measure']}.", *data.get("notes", [])]
    sample = data["sample"]
    if sample is None:
        notes.append(coverage_note(data["known"], data["population_size"]) + " Bounds count every person without a "
                     "value both ways.")
        return "exact", data["coverage"], notes
    notes.append(_sample_note(sample))
    if data.get("method") == "assisted":
        notes.append(f"Model-assisted: the analysts' values of the sample correct the predictions of all "
                     f"{data['population_size']:,} people ({data.get('predictions_coverage', 0):.0%} have one), "
                     "which serve only to narrow the exact 95% intervals.")
    if any(r.get("flag") for r in data["figures"]):
        notes.append(TOO_UNCERTAIN_NOTE)
    return data.get("method", "sample"), sample["response"], notes


TOO_UNCERTAIN_NOTE = ("Rows without a figure are too uncertain to show (fewer than 30 sampled people behind them, or an "
                      "interval 30 points wide or wider, or wider than 130% of the figure): only their interval is "
                      "given.")


def _sample_note(sample: dict) -> str:
    parts = [f"{sample['undetermined']:,} could not be determined" if sample["undetermined"] else "",
             f"{sample['awaiting_review']:,} await a reviewer" if sample["awaiting_review"] else "",
             f"{sample['not_annotated']:,} not annotated yet" if sample["not_annotated"] else ""]
    rest = "; ".join(p for p in parts if p)
    return (f"Sample {sample['sample_id']} ({sample['design']}): {sample['annotated']:,} of {sample['drawn']:,} drawn "
            f"have an analyst's value ({sample['response']:.0%})" + (f"; {rest} (non-response, set aside)" if rest
                                                                    else "") + ".")


_STAGE_TITLES = {"origin": "Where they come from: country of undergraduate degree",
                 "graduate": "Where they train: country of graduate school"}
FLOWS_TITLE = "Paths: origin → graduate school → work"
NEEDS_YEARS = "Estimated per sampled population: choose the year(s) of a sample."


def _flow_estimate(tracker: Tracker, f: Population) -> dict:
    """The flow estimate that flows, retention and net flows read: made once per build,
    workspace generation and population, not once per chart."""
    key = ("flow", tracker.build_stamp(), tracker.workspace_generation(), f.venues, f.years, f.tier)
    # from a sample only: without one, estimate says what is missing (no exact counts to discard)
    return tracker.memo(key, lambda: estimates.estimate(tracker, list(f.venues), list(f.years), f.tier, "flow",
                                                        method="sample"))


def _flow_result(tracker: Tracker, f: Population, name: str, title: str):
    """The flow estimate, or the Result saying why there is none (no annotated sample)."""
    if not f.years:
        return _unavailable(name, title, f, NEEDS_YEARS)
    try:
        return _flow_estimate(tracker, f)
    except UserError as exc:
        return _unavailable(name, title, f, str(exc), "Paths, retention and net flows are estimated from the people "
                            "of a random sample whose origin and work analysts found; nothing else stands in for them.")


def flows(tracker: Tracker, f: Population) -> Result:
    data = _flow_result(tracker, f, "flows", FLOWS_TITLE)
    if isinstance(data, Result):
        return data
    rows = [[*_path(r["group"]), *_shown(r, "estimate"), r["low"], r["high"], r["sampled"], r.get("flag")]
            for r in data["figures"]]
    method, coverage, notes = _estimate_method(data)
    if any(r["group"] == estimates.OTHER_PATHS for r in data["figures"]):
        notes.append(f"Paths taken by fewer than {estimates.MIN_PATH} sampled people are pooled as "
                     f"'{estimates.OTHER_PATHS}' (not drawn).")
    if not rows:
        notes.append("No sampled person has all three stages yet: retention and net flows below use origin and "
                     "work alone.")
    return Result("flows", FLOWS_TITLE, ["origin", "graduate", "work", "people", "low", "high", "sampled", "flag"],
                  rows, method if rows else "unavailable", f.label, notes, _n(data), data["population_size"], coverage)


def _path(group: str) -> list:
    return [group, None, None] if group == estimates.OTHER_PATHS else group.split(" -> ")


def retention(tracker: Tracker, f: Population) -> Result:
    """Per origin country, the share of its people who work there."""
    title = "Retention: the share of each origin country's people who work there"
    data = _flow_result(tracker, f, "retention", title)
    if isinstance(data, Result):
        return data
    rows = [[r["origin"], None if r.get("flag") else r["retention"], r["low"], r["high"], r["origin_sampled"],
             r["stayed"], r.get("flag")] for r in data.get("retention", [])]
    _method, coverage, notes = _estimate_method(data)
    notes = [n for n in notes if n != TOO_UNCERTAIN_NOTE]
    notes.append(f"A ratio within each origin's sampled people (its interval accounts for how many were drawn); "
                 f"origins with fewer than {estimates.MIN_PATH} sampled people are left out, and a retention from "
                 "fewer than 30 is too uncertain to show.")
    if not rows:
        notes.insert(0, f"No origin country has {estimates.MIN_PATH} or more sampled people whose origin and work "
                        "analysts found yet: annotate more of the sample.")
    return Result("retention", title, ["origin", "retention", "retention_low", "retention_high", "origin_sampled", "stayed",
                                       "flag"],
                  rows, "sample" if rows else "unavailable", f.label, notes, _n(data), data["population_size"],
                  coverage)


def country_profile(tracker: Tracker, f: Population, country: str) -> dict:
    code = country.upper()
    if country_name(code) is None:
        raise UserError(f"unknown country code {country!r}")
    works = work_countries(tracker, f)
    row = next((r for r in works.rows if r[0] == code), [code, country_name(code), 0, 0.0])
    return {
        "country": code, "name": country_name(code), "region": regions.region_of(code), "people": row[2],
        "share": row[3], "filters": f.label, "coverage": works.coverage, "method": works.method,
        "institutions": top_institutions(tracker, f, 15, country=code).as_dict(),
        "trend": [[y, n] for y, c, n in trends(tracker, f, countries=200).rows if c == code],
        "origin_mix": origin_mix(tracker, f, code).as_dict(),
    }


def editions(tracker: Tracker, f: Population) -> Result:
    """Two editions side by side: the first and last of the filtered years; for one year, the
    edition before it and that one; for all years, the two latest. Only years in which most
    people have a country (a year without them cannot be compared)."""
    years = f.years
    if len(years) < 2:
        with tracker.reader(with_workspace=False) as con:
            covered = year_coverage(con, f.with_(years=()))
        located = [y for y, n, k in covered if n and k / n >= 0.5]
        # one year chosen: that edition against the one before it (the page's "previous edition")
        if years and years[0] in located:
            years = (*[y for y in located if y < years[0]][-1:], years[0])
        else:
            years = tuple(located[-2:])
    if len(years) < 2:
        return _unavailable("editions", "Edition against edition", f,
                            "Needs two years in which most people have a country.")
    result = edition_comparison(tracker, f, years[0], years[-1])
    result.name = "editions"
    return result


def net_flows(tracker: Tracker, f: Population) -> Result:
    """Per country: people working there who come from elsewhere, minus people from there
    working elsewhere (estimates._flows: each count at 97.5%, so the difference's interval
    holds at 95%). From the sampled people whose origin and work analysts found."""
    title = "Net gain or loss of talent per country (work minus origin)"
    data = _flow_result(tracker, f, "net_flows", title)
    if isinstance(data, Result):
        return data
    rows = [[r["country"], None if r["flag"] else r["net"], r["low"], r["high"], r["in_sampled"], r["out_sampled"],
             r["flag"]] for r in data.get("net", [])]
    _method, coverage, notes = _estimate_method(data)
    notes = [n for n in notes if n != TOO_UNCERTAIN_NOTE]
    notes.insert(0, "Positive: more people work in the country than come from it.")
    if any(r[-1] for r in rows):
        notes.append("Rows without a figure are too uncertain to show (fewer than 30 sampled people, or an interval "
                     "30 points of the population wide or wider).")
    sample_size = data["net"][0]["sample_size"] if data.get("net") else None
    return Result("net_flows", title, ["country", "net", "low", "high", "in_sampled", "out_sampled", "flag"], rows,
                  "sample" if rows else "unavailable", f.label, notes, sample_size, data["population_size"], coverage)


def origin_mix(tracker: Tracker, f: Population, country: str) -> Result:
    """The origins of the people who work in a country (e.g. US institutions by origin): a
    sub-group estimate, whose intervals account for how many of the sample work there."""
    title = f"Where the people working in {country_name(country) or country} come from"
    if not f.years:
        return _unavailable("origin_mix", title, f, NEEDS_YEARS)
    try:
        data = estimates.estimate(tracker, list(f.venues), list(f.years), f.tier, "origin", within=("work", country),
                                  method="sample")
    except UserError as exc:
        return _unavailable("origin_mix", title, f, str(exc))
    rows = [[r["group"], *_shown(r, "estimate"), r["low"], r["high"], *_shown(r, "share"), r["share_low"],
             r["share_high"], r.get("flag")] for r in data["figures"]]
    method, coverage, notes = _estimate_method(data)
    domain = data["domain"]
    notes.insert(0, f"Of the {domain['sampled']:,} sampled people found working in {country} (of {domain['of_sampled']:,} "
                    "whose origin and work are known): shares of them, with intervals that account for how many "
                    "that is.")
    return Result("origin_mix", title, ["origin", "people", "low", "high", "share_of_country", "share_low",
                                        "share_high", "flag"], rows, method if rows else "unavailable", f.label,
                  notes, domain["sampled"], data["population_size"], coverage)


def world_map(tracker: Tracker, f: Population) -> Result:
    """Work countries with their ISO 3166 numeric codes, which the world map draws by."""
    result = work_countries(tracker, f)
    numeric = {row[0]: getattr(pycountry.countries.get(alpha_2=row[0]), "numeric", None) for row in result.rows}
    return replace(result, name="map", columns=[*result.columns, "iso_numeric"],
                   rows=[[*row, numeric[row[0]]] for row in result.rows])


# The one registry of analyses: name -> (the function of a tracker and a population, whether
# its figures use the workspace). A figure that uses the workspace (samples, annotations) is
# kept only until the workspace changes, and blind annotation hides it (web/access.py).
REGISTRY: dict[str, tuple] = {
    "work_countries": (work_countries, False),
    "work_regions": (work_regions, False),
    "work_sectors": (work_sectors, False),
    "top_institutions": (top_institutions, False),
    "top_institutions_asia": (lambda tracker, f: top_institutions(tracker, f, 15, region="asia"), False),
    "paper_countries": (paper_countries, False),
    "trends": (trends, False),
    "tier_comparison": (tier_comparison, False),
    "origin_countries": (lambda tracker, f: career_stage(tracker, f, "origin"), True),
    "graduate_countries": (lambda tracker, f: career_stage(tracker, f, "graduate"), True),
    "flows": (flows, True),
    "retention": (retention, True),
    "net_flows": (net_flows, True),
    "editions": (editions, False),
    "us_origin_mix": (lambda tracker, f: origin_mix(tracker, f, "US"), True),
    "map": (world_map, False),
}
ANALYSES = {name: run for name, (run, _) in REGISTRY.items()}
# with the country profile (country_profile), which holds a country's origin mix
READS_WORKSPACE = frozenset({name for name, (_, uses) in REGISTRY.items() if uses} | {"country"})
