"""Commands about people and population figures: `person` (one person's papers and
career), `sample` (draw an annotation sample), `estimate` (figures by country with their
intervals) and `interval` (one exact hypergeometric interval).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from talent_tracker import links
from talent_tracker.cli import render
from talent_tracker.cli.app import (
    By,
    DbOption,
    Design,
    JsonOption,
    Method,
    OldYearOption,
    Place,
    Stage,
    TierOption,
    Unit,
    app,
    population_args,
    venues_option,
    years_option,
)
from talent_tracker.store import reading
from talent_tracker.store.schema import DEFAULT_DB


def _place(institution: str | None, *where: str | None) -> str:
    """`Institution (CC, sector)`, or what is known of it."""
    known = ", ".join(w for w in where if w)
    if institution:
        return f"{institution} ({known})" if known else institution
    return known


@app.command()
def person(
    person_id: Annotated[str, typer.Argument(help="A person_id (e.g. ~Yoshua_Bengio1 or p-...).")],
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """A person's papers, affiliations and career facts with their sources."""
    from talent_tracker.figures.person import person_report

    with reading.Tracker(db) as tracker:
        data = person_report(tracker, person_id)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    p = data["person"]
    render.out.print(Text.assemble((p["display_name"] or "", "bold"),
                                   f" ({p['person_id']}): {p['n_papers']} papers, {p['first_year']}-{p['last_year']}, "
                                   f"{', '.join(p['venues'])}; also written "
                                   f"{', '.join(v for v in p['name_variants'] if v != p['display_name']) or '-'}"))
    for link in data["profile_links"]:  # as the person's OpenReview profiles state them
        render.out.print(Text.assemble(f"  {links.LABELS[link['kind']]}: ", (link["url"], f"link {link['url']}")))
    career_columns = ("stage", "institution", "years", "source", "evidence")
    ratios = {"institution": 2, "evidence": 3}
    stages = render.table("Career: the fact used per stage (an analyst's entry first; work: the latest, then the better "
                          "source; origin, graduate: the better source, then the latest)",
                          career_columns, ratios=ratios)
    facts = render.table("All career facts", career_columns, ratios=ratios)
    for table, rows in ((stages, data["career_stages"]), (facts, data["careers"])):
        for f in rows:
            years = f"{f['start_year'] or ''}-{f['end_year'] or ''}".strip("-")
            render.row(table, f["stage"], _place(f["institution"], f["country"], f["sector"]), years, f["source"],
                       f["evidence"])
    with_titles = any(r["job_title"] for r in data["papers"])
    papers = render.table("Papers", ("paper", "tier", "title", "affiliation", "institution")
                          + (("job title",) if with_titles else ()),
                          ratios={"title": 3, "affiliation": 2, "institution": 2, "job title": 1})
    for r in data["papers"]:
        render.row(papers, f"{r['venue']} {r['year']}", r["tier"] or render.MISSING, r["title"], r["affiliation"],
                   _place(r["institution"], r["country"]), *((r["job_title"],) if with_titles else ()))
    render.out.print(stages, facts, papers)


@app.command()
def sample(
    db: DbOption = Path(DEFAULT_DB),
    venue: Annotated[Optional[list[str]], venues_option("required")] = None,
    years: Annotated[Optional[str], years_option("required")] = None,
    tier: TierOption = "top20",
    size: Annotated[int, typer.Option("--size", min=1, help="People (designs person, stratified, predicted-origin) or papers (paper) to draw; with --check, people to list.")] = 400,
    design: Annotated[Design, typer.Option("--design", metavar="DESIGN", help="person (people at random), paper (papers, with all their authors), stratified (within the tiers) or predicted-origin (within predicted origin countries).")] = "person",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same sample.")] = 7,
    output: Annotated[Path, typer.Option("--output", metavar="FILE", show_default=False, help="Annotation sheet to write (CSV).")] = ...,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing sheet (it may hold annotations).")] = False,
    check: Annotated[Optional[Stage], typer.Option("--check", show_default=False, help="Not a sample: list the --size people whose predicted origin, graduate or work country is least certain, first.")] = None,
    unit: Annotated[Unit, typer.Option("--unit", help="Draw people, or person-years (a person once per year of the range in which they had an accepted paper; design person).")] = "person",
    old_year: OldYearOption = None,
) -> None:
    """Draw a reproducible sample of a population and write it as an annotation sheet.

    The sample and its sheet are recorded together or not at all. With --check STAGE the
    sheet lists the least certain predictions first instead; it is not a sample and is
    never used for estimates."""
    from talent_tracker.annotations.samples import save
    from talent_tracker.figures.sampling import check_sheet, draw

    venues, year_list = population_args(venue, years, old_year)
    if check is not None:
        with reading.Tracker(db) as tracker:
            people = check_sheet(tracker, venues, year_list, tier, check, size, output, overwrite)
        render.say(f"{people} people whose predicted {check} is least certain, first; sheet written to {output} "
                   "(not a sample: not used for estimates)")
        return
    with reading.Tracker(db) as tracker:
        drawn = draw(tracker, venues, year_list, tier, size, design, seed, unit)
        people = save(tracker, drawn, output, overwrite)
    if unit == "person-year":
        render.say(f"sample {drawn.sample_id}: {len(drawn.people):,} person-years of {drawn.population_size:,} in "
                   f"{drawn.population.label} ({people:,} people); sheet written to {output}")
        return
    render.say(f"sample {drawn.sample_id}: {people} people of {drawn.population_size:,} in "
               f"{drawn.population.label}; sheet written to {output}")


