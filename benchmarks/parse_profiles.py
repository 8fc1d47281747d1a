"""Benchmark: fetched profile answers -> records -> career facts, on 100,000 synthetic profiles.

    python benchmarks/parse_profiles.py [--profiles 100000] [--universities FILE]

Generates, in memory, answers in the documented shapes of the three APIs: OpenReview
`POST /profiles/search` answers of 1,000 profiles, ORCID educations and employments per
iD, OpenAlex `/authors` pages of 100 (a 40/30/30 mix, 3 to 4 entries each, institution
names drawn from the curated registry and 2,000 invented ones, about 1% malformed
entries). Times two stages separately: parsing (JSON text -> normalized records, what
`profiles fetch` does with each answer) and facts (records file -> career facts through
the project's resolver, what the build does). The resolver is the curated registry
alone unless --universities is given; its load time is reported apart. Peak memory: the
process's maximum resident set size after each stage (generating the answers counts),
and the Python memory at the peak of the facts stage alone (traced in a second, untimed run).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from talent_tracker.careers.profiles import openalex, openreview, orcid
from talent_tracker.careers.profiles.facts import load_facts
from talent_tracker.careers.profiles.records import Parsed, write_records
from talent_tracker.institutions import Resolver, load_resolver
from talent_tracker.institutions.registry import load_registry

TITLES = ["PhD student", "MS student", "Undergrad student", "Postdoc", "Research Scientist", "Full Professor",
          "Assistant Professor", "Software Engineer"]
DEGREES = ["PhD", "MSc Computer Science", "BSc Mathematics", None, "Doctor of Philosophy"]
COUNTRIES = ["US", "CN", "GB", "DE", "FR", "CA", "CH", "IN", "JP", "KR", "NO", "BR"]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def orcid_of(i: int) -> str:
    base = f"{i:015d}"
    digits = base + orcid.check_digit(base)
    return "-".join(digits[k:k + 4] for k in range(0, 16, 4))


def place(rng: random.Random, names: list[str]) -> tuple[str, str]:
    name = rng.choice(names)
    return name, rng.choice(COUNTRIES)


def years(rng: random.Random) -> tuple[int, int | None]:
    start = rng.randint(1995, 2022)
    return start, rng.choice([None, start + rng.randint(1, 6)])


def openreview_profile(i: int, rng: random.Random, names: list[str]) -> dict:
    history = []
    for _ in range(rng.randint(3, 4)):
        name, country = place(rng, names)
        start, end = years(rng)
        history.append({"position": rng.choice(TITLES), "start": start, "end": end,
                        "institution": {"name": name, "domain": f"inst{rng.randint(0, 5000)}.example.org",
                                        "country": country}})
    if rng.random() < 0.01:
        history.append({"position": "PhD student", "start": "sometime", "institution": {"name": "Broken"}})
    return {"id": f"~Person_Number{i}", "content": {
        "names": [{"fullname": f"Person Number {i}", "username": f"~Person_Number{i}", "preferred": True}],
        "history": history, "orcid": f"https://orcid.org/{orcid_of(i)}"}}


def orcid_section(i: int, rng: random.Random, names: list[str], section: str) -> dict:
    groups = []
    for n in range(rng.randint(1, 2)):
        name, country = place(rng, names)
        start, end = years(rng)
        role = rng.choice(DEGREES) if section == "education" else rng.choice(TITLES)
        summary = {"put-code": i * 10 + n, "department-name": None, "role-title": role,
                   "start-date": {"year": {"value": str(start)}, "month": None, "day": None},
                   "end-date": {"year": {"value": str(end)}, "month": None, "day": None} if end else None,
                   "organization": {"name": name, "address": {"city": "Somewhere", "region": None, "country": country},
                                    "disambiguated-organization": None},
                   "visibility": "public", "path": f"/{orcid_of(i)}/{section}/{i * 10 + n}"}
        groups.append({"external-ids": {"external-id": []}, "summaries": [{f"{section}-summary": summary}]})
    return {"last-modified-date": {"value": 1712345678901}, "affiliation-group": groups,
            "path": f"/{orcid_of(i)}/{section}s"}


def openalex_author(i: int, rng: random.Random, names: list[str]) -> dict:
    affiliations, last = [], []
    for n in range(rng.randint(2, 3)):
        name, country = place(rng, names)
        start = rng.randint(2000, 2022)
        institution = {"id": f"https://openalex.org/I{i}{n}", "ror": None, "display_name": name,
                       "country_code": country, "type": rng.choice(["education", "company", "facility"])}
        seen = list(range(start + rng.randint(0, 3), start - 1, -1))  # newest first, as OpenAlex gives them
        affiliations.append({"institution": institution, "years": seen})
        if n == 0:
            last.append(institution)
    return {"id": f"https://openalex.org/A{5_000_000_000 + i}", "orcid": f"https://orcid.org/{orcid_of(i)}",
            "display_name": f"Person Number {i}", "affiliations": affiliations, "last_known_institutions": last}


def generate(total: int, names: list[str]) -> tuple[list[tuple[list[str], str]], list[tuple[str, str, str]], list[str]]:
    """Answers as JSON text: OpenReview batches, ORCID (iD, educations, employments), OpenAlex pages."""
    rng = random.Random(7)
    n_openreview, n_orcid = int(total * 0.4), int(total * 0.3)
    n_openalex = total - n_openreview - n_orcid
    profiles = [openreview_profile(i, rng, names) for i in range(n_openreview)]
    batches = [([p["id"] for p in profiles[k:k + 1000]], json.dumps({"profiles": profiles[k:k + 1000]}))
               for k in range(0, len(profiles), 1000)]
    orcids = [(orcid_of(i), json.dumps(orcid_section(i, rng, names, "education")),
               json.dumps(orcid_section(i, rng, names, "employment"))) for i in range(n_orcid)]
    authors = [openalex_author(i, rng, names) for i in range(n_openalex)]
    pages = [json.dumps({"meta": {"count": len(authors), "next_cursor": None}, "results": authors[k:k + 100]})
             for k in range(0, len(authors), 100)]
    return batches, orcids, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--universities", type=Path, help="world-universities list: resolve with the full resolver")
    args = parser.parse_args()
    registry = load_registry()
    names = [inst.name for inst in registry] + [f"University of Invented Place {k}" for k in range(2000)]
    batches, orcids, pages = generate(args.profiles, names)
    generated_mib = peak_mib()

    start = time.perf_counter()
    parsed = {"openreview": Parsed(), "orcid": Parsed(), "openalex": Parsed()}
    for ids, text in batches:
        records, _ = openreview.parse_search(json.loads(text), ids)
        parsed["openreview"].extend(records)
    for orcid_id, educations, employments in orcids:
        parsed["orcid"].extend(orcid.parse(orcid_id, json.loads(educations), json.loads(employments)))
    wanted = {orcid_of(i) for i in range(args.profiles)}
    for text in pages:
        records, _ = openalex.parse_authors(json.loads(text)["results"], wanted)
        parsed["openalex"].extend(records)
    parse_seconds = time.perf_counter() - start
    parse_mib = peak_mib()
    records = sum(len(p.records) for p in parsed.values())

    start = time.perf_counter()
    if args.universities:
        resolver, _ = load_resolver(args.universities)
    else:
        resolver = Resolver(registry)
    resolver.warm()
    resolver_seconds = time.perf_counter() - start
    skipped = sum(sum(p.skipped.values()) for p in parsed.values())
    answers = {"openreview_batches": len(batches), "orcid_ids": len(orcids), "openalex_pages": len(pages)}
    with tempfile.TemporaryDirectory() as tmp:
        for source, result in parsed.items():
            write_records(Path(tmp), source, result.records)
        del batches, orcids, pages, parsed
        gc.collect()
        persons = {f"~Person_Number{i}": f"p{i}" for i in range(args.profiles)}
        start = time.perf_counter()
        facts, problems = load_facts(Path(tmp), persons, resolver)
        facts_seconds = time.perf_counter() - start
        n_facts = len(facts)
        del facts
        gc.collect()
        # the build's share: Python memory at the peak of one more load_facts (traced, so untimed)
        tracemalloc.start()
        load_facts(Path(tmp), persons, resolver)
        facts_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    figures = {
        "profiles": args.profiles,
        "answers": answers,
        "records": records,
        "skipped": skipped,
        "parse_seconds": round(parse_seconds, 2),
        "parse_profiles_per_second": round(args.profiles / parse_seconds),
        "parse_records_per_second": round(records / parse_seconds),
        "resolver": "registry + world universities" if args.universities else "curated registry only",
        "resolver_load_seconds": round(resolver_seconds, 2),
        "facts": n_facts,
        "facts_problems": problems,
        "facts_seconds": round(facts_seconds, 2),
        "facts_records_per_second": round(records / facts_seconds),
        "facts_peak_python_mib": round(facts_peak / 2**20),
        "peak_rss_mib": {"after_generating": round(generated_mib), "after_parsing": round(parse_mib),
                         "after_facts": round(peak_mib())},
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
