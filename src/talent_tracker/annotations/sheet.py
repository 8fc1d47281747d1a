"""Analysts' annotation sheets: validate, and import each row as its analyst's entry.

A sheet is a CSV with one row per person; ANNOTATION_COLUMNS are read, extra columns
(the context a `sample` sheet carries) are ignored. For each stage an institution and/or
a country may be given:
- an institution the registry knows (by name, alias or a close spelling) gives its
  country, which a country given beside it must agree with; one it does not know is
  kept as the analyst wrote it, with the analyst's country (`ETS Montreal` + `CA`);
  `Name (CC)`, as the sheet's affiliation trail prints places, is the name and its country;
- `unknown` / `could not determine` records that the analyst looked and could not tell;
- `confirm` (in either column) takes the person's inferred value for that stage, shown in
  the sheet's `inferred_facts`: the analyst's act, recorded as a confirmation.
Every problem is reported once, with its line number and its one cause, and the row is
not imported; good rows are. Each good row becomes (or updates) the importing analyst's
own entry (workflow.submit_sheet_row): versioned, audited with its values and settled
with every other analyst's entries, so importing never overwrites anyone else's work and
the same sheet twice changes nothing. All of it is in the workspace, which no build touches.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import pycountry
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from talent_tracker.errors import UserError
from talent_tracker.institutions.registry import SECTORS
from talent_tracker.limits import MAX_FORM_NAME, MAX_FORM_TEXT, MAX_SHEET_BYTES, MAX_SHEET_ROWS, MAX_URL, read_text
from talent_tracker.stages import STAGES

ANNOTATION_COLUMNS = (
    "person_id",
    "origin_institution", "origin_country",
    "graduate_institution", "graduate_country",
    "work_institution", "work_country", "work_sector",
    "evidence_url", "notes",
)
REQUIRED = ("person_id",)

_Name = Annotated[str | None, Field(default=None, max_length=MAX_FORM_NAME)]


class AnnotationFields(BaseModel):
    """One person's annotation as an analyst enters it, in a sheet row or the web form
    (whose JSON twin, web/annotate_routes.Entry, adds its version and form-only fields):
    each stage's institution and/or country (ISO 3166-1 alpha-2), the work sector, the
    evidence. Lengths are bounded here; what the values mean is checked by validate_row."""

    model_config = ConfigDict(extra="forbid")
    origin_institution: _Name = None
    origin_country: _Name = None
    graduate_institution: _Name = None
    graduate_country: _Name = None
    work_institution: _Name = None
    work_country: _Name = None
    work_sector: _Name = None
    evidence_url: Annotated[str | None, Field(default=None, max_length=MAX_URL)] = None
    notes: Annotated[str | None, Field(default=None, max_length=MAX_FORM_TEXT)] = None


def _field_problems(line: int, row: dict) -> list[str]:
    """A sheet row's fields checked against AnnotationFields: one problem per field too long."""
    try:
        AnnotationFields.model_validate({k: v for k, v in row.items() if k != "person_id"})
    except ValidationError as exc:
        return [f"line {line}: {'.'.join(map(str, e['loc']))} {e['msg'].lower()}" for e in exc.errors()]
    return []


UNKNOWN = {"unknown", "could not determine", "n/a", "?"}
UNDETERMINED = "could not determine"  # a stage the analyst looked at and could not tell
CONFIRM = "confirm"
_PLACED = re.compile(r"^(?P<name>.*\S)\s*\((?P<country>[A-Za-z]{2})\)$")


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0  # stage entries written (new or changed)
    unchanged: int = 0  # people whose entry the sheet left as their analyst had it
    problems: list[str] = field(default_factory=list)


def read_sheet(path: Path) -> list[tuple[int, dict]]:
    text = read_text(Path(path), MAX_SHEET_BYTES, "annotation sheet")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in ANNOTATION_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(ANNOTATION_COLUMNS)})")
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(rows) >= MAX_SHEET_ROWS:
                raise UserError(f"{path}: more than {MAX_SHEET_ROWS:,} rows; split the sheet")
            rows.append((line, {k: _cell(row.get(k)) for k in ANNOTATION_COLUMNS}))
        return rows
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None


def _cell(value) -> str:
    """A sheet cell as text (bounded by the sheet's own size; AnnotationFields bounds each field)."""
    return str(value or "").strip()