@app.command()
def estimate(
    db: DbOption = Path(DEFAULT_DB),
    venue: Annotated[Optional[list[str]], venues_option("required")] = None,
    years: Annotated[Optional[str], years_option("required")] = None,
    tier: TierOption = "top20",
    by: Annotated[By, typer.Option("--by", help="Country of origin (undergraduate), graduate school or work, or the origin -> graduate -> work flow.")] = "origin",
    within: Annotated[Optional[str], typer.Option("--within", metavar="STAGE=CC", show_default=False, help="A sub-group, e.g. origin=CN: of the China-educated, the share by --by (from a sample).")] = None,
    unit: Annotated[Unit, typer.Option("--unit", help="Count people once, or once per year of the range (person-year).")] = "person",
    place: Annotated[Place, typer.Option("--place", help="Exact work counts: the lab's country, or its organisation's headquarters'.")] = "lab",
    sample_id: Annotated[Optional[str], typer.Option("--sample", metavar="ID", help="Sample id; default: the latest sample of this population.")] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level of the intervals, strictly between 0 and 1.")] = 0.95,
    method: Annotated[Optional[Method], typer.Option("--method", show_default=False, help="Default: assisted or sample when the population's sample has analysts' values for the stage, else exact (counts of what the data says, with bounds for the rest).")] = None,
    as_json: JsonOption = False,
    old_year: OldYearOption = None,
) -> None:
    """Population figures by country, with intervals and what they rest on.

    Exact counts of what the data itself says (work at publication; direct evidence of
    origin or graduate school) with bounds for the people without a value; or estimates
    from an annotated sample, whose truth is only what analysts entered. A figure too
    uncertain to show is flagged, never drawn."""
    from talent_tracker.figures.estimates import estimate as run_estimate

    venues, year_list = population_args(venue, years, old_year)
    if not 0 < level < 1:
        render.fail(f"--level must lie strictly between 0 and 1, not {level:g}")
    with reading.Tracker(db) as tracker:
        result = run_estimate(tracker, venues, year_list, tier, by, sample_id, level, method, within, unit, place)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    _print_estimate(result)


