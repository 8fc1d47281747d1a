"""Populations (venue, years, tier -> people) and reproducible samples of them.

Designs (`--design`):
- `person`: a simple random sample of `size` people, without replacement;
- `paper`: a simple random sample of `size` accepted papers; every population author of
  a drawn paper is in the sample (a cluster sample: one look-up covers a whole paper);
- `stratified`: `size` people split over the strata `top2` (oral authors) and `top20`
  (the other accepted authors) in proportion to their sizes (at least 2 each), a simple
  random sample within each; needs a top20 population with oral labels;
- `predicted-origin`: strata by predicted origin country (predictions.py): each country
  predicted for at least STRATUM_SHARE of the population, `other`, and `none` (no
  prediction), in proportion to their sizes (at least 2 each), so that every large origin
  is sampled in its share and the estimates are stratified ones.

`check_sheet` is not a sample: it lists the people whose predicted country for a stage is
least certain (no prediction first, then the lowest probability) for an annotator to
check. It is never used for estimates, which need random samples.

The same database, population, design, size and seed always give the same sample: the
population is sorted before `random.Random(seed)` draws from it. A sample is stored in
the workspace's `samples` (one row per sampled person) and `sample_designs` (one row per
sample), together with its sheet: both are written, or neither. A sample is never
rewritten: drawing the same one again changes nothing, and a different draw under the
same id (the database changed since) is refused.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from talent_tracker.annotations import ANNOTATION_COLUMNS
from talent_tracker.errors import UserError
from talent_tracker.figures import measures
from talent_tracker.population import Population
from talent_tracker.store.database import check_output_file, csv_safe, reader
from talent_tracker.store.workspace import audit, cli_actor, now, open_workspace

DESIGNS = ("person", "paper", "stratified", "predicted-origin")
STRATUM_SHARE = 0.05  # a predicted origin country this common gets its own stratum
CONTEXT_COLUMNS = ("sample_id", "stratum", "display_name", "papers", "affiliation_trail", "job_titles",
                   "inferred_facts", "search_openreview", "search_dblp", "search_scholar", "search_orcid", "search_web")


def population_of(con, venue_names: list[str], years: list[int], tier: str, unit: str = "person",
                  place: str = "lab") -> Population:
    """A population to sample, checked against the database: one clear error if it makes no sense."""
    if not venue_names:
        raise UserError("a sample needs at least one venue")
    if not years:
        raise UserError("a sample needs its years (e.g. 2019 or 2010-2019)")
    population = Population.of(venue_names, years, tier, place, unit)
    if tier == "top2":
        no_oral = con.execute(
            "SELECT venue, year FROM venue_years WHERE NOT oral_known AND venue IN (SELECT unnest(?)) "
            "AND year IN (SELECT unnest(?)) ORDER BY ALL", [list(population.venues), list(population.years)]
        ).fetchall()
        if no_oral:
            raise UserError("tier top2 is unavailable for " + ", ".join(f"{v} {y}" for v, y in no_oral)
                            + " (the data carries no oral label)")
    return population


def members(con, population: Population) -> list[str]:
    where, params = population.where()
    rows = con.execute(f"SELECT DISTINCT a.person_id FROM authorships a WHERE {where} ORDER BY 1", params).fetchall()
    if not rows:
        raise UserError(f"the population {population.label} is empty in this database")
    return [r[0] for r in rows]


@dataclass
class Sample:
    sample_id: str
    population: Population
    design: str
    size: int
    seed: int
    population_size: int
    people: list[tuple[str, str | None, str | None, int | None]]  # person_id, stratum, paper_id, year
    strata: dict[str, int] = field(default_factory=dict)  # stratum -> population size
    clusters_total: int | None = None


def draw(db: Path, venue_names: list[str], years: list[int], tier: str, size: int, design: str, seed: int,
         unit: str = "person") -> Sample:
    if design not in DESIGNS:
        raise UserError(f"unknown design {design!r} (choose {', '.join(DESIGNS)})")
    if size <= 0:
        raise UserError("a sample's size must be positive")
    with reader(db) as con:
        population = population_of(con, venue_names, years, tier, unit)
        if population.unit == "person-year" and design != "person":
            raise UserError("a sample of person-years is a simple random sample of them (design person)")
        units = measures.units(con, population)
        if not units:
            raise UserError(f"the population {population.label} is empty in this database")
        people = [p for p, _ in units]
        N = len(units)
        sample_id = f"{population.label.replace(' ', '-')}-{design}-{size}-seed{seed}"
        rng = random.Random(seed)
        if design == "person":
            if size > N:
                raise UserError(f"a sample of {size} is larger than the population ({N:,} {_units(population)} in "
                                f"{population.label})")
            chosen = [(p, None, None, y) for p, y in rng.sample(units, size)]
            return Sample(sample_id, population, design, size, seed, N, chosen)
        if design == "stratified":
            return _stratified(con, population, people, size, rng, sample_id, seed)
        if design == "predicted-origin":
            return _by_prediction(con, population, people, size, rng, sample_id, seed)
        return _by_paper(con, population, size, rng, sample_id, seed, N)


def _units(population: Population) -> str:
    return "person-years" if population.unit == "person-year" else "people"


def _stratified(con, population, people, size, rng, sample_id, seed) -> Sample:
    if population.tier != "top20":
        raise UserError("the stratified design draws within tiers: it needs tier top20")
    where, params = population.where()
    oral = {r[0] for r in con.execute(
        f"SELECT DISTINCT a.person_id FROM authorships a WHERE {where} AND a.tier = 'top2'", params).fetchall()}
    if not oral:
        raise UserError(f"no oral authors in {population.label}: the stratified design needs both tiers")
    strata = {"top2": sorted(oral), "top20": sorted(set(people) - oral)}
    N = len(people)
    if size > N:
        raise UserError(f"a sample of {size} is larger than the population ({N} people in {population.label})")
    sizes = {h: min(len(m), max(2, round(size * len(m) / N))) for h, m in strata.items()}
    sizes["top20"] = min(len(strata["top20"]), size - sizes["top2"])
    chosen = [(p, h, None, None) for h in ("top2", "top20") for p in rng.sample(strata[h], sizes[h])]
    return Sample(sample_id, population, "stratified", size, seed, N, chosen,
                  strata={h: len(m) for h, m in strata.items()})


def _by_prediction(con, population, people, size, rng, sample_id, seed) -> Sample:
    N = len(people)
    if size > N:
        raise UserError(f"a sample of {size} is larger than the population ({N} people in {population.label})")
    predicted = dict(con.execute("SELECT person_id, country FROM predictions WHERE stage = 'origin' "
                                 "AND person_id IN (SELECT unnest(?))", [people]).fetchall())
    if not predicted:
        raise UserError("no predicted origins in this database (built by an earlier version): rebuild it")
    counts: dict[str, int] = {}
    for p in people:
        counts[predicted.get(p) or "none"] = counts.get(predicted.get(p) or "none", 0) + 1
    own = {c for c, k in counts.items() if c != "none" and k >= STRATUM_SHARE * N}
    strata: dict[str, list[str]] = {}
    for p in people:  # people are sorted: so is every stratum
        country = predicted.get(p)
        strata.setdefault(country if country in own else ("none" if country is None else "other"), []).append(p)
    sizes = {h: min(len(m), max(2, round(size * len(m) / N))) for h, m in strata.items()}
    largest = max(strata, key=lambda h: len(strata[h]))
    sizes[largest] = max(2, min(len(strata[largest]), size - sum(k for h, k in sizes.items() if h != largest)))
    if sum(sizes.values()) > size:
        raise UserError(f"a sample of {size} is too small for {len(strata)} strata of at least 2 people")
    chosen = [(p, h, None, None) for h in sorted(strata) for p in rng.sample(strata[h], sizes[h])]
    return Sample(sample_id, population, "predicted-origin", sum(sizes.values()), seed, N, chosen,
                  strata={h: len(m) for h, m in sorted(strata.items())})


def check_sheet(db: Path, venue_names: list[str], years: list[int], tier: str, stage: str, size: int,
                output: Path, overwrite: bool = False) -> int:
    """Write a sheet of the `size` people whose predicted `stage` country is least certain."""
    if stage not in ("origin", "graduate", "work"):
        raise UserError(f"unknown stage {stage!r} (choose origin, graduate or work)")
    if size <= 0:
        raise UserError("a sample's size must be positive")
    output = Path(output)
    check_output_file(output)
    if output.exists() and not overwrite:
        raise UserError(f"{output}: exists (it may hold annotations); choose another --output, or --overwrite")
    with reader(db) as con:
        population = population_of(con, venue_names, years, tier)
        people = members(con, population)
        rows = con.execute(
            "SELECT m.person_id, p.country, p.probability, p.kind FROM (SELECT unnest(?) AS person_id) m "
            "LEFT JOIN predictions p ON p.person_id = m.person_id AND p.stage = ? "
            "LEFT JOIN career_stages c ON c.person_id = m.person_id AND c.stage = ? AND c.source = 'annotation' "
            "WHERE c.person_id IS NULL "  # already annotated: nothing to check
            "ORDER BY coalesce(p.probability, 0), m.person_id LIMIT ?",
            [people, stage, stage, size]).fetchall()
    # the prediction is shown here, where checking it is the task; never on a random
    # sample's sheet, where it could pull the annotator's answer towards it
    chosen = [(person, f"check {stage}: " + (f"predicted {country} (p={probability:.2f}, {kind})" if country
                                             else "no prediction"), None, None)
              for person, country, probability, kind in rows]
    check = Sample(f"check-{stage}-{population.label.replace(' ', '-')}", population, "check", size, 0,
                   len(people), chosen)
    with _written_beside(output) as tmp:
        written = _write_sheet(db, check, tmp)
        _place(tmp, output, overwrite)
    return written


def _by_paper(con, population, size, rng, sample_id, seed, N) -> Sample:
    where, params = population.where()
    papers = [r[0] for r in con.execute(
        f"SELECT DISTINCT a.venue || ':' || a.year || ':' || a.paper_id FROM authorships a WHERE {where} ORDER BY 1",
        params).fetchall()]
    if size > len(papers):
        raise UserError(f"a sample of {size} papers is larger than the population's {len(papers)} papers")
    drawn = rng.sample(papers, size)
    rows = con.execute(
        f"SELECT a.venue || ':' || a.year || ':' || a.paper_id AS paper, a.person_id FROM authorships a "
        f"WHERE {where} ORDER BY 1, a.author_position", params).fetchall()
    authors: dict[str, list[str]] = {}
    for paper, person in rows:
        authors.setdefault(paper, []).append(person)
    chosen = [(person, None, paper, None) for paper in drawn for person in dict.fromkeys(authors[paper])]
    return Sample(sample_id, population, "paper", size, seed, N, chosen, clusters_total=len(papers))


def save(db: Path, sample: Sample, output: Path, overwrite: bool = False, actor: str | None = None) -> int:
    """Store the sample and write its annotation sheet, all or nothing; returns the people
    in the sheet. An existing sheet is kept unless `overwrite` (it may hold annotations)."""
    output = Path(output)
    check_output_file(output)
    if output.exists() and not overwrite:
        raise UserError(f"{output}: exists (it may hold annotations); choose another --output, or --overwrite")
    with _written_beside(output, "; no sample was recorded") as tmp:
        people = _write_sheet(db, sample, tmp)
        workspace = open_workspace(db)
        with workspace.write() as con:
            _record(con, sample, actor or cli_actor())
            # inside the transaction: a sheet that cannot be put in place records nothing
            _place(tmp, output, overwrite)
    return people


@contextlib.contextmanager
def _written_beside(output: Path, consequence: str = ""):
    """A temporary file beside `output` to write the sheet into, removed afterwards; a
    failure to write is one line."""
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        yield tmp
    except OSError as exc:
        raise UserError(f"{output}: cannot be written ({exc.strerror or exc}){consequence}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _place(tmp: Path, output: Path, overwrite: bool) -> None:
    """Put a written sheet in place: replacing an existing one only when asked to."""
    if overwrite:
        os.replace(tmp, output)
        return
    try:
        os.link(tmp, output)  # never replaces a file that appeared meanwhile (it may hold annotations)
    except FileExistsError:
        raise UserError(f"{output}: exists (it may hold annotations); choose another --output, or --overwrite") \
            from None


def _record(con, sample: Sample, actor: str) -> None:
    rows = [(sample.sample_id, p, stratum, paper, year) for p, stratum, paper, year in sample.people]
    existing = con.execute("SELECT sample_id, person_id, stratum, paper, year FROM samples WHERE sample_id = ? "
                           "ORDER BY rowid", [sample.sample_id]).fetchall()
    if existing:
        if [tuple(r) for r in existing] == rows:
            return  # the same draw again: nothing changes
        raise UserError(f"sample {sample.sample_id} exists with other people (the database was rebuilt since it "
                        "was drawn); samples are never rewritten: choose another --seed")
    con.executemany("INSERT INTO samples (sample_id, person_id, stratum, paper, year) VALUES (?, ?, ?, ?, ?)", rows)
    con.execute("INSERT INTO sample_designs (sample_id, venues, years, tier, design, size, seed, population_size, "
                "strata, clusters_total, created_at, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        sample.sample_id, json.dumps(list(sample.population.venues)), json.dumps(list(sample.population.years)),
        sample.population.tier, sample.design, sample.size, sample.seed, sample.population_size,
        json.dumps(sample.strata), sample.clusters_total, now(), sample.population.unit])
    audit(con, actor, "sample", None, None, {"sample_id": sample.sample_id, "people": len(set(r[1] for r in rows)),
                                             "units": len(rows)})


def _write_sheet(db: Path, sample: Sample, output: Path) -> int:
    """The annotation sheet: what is known about each sampled person, and the empty columns to fill."""
    with reader(db) as con:
        context = {r[0]: r for r in con.execute(CONTEXT_SQL, [list(dict.fromkeys(p for p, *_ in sample.people))]).fetchall()}
    with output.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*ANNOTATION_COLUMNS, *CONTEXT_COLUMNS])
        written = set()
        for person, stratum, *_ in sample.people:
            if person in written:
                continue
            written.add(person)
            _, name, papers, trail, titles, facts = context[person]
            query = urllib.parse.quote(name or "")
            writer.writerow([person, *[""] * (len(ANNOTATION_COLUMNS) - 1), sample.sample_id, stratum or "",
                             *map(csv_safe, (name, papers, trail, titles or "", facts or "")),
                             f"https://openreview.net/search?term={query}&group=all&content=all&source=all",
                             f"https://dblp.org/search?q={query}",
                             f"https://scholar.google.com/scholar?q=%22{query}%22",
                             f"https://orcid.org/orcid-search/search?searchQuery={query}",
                             f"https://duckduckgo.com/?q=%22{query}%22+curriculum+vitae"])
    return len(written)


CONTEXT_SQL = """
SELECT p.person_id, p.display_name,
       (SELECT string_agg(a.venue || ' ' || a.year || ': ' || pp.title, ' | '
                          ORDER BY a.year DESC, a.venue, pp.title)
        FROM authorships a JOIN papers pp USING (venue, year, paper_id) WHERE a.person_id = p.person_id) AS papers,
       (SELECT string_agg(DISTINCT a.year || ': ' || coalesce(a.institution, a.affiliation)
                          || coalesce(' (' || a.country || ')', ''), '; '
                          ORDER BY a.year || ': ' || coalesce(a.institution, a.affiliation)
                                   || coalesce(' (' || a.country || ')', ''))
        FROM authorships a WHERE a.person_id = p.person_id AND coalesce(a.institution, a.affiliation) IS NOT NULL) AS trail,
       (SELECT string_agg(DISTINCT a.year || ': ' || a.job_title, '; ' ORDER BY a.year || ': ' || a.job_title)
        FROM authorships a WHERE a.person_id = p.person_id AND a.job_title IS NOT NULL) AS titles,
       (SELECT string_agg(c.stage || ': ' || coalesce(c.institution, '?') || ' (' || coalesce(c.country, '?') || ') ['
                          || c.source || ']', '; ' ORDER BY c.stage, c.source, c.institution)
        FROM careers c WHERE c.person_id = p.person_id) AS facts
FROM persons p WHERE p.person_id IN (SELECT unnest(?))
"""
