"""ORCID public API v3.0: a record's educations and employments -> position records.

Only iDs found on a person's OpenReview profile are asked for, and each is checked first
(format and ISO 7064 MOD 11-2 check digit): a typo is a counted skip, not a request.
Stages: an education's title decides it (`BSc` -> origin, `PhD`, `MSc` -> graduate); an
education with no degree in its title is graduate school only when an earlier education
exists (with lower confidence), and otherwise left out: origin is never assumed. An
employment is work unless its title says student (`PhD Student` employed by a university).
"""

from __future__ import annotations

import re

from talent_tracker.careers.derive import CONFIDENCE, stage_of_title
from talent_tracker.careers.profiles.records import (
    Malformed,
    Parsed,
    country_code,
    position,
    span,
    text,
    year,
    years_text,
)

BASE = "https://pub.orcid.org/v3.0"
SECTIONS = ("educations", "employments")
HEADERS = {"Accept": "application/json"}
INFERRED_CONFIDENCE = 0.6  # graduate school inferred from the order of educations
_DOCTORATE = re.compile(r"\b(doctor|doctorate|doctoral|dphil|d\.phil)\b", re.IGNORECASE)
_POSTDOC = re.compile(r"\b(post-?doc|postdoctoral)", re.IGNORECASE)


def url(orcid: str, section: str) -> str:
    return f"{BASE}/{orcid}/{section}"


def is_answer(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("affiliation-group") or [], list)


def parse(orcid: str, educations: dict | None, employments: dict | None) -> Parsed:
    parsed = Parsed()
    items = []
    for section, data in (("education", educations), ("employment", employments)):
        for summary in _summaries(data, section, parsed):
            try:
                items.append((section, _item(summary)))
            except Malformed as exc:
                parsed.skip(f"{section}: {exc}")
    starts = [item["start"] for section, item in items if section == "education" and item["start"] is not None]
    for section, item in items:
        stage, confidence, note = _stage(section, item, starts)
        if stage is None:
            parsed.skip(note)
            continue
        role = item["role"]
        what = f"{section} {role or '(no title)'}" + (f", {item['department']}" if item["department"] else "")
        parsed.records.append(position(
            "orcid", orcid, stage=stage, role=role, institution=item["organization"], domain=None,
            country=item["country"], start=item["start"], end=item["end"], confidence=confidence,
            evidence=f"ORCID {orcid}: {what} at {item['organization']} ({years_text(item['start'], item['end'])})"
                     + (f"; {note}" if note else "")))
    return parsed


def _summaries(data: dict | None, section: str, parsed: Parsed) -> list[dict]:
    groups = data.get("affiliation-group") if isinstance(data, dict) else None
    found = []
    for group in groups if isinstance(groups, list) else []:
        summaries = group.get("summaries") if isinstance(group, dict) else None
        if not isinstance(summaries, list):
            parsed.skip(f"{section}: group without summaries")
            continue
        for entry in summaries:
            summary = entry.get(f"{section}-summary") if isinstance(entry, dict) else None
            if isinstance(summary, dict):
                found.append(summary)
            else:
                parsed.skip(f"{section}: summary without an {section}-summary")
    return found


def _item(summary: dict) -> dict:
    organization = summary.get("organization")
    if not isinstance(organization, dict):
        raise Malformed("no organization")
    name = text(organization.get("name"), "organization name")
    if not name:
        raise Malformed("no organization name")
    address = organization.get("address") if isinstance(organization.get("address"), dict) else {}
    start, end = span(_date_year(summary.get("start-date"), "start"), _date_year(summary.get("end-date"), "end"))
    return {"organization": name, "country": country_code(address.get("country")),
            "role": text(summary.get("role-title"), "role title"),
            "department": text(summary.get("department-name"), "department name"), "start": start, "end": end}


def _date_year(date: object, what: str) -> int | None:
    """The year of a FuzzyDate `{"year": {"value": "2012"}, ...}` (null when absent)."""
    if date is None:
        return None
    if not isinstance(date, dict):
        raise Malformed(f"bad {what} date")
    return year(date.get("year"), what)


def _stage(section: str, item: dict, education_starts: list[int]) -> tuple[str | None, float, str]:
    role = item["role"]
    profile = CONFIDENCE["profile"]
    if section == "employment":
        return stage_of_title(role) or "work", profile, ""
    if role and _POSTDOC.search(role):
        return "work", profile, ""
    stage = stage_of_title(role)
    if stage in ("origin", "graduate"):
        return stage, profile, ""
    if role and _DOCTORATE.search(role):
        return "graduate", profile, ""
    start = item["start"]
    if start is not None and any(s < start for s in education_starts):
        return "graduate", INFERRED_CONFIDENCE, "graduate school inferred: an earlier education exists"
    return None, 0.0, "education without a degree in its title (origin not assumed)"