def validate(rows: list[tuple[int, dict]], persons: set[str], resolver,
             inferred: dict[tuple[str, str], dict] | None = None) -> tuple[list[dict], list[str]]:
    """One entry per good row, and one problem line per problem of the bad rows. Rows of
    one person merge into one entry (they must not disagree on a stage)."""
    entries: dict[str, dict] = {}
    problems: list[str] = []
    seen: dict[tuple[str, str], tuple[int, object]] = {}
    for line, row in rows:
        field_problems = _field_problems(line, row)
        if field_problems:
            problems.extend(field_problems)
            continue
        entry, row_problems = validate_row(line, row, persons, resolver, inferred)
        for stage, value in entry.get("stages", {}).items():
            key = (entry["person_id"], stage)
            if key in seen and seen[key][1] != value:
                row_problems.append(f"line {line}: {stage} of {entry['person_id']} conflicts with line {seen[key][0]}")
        if row_problems:
            problems.extend(row_problems)
            continue
        if not entry["stages"] and not entry["evidence_url"] and not entry["notes"]:
            continue  # a row nobody filled in yet: no entry at all
        for stage, value in entry["stages"].items():
            seen[(entry["person_id"], stage)] = (line, value)
        merged = entries.setdefault(entry["person_id"], {**entry, "stages": {}, "confirmed": set()})
        merged["stages"].update(entry["stages"])
        merged["confirmed"] |= entry["confirmed"]
        for name in ("evidence_url", "notes"):
            merged[name] = entry[name] or merged[name]
    return list(entries.values()), problems


def validate_row(line: int, row: dict, persons: set[str], resolver,
                 inferred: dict[tuple[str, str], dict] | None = None) -> tuple[dict, list[str]]:
    """A row as an entry: {person_id, stages: {stage: value or UNDETERMINED}, confirmed,
    evidence_url, notes}, where a value is {institution_id, institution, country, sector};
    and the row's problems, each with its own cause (a stage with a problem raises no
    further ones about it)."""
    person = row["person_id"]
    if not person:
        return {}, [f"line {line}: no person_id"]
    if person not in persons:
        return {}, [f"line {line}: unknown person {person!r}"]
    problems = []
    sector = row["work_sector"].lower()
    if sector and sector not in SECTORS:
        problems.append(f"line {line}: work_sector {row['work_sector']!r} is not one of {', '.join(SECTORS)}")
    stages: dict[str, object] = {}
    confirmed: set[str] = set()
    failed: set[str] = set()
    for stage in STAGES:
        text, country = row[f"{stage}_institution"], row[f"{stage}_country"]
        value, problem = _stage_value(stage, text, country, person, resolver, inferred or {})
        if problem:
            problems.append(f"line {line}: {problem}")
            failed.add(stage)
        elif value is not None:
            stages[stage] = value
            if CONFIRM in (text.lower(), country.lower()):
                confirmed.add(stage)
    work = stages.get("work")
    if sector and "work" not in failed:
        if not isinstance(work, dict):
            problems.append(f"line {line}: work_sector given without a work institution or country")
        else:
            stages["work"] = {**work, "sector": sector}
    return {"person_id": person, "stages": stages, "confirmed": confirmed,
            "evidence_url": row["evidence_url"] or None, "notes": row["notes"] or None}, problems


def _stage_value(stage: str, text: str, country: str, person: str, resolver,
                 inferred: dict[tuple[str, str], dict]) -> tuple[object, str | None]:
    """One stage's cells as a value (None: nothing entered), or the one problem with them."""
    if CONFIRM in (text.lower(), country.lower()):
        if {text.lower(), country.lower()} - {CONFIRM, ""}:
            return None, f"{stage}: write either {CONFIRM!r} or a value, not both"
        fact = inferred.get((person, stage))
        if fact is None:
            return None, f"{stage}: nothing inferred with a country to confirm (enter the value found)"
        return {"institution_id": fact["institution_id"], "institution": fact["institution"],
                "country": fact["country"], "sector": fact["sector"] if stage == "work" else None}, None
    if text.lower() in UNKNOWN or country.lower() in UNKNOWN:
        if (text and text.lower() not in UNKNOWN) or (country and country.lower() not in UNKNOWN):
            return None, f"{stage}: 'could not determine' beside a value"
        return UNDETERMINED, None
    placed = _PLACED.match(text)
    if placed and pycountry.countries.get(alpha_2=placed["country"].upper()) is not None:
        text, printed = placed["name"], placed["country"].upper()  # `ETS Montreal (CA)`, as the trail prints it
        if country and country.upper() != printed:
            return None, f"{stage}_country {country!r} conflicts with {printed} written beside the institution"
        country = printed
    country = country.upper()
    if not text and not country:
        return None, None
    if country and pycountry.countries.get(alpha_2=country) is None:
        return None, f"{stage}_country {country!r} is not an ISO 3166-1 alpha-2 code"
    if not text:
        return {"institution_id": None, "institution": None, "country": country, "sector": None}, None
    found = resolver.resolve(text)
    known = found.institution_id is not None and found.method in ("exact", "alias", "fuzzy")
    if known and found.other_institution_ids:
        return None, f"{stage}_institution {text!r} names several institutions: enter one"
    if not known:
        if not country:
            hint = f" (the name suggests {found.country})" if found.country else ""
            return None, (f"{stage}_institution {text!r} is not in the registry: give its country in {stage}_country"
                          f"{hint}, and it is kept as written")
        return {"institution_id": None, "institution": text, "country": country, "sector": None}, None
    institution = resolver.by_id[found.institution_id]
    if country and country != found.country:
        return None, f"{stage}_country {country} conflicts with {institution.name} ({found.country})"
    return {"institution_id": institution.institution_id, "institution": institution.name, "country": found.country,
            "sector": institution.sector if stage == "work" else None}, None
