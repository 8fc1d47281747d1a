"""Analysts' annotation sheets: validate, and import into the workspace (readers make them career facts).

A sheet is a CSV with one row per person; ANNOTATION_COLUMNS are read, extra columns
(the context a `sample` sheet carries) are ignored. For each stage an institution
and/or a country may be given; the institution must resolve to exactly one known
institution, the country must be an ISO 3166-1 alpha-2 code and agree with the
institution's. Every problem is reported with its line number and the row is not
imported; good rows are. Importing is an upsert per person and stage, so importing the
same sheet twice changes nothing the second time. Annotations live in the workspace
(workspace.py), which no build touches: they are never overwritten.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import pycountry
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..careers import STAGES
from ..errors import UserError
from ..limits import MAX_FORM_NAME, MAX_FORM_TEXT, MAX_SHEET_BYTES, MAX_SHEET_ROWS, MAX_URL, read_text
from ..institutions.registry import SECTORS

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


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0  # stage entries written (new or changed)
    unchanged: int = 0
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


def validate(rows: list[tuple[int, dict]], persons: set[str], resolver) -> tuple[list[dict], list[str]]:
    """Entries (one per person and stage) from the good rows, and a problem line per bad row."""
    entries: list[dict] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], tuple[int, tuple]] = {}
    for line, row in rows:
        field_problems = _field_problems(line, row)
        if field_problems:
            problems.extend(field_problems)
            continue
        row_entries, row_problems = validate_row(line, row, persons, resolver)
        for entry in row_entries:
            key = (entry["person_id"], entry["stage"])
            value = (entry["institution_id"], entry["country"])
            if key in seen and seen[key][1] != value:
                row_problems.append(f"line {line}: {entry['stage']} of {entry['person_id']} conflicts with "
                                    f"line {seen[key][0]}")
        if row_problems:
            problems.extend(row_problems)
            continue
        for entry in row_entries:
            seen[(entry["person_id"], entry["stage"])] = (line, (entry["institution_id"], entry["country"]))
        entries.extend(row_entries)
    return entries, problems


def validate_row(line: int, row: dict, persons: set[str], resolver, allow_new: bool = False
                  ) -> tuple[list[dict], list[str]]:
    problems = []
    person = row["person_id"]
    if not person:
        return [], [f"line {line}: no person_id"]
    if person not in persons:
        problems.append(f"line {line}: unknown person {person!r}")
    sector = row["work_sector"].lower()
    if sector and sector not in SECTORS:
        problems.append(f"line {line}: work_sector {row['work_sector']!r} is not one of {', '.join(SECTORS)}")
    entries = []
    for stage in STAGES:
        text, country = row[f"{stage}_institution"], row[f"{stage}_country"].upper()
        if text.lower() in UNKNOWN:
            text = ""
        if country.lower() in UNKNOWN:
            country = ""
        if not text and not country:
            continue
        if country and pycountry.countries.get(alpha_2=country) is None:
            problems.append(f"line {line}: {stage}_country {row[f'{stage}_country']!r} is not an ISO 3166-1 "
                            "alpha-2 code")
            continue
        institution = None
        new_name = None
        if text:
            found = resolver.resolve(text)
            if (found.institution_id is None or found.method not in ("exact", "alias", "fuzzy")) and allow_new and country:
                # a new institution, named by the analyst with its country
                new_name = text
                found = None
            elif found.institution_id is None or found.method not in ("exact", "alias", "fuzzy"):
                problems.append(f"line {line}: {stage}_institution {text!r} is not a known institution "
                                "(add it to the registry, or give the country alone)"
                                + (" with its country" if allow_new else ""))
                continue
            if found is not None and found.other_institution_ids:
                problems.append(f"line {line}: {stage}_institution {text!r} is ambiguous (names several "
                                "institutions)")
                continue
            if found is not None:
                institution = resolver.by_id[found.institution_id]
                if country and country != found.country:
                    problems.append(f"line {line}: {stage}_country {country} conflicts with {institution.name} "
                                    f"({found.country})")
                    continue
                country = found.country
        entries.append({
            "person_id": person, "stage": stage,
            "institution_id": institution.institution_id if institution else None,
            "institution": institution.name if institution else new_name, "country": country,
            "sector": (sector or (institution.sector if institution else None)) if stage == "work"
            else (institution.sector if institution else None),
            "evidence_url": row["evidence_url"] or None, "notes": row["notes"] or None,
        })
    if sector and not any(e["stage"] == "work" for e in entries):
        problems.append(f"line {line}: work_sector given without a work institution or country")
    return entries, problems


def import_sheet(db: Path, path: Path, resolver, actor: str | None = None) -> ImportReport:
    """Validate the sheet and upsert its good rows into the workspace's `annotations`
    (one transaction: all good rows or, on a failure, none)."""
    from ..store import reader
    from ..workspace import audit, cli_actor, now, open_workspace

    rows = read_sheet(path)
    report = ImportReport(rows=len(rows))
    wanted = sorted({row["person_id"] for _, row in rows if row["person_id"]})
    with reader(db) as con:
        persons = {r[0] for r in con.execute("SELECT person_id FROM persons WHERE person_id IN (SELECT unnest(?))",
                                             [wanted]).fetchall()}
    entries, report.problems = validate(rows, persons, resolver)
    workspace = open_workspace(db)
    stamp = now()
    with workspace.write() as con:
        for entry in entries:
            current = con.execute(
                "SELECT institution_id, country, sector, evidence_url, notes FROM annotations "
                "WHERE person_id = ? AND stage = ?", [entry["person_id"], entry["stage"]]).fetchone()
            new = (entry["institution_id"], entry["country"], entry["sector"], entry["evidence_url"], entry["notes"])
            if current is not None and tuple(current) == new:
                report.unchanged += 1
                continue
            con.execute("INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [entry["person_id"], entry["stage"], entry["institution_id"], entry["institution"],
                         entry["country"], entry["sector"], entry["evidence_url"], entry["notes"], str(path), stamp])
            report.imported += 1
        audit(con, actor or cli_actor(), "import sheet", None, None,
              {"sheet": str(path), "rows": report.rows, "imported": report.imported, "problems": len(report.problems)})
    return report
