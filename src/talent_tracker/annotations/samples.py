"""Samples as the workspace keeps them, with their annotation sheets.

A sample (figures/sampling.py draws it) is stored in the workspace's `samples` (one row per
sampled unit) and `sample_designs` (one row per sample), together with its sheet: both are
written, or neither. A sample is never rewritten: drawing the same one again changes
nothing, and a different draw under the same id (the database changed since) is refused.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from talent_tracker.annotations.sheet import ANNOTATION_COLUMNS
from talent_tracker.errors import UserError
from talent_tracker.links import KINDS
from talent_tracker.population import Population
from talent_tracker.store.database import check_output_file
from talent_tracker.store.exports import csv_safe
from talent_tracker.store.reading import Tracker, profile_links
from talent_tracker.store.workspace import audit, cli_actor, now

# the links: searches by name for everyone, then the person's own pages where their
# OpenReview profiles state them (links.KINDS, the newest of each kind)
CONTEXT_COLUMNS = ("sample_id", "stratum", "display_name", "papers", "affiliation_trail", "job_titles",
                   "inferred_facts", "search_openreview", "search_dblp", "search_scholar", "search_orcid", "search_web",
                   *(f"profile_{kind}" for kind in KINDS))



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



def save(tracker: Tracker, sample: Sample, output: Path, overwrite: bool = False, actor: str | None = None) -> int:
    """Store the sample and write its annotation sheet, all or nothing; returns the people
    in the sheet. An existing sheet is kept unless `overwrite` (it may hold annotations)."""
    output = Path(output)
    check_output_file(output)
    if output.exists() and not overwrite:
        raise UserError(f"{output}: exists (it may hold annotations); choose another --output, or --overwrite")
    with written_beside(output, "; no sample was recorded") as tmp:
        people = write_sheet(tracker, sample, tmp)
        workspace = tracker.workspace(create=True)
        with workspace.write() as con:
            _record(con, sample, actor or cli_actor())
            # inside the transaction: a sheet that cannot be put in place records nothing
            place_sheet(tmp, output, overwrite)
    return people


@contextlib.contextmanager
def written_beside(output: Path, consequence: str = ""):
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


def place_sheet(tmp: Path, output: Path, overwrite: bool) -> None:
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


def write_sheet(tracker: Tracker, sample: Sample, output: Path) -> int:
    """The annotation sheet: what is known about each sampled person, and the empty columns to fill."""
    with tracker.reader() as con:
        people = list(dict.fromkeys(p for p, *_ in sample.people))
        context = {r[0]: r for r in con.execute(CONTEXT_SQL, [people]).fetchall()}
        found = profile_links(con, people)
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
                             f"https://duckduckgo.com/?q=%22{query}%22+curriculum+vitae",
                             *_own_pages(found.get(person, []))])
    return len(written)


def _own_pages(links: list[dict]) -> list[str]:
    """The newest link of each kind (links.KINDS), '' where the profiles state none."""
    newest: dict[str, str] = {}
    for link in links:  # newest first within a kind
        newest.setdefault(link["kind"], link["url"])
    return [csv_safe(newest.get(kind, "")) for kind in KINDS]


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