def _print_estimate(result: dict) -> None:
    sample = result["sample"]
    units = "person-years" if result["unit"] == "person-year" else "people"
    if sample:
        source = (f"sample {sample['sample_id']} ({sample['design']}), method {result['method']}: "
                  f"{sample['annotated']:,} of {sample['drawn']:,} drawn have an analyst's value")
    else:
        source = f"exact counts: {result['known']:,} of {result['population_size']:,} {units} have a value"
    within = result.get("within")
    group = f" of those with {within['stage']} {within['country']}" if within else ""
    share = "share of the sub-group" if within else "share"
    table = render.table(f"{result['population']}, by {result['by']}{group}: {source}; {result['level']:.0%} intervals",
                         ("group", units, "interval", share, "share interval", "n", "N", "method"),
                         right=(units, "interval", share, "share interval", "n", "N"))
    for r in result["figures"]:
        n = r.get("domain_sampled", r["sample_size"])
        figure, ratio = (render.MISSING, render.MISSING) if r.get("flag") else (f"{r['estimate']:,}", f"{r['share']:.1%}")
        render.row(table, r["group"], figure, f"{r['low']:,}–{r['high']:,}", ratio,
                   f"{r['share_low']:.1%}–{r['share_high']:.1%}", f"{n:,}" if n is not None else "",
                   f"{r['population_size']:,}", f"{r['method']}: too uncertain, {r['flag']}" if r.get("flag") else r["method"])
    render.out.print(table)
    render.note(f"  Measures the {result['measure']}.")
    if sample:
        stages = ", ".join(f"{s} {c['annotated']}" for s, c in sample["stages"].items())
        render.note(f"  Sample: {sample['drawn']:,} drawn; {sample['annotated']:,} with an analyst's value, "
                    f"{sample['undetermined']:,} could not be determined, {sample['awaiting_review']:,} await a reviewer, "
                    f"{sample['not_annotated']:,} not annotated (non-response: {sample['nonresponse']:.0%}, set aside). "
                    f"Annotated per stage: {stages}.")
    elif result["unknown"]:
        render.note(f"  {result['unknown']:,} {units} have no value: each interval runs from the count to the count plus "
                    "all of them; shares are of those with a value.")
    for note in result.get("notes", []):
        render.note(f"  {note}")
    if result.get("retention"):
        retention = render.table("Retention: share of each origin country's people who work there",
                                 ("origin", "retention", "interval", "sampled from origin", "stayed", "method"),
                                 right=("retention", "interval", "sampled from origin", "stayed"))
        for r in result["retention"]:
            render.row(retention, r["origin"], render.MISSING if r.get("flag") else f"{r['retention']:.1%}",
                       f"{r['low']:.1%}–{r['high']:.1%}", r["origin_sampled"], r["stayed"],
                       f"too uncertain, {r['flag']}" if r.get("flag") else r["method"])
        render.out.print(retention)
    if result.get("net"):
        net = render.table("Net flow: people working in the country from elsewhere, minus people from it working elsewhere",
                           ("country", "net", "interval", "in (sampled)", "out (sampled)", "method"),
                           right=("net", "interval", "in (sampled)", "out (sampled)"))
        for r in result["net"]:
            render.row(net, r["country"], render.MISSING if r["flag"] else f"{r['net']:+,}", f"{r['low']:+,}–{r['high']:+,}",
                       r["in_sampled"], r["out_sampled"], f"too uncertain, {r['flag']}" if r["flag"] else r["method"])
        render.out.print(net)
    if result.get("abroad"):
        r = result["abroad"]
        shown = "too uncertain" if r["flag"] else f"{r['share']:.1%} ({r['estimate']:,} {units})"
        render.note(f"Working outside their origin country: {shown}, interval {r['share_low']:.1%}–{r['share_high']:.1%}.")


@app.command()
def interval(
    population: Annotated[int, typer.Option("--population", min=1, max=10**9, metavar="N", help="Population size N (people, or person-years).")] = ...,
    sample_size: Annotated[int, typer.Option("--sample", min=1, max=10**9, metavar="n", help="Sample size n: the sampled people whose value is known.")] = ...,
    count: Annotated[int, typer.Option("--count", min=0, max=10**9, metavar="k", help="Sampled people with the trait.")] = ...,
    level: Annotated[float, typer.Option("--level", help="Confidence level, strictly between 0 and 1.")] = 0.95,
    as_json: JsonOption = False,
) -> None:
    """The exact hypergeometric interval for a count: of N people, n drawn at random
    without replacement, k with a trait. Prints the estimate N·k/n and its interval."""
    from talent_tracker.figures import stats
    if not 0 < level < 1:
        render.fail(f"--level must lie strictly between 0 and 1, not {level:g}")
    est = stats.count_estimate(count, sample_size, population, level)
    figure = round(est.estimate)
    if as_json:
        sys.stdout.write(json.dumps({"population_size": population, "sample_size": sample_size, "count": count,
                                     "level": level, "estimate": figure, "low": est.low, "high": est.high,
                                     "share": est.estimate / population, "share_low": est.low / population,
                                     "share_high": est.high / population, "method": est.method}, indent=2) + "\n")
        return
    render.out.print(Text(f"{figure:,} ({est.low:,}–{est.high:,})"))
    spread = (f"; {(est.low - est.estimate) / est.estimate:+.1%}/{(est.high - est.estimate) / est.estimate:+.1%} "
              "of the estimate") if est.estimate else ""
    render.note(f"{level:.0%} exact hypergeometric interval ({'every member sampled' if est.method == 'exact' else 'Konijn'}): "
                f"{count:,} of {sample_size:,} sampled from {population:,}; share {est.estimate / population:.1%} "
                f"({est.low / population:.1%}–{est.high / population:.1%}){spread}")
