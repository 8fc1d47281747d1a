"""Profile records -> career facts, for the build: those `profiles fetch` kept (load_facts),
and those of a folder of saved OpenReview answers (facts_from_profiles), through the same
parser (openreview.profile_records) and the same fact (_fact).

People are matched only through exact identifiers: an OpenReview record by the OpenReview
id it was asked for; an ORCID or OpenAlex record through the ORCID iD on that person's
OpenReview profile. An iD on the profiles of two different people of this build is
ambiguous and left out. The institution is resolved as everywhere else; the source's own
country (and OpenAlex's institution type, as sector) stands in when the resolver knows
none, and a record with no country at all is left out, like `careers` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from talent_tracker.careers.profiles import openreview
from talent_tracker.careers.profiles.records import SOURCES, iter_records
from talent_tracker.links import orcid_id
from talent_tracker.stages import STAGES


def load_facts(folder: Path, persons_by_openreview_id: dict[str, str], resolver,
               orcid_links: Iterable[tuple[str, str]] = ()) -> tuple[list[dict], list[str]]:
    """Career facts from `folder/records/*.jsonl`, and one problem line per kind of trouble.

    Records are read one at a time, OpenReview's first: its ORCID links are all known
    before the ORCID and OpenAlex records that need them. `orcid_links`: (OpenReview id,
    ORCID iD or URL) the build's sources state (the author files' profile links).
    """
    problems: list[str] = []
    people_of_orcid: dict[str, set[str]] = {}
    for openreview_id, value in orcid_links:
        orcid, person = orcid_id(value), persons_by_openreview_id.get(openreview_id)
        if orcid and person:
            people_of_orcid.setdefault(orcid, set()).add(person)
    facts, seen, left_out = [], set(), Counter()
    for source in SOURCES:
        for record in iter_records(folder, source, problems):
            if record["kind"] == "orcid":  # a link, from an OpenReview profile only
                orcid = orcid_id(record.get("orcid"))
                person = persons_by_openreview_id.get(record["key"])
                if orcid and person and source == "openreview":
                    people_of_orcid.setdefault(orcid, set()).add(person)
                continue
            if source == "openreview":
                person = persons_by_openreview_id.get(record["key"])
                people = {person} if person else set()
            else:
                people = people_of_orcid.get(record["key"], set())
            if not people:
                continue  # not a person of this build
            if len(people) > 1:
                left_out["ORCID iD on the OpenReview profiles of several people"] += 1
                continue
            if not _well_formed(record):
                left_out["malformed record"] += 1
                continue
            fact = _fact(next(iter(people)), record, resolver)
            if fact is None:
                left_out["no country known for the institution"] += 1
                continue
            identity = tuple(fact.values())
            if identity not in seen:  # one profile asked for under two ids of one person
                seen.add(identity)
                facts.append(fact)
    problems += [f"{count:,} records left out: {reason}" for reason, count in sorted(left_out.items())]
    return facts, problems


def facts_from_profiles(profiles: Iterable[dict], persons_by_profile: dict[str, str], resolver) -> list[dict]:
    """Education and career history of saved profiles (openreview.read_profiles) whose id
    belongs to a person of the build."""
    facts = []
    for profile in profiles:
        person = persons_by_profile.get(profile["id"])
        content = profile.get("content")
        if person is None or not isinstance(content, dict):
            continue
        for record in openreview.profile_records(profile["id"], content).records:
            fact = _fact(person, record, resolver) if record["kind"] == "position" else None
            if fact is not None:
                facts.append(fact)
    return facts


def _well_formed(record: dict) -> bool:
    """The fields a fact takes have the types the careers table needs (the file may be old or edited)."""
    def optional(value, kind) -> bool:
        return value is None or (isinstance(value, kind) and not isinstance(value, bool))

    return (record.get("stage") in STAGES and optional(record.get("start_year"), int)
            and optional(record.get("end_year"), int) and optional(record.get("confidence"), (int, float))
            and all(optional(record.get(k), str) for k in ("institution", "domain", "country", "sector", "evidence")))


def _fact(person: str, record: dict, resolver) -> dict | None:
    name, domain = record.get("institution"), record.get("domain")
    if not name and not domain:
        return None
    found = resolver.resolve(name, domain)
    country = found.country or record.get("country")
    if not country:
        return None
    return {
        "person_id": person, "stage": record["stage"], "institution_id": found.institution_id,
        "institution": found.institution or name or domain, "country": country,
        "sector": found.sector or record.get("sector"), "start_year": record.get("start_year"),
        "end_year": record.get("end_year"), "source": "profile", "confidence": record.get("confidence"),
        "evidence": record.get("evidence"),
    }
