"""The institution reference: our curated registry (CSV) and the world-universities list.

`registry.csv` beside this module is reviewed line by line: stable id, canonical name,
country (ISO 3166-1 alpha-2), sector, parent, whether it is a multinational (whose
country then comes from the place named in an affiliation, e.g. `Google, Zurich`),
aliases and e-mail/web domains (`|`-separated). The world-universities list (10,251
universities with countries and domains) is a second layer read from a file the user
gives or `talent-tracker fetch` downloads; it is never copied into the repository.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pycountry

from talent_tracker import jsonread
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_SHEET_BYTES, MAX_UNIVERSITIES_BYTES, read_text

SECTORS = ("academia", "industry", "government", "nonprofit")
REGISTRY_COLUMNS = ("institution_id", "name", "country", "sector", "parent", "multinational", "aliases", "domains")
UNIVERSITIES_FILE = "world_universities_and_domains.json"


@dataclass(frozen=True)
class Institution:
    institution_id: str
    name: str
    country: str
    sector: str
    parent: str | None = None
    multinational: bool = False
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    layer: str = "registry"  # registry | universities


def load_registry(path: Path | None = None) -> list[Institution]:
    """The curated registry; every row is validated, and a bad row is an error naming its line."""
    if path is None:
        text = resources.files(__package__).joinpath("registry.csv").read_text("utf-8")
        label = "registry.csv"
    else:
        text, label = read_text(Path(path), MAX_SHEET_BYTES, "registry"), str(path)
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != REGISTRY_COLUMNS:
        raise UserError(f"{label}: expected the columns {','.join(REGISTRY_COLUMNS)}")
    institutions, seen = [], set()
    for line, row in enumerate(reader, start=2):
        where = f"{label} line {line}"
        iid = (row["institution_id"] or "").strip()
        if not iid or iid in seen:
            raise UserError(f"{where}: missing or repeated institution_id {iid!r}")
        seen.add(iid)
        country = (row["country"] or "").strip().upper()
        if pycountry.countries.get(alpha_2=country) is None:
            raise UserError(f"{where}: {country!r} is not an ISO 3166-1 alpha-2 country")
        sector = (row["sector"] or "").strip()
        if sector not in SECTORS:
            raise UserError(f"{where}: sector {sector!r} is not one of {', '.join(SECTORS)}")
        institutions.append(Institution(
            institution_id=iid, name=row["name"].strip(), country=country, sector=sector,
            parent=(row["parent"] or "").strip() or None,
            multinational=(row["multinational"] or "").strip().lower() in ("yes", "true", "1"),
            aliases=tuple(a.strip() for a in (row["aliases"] or "").split("|") if a.strip()),
            domains=tuple(d.strip().lower() for d in (row["domains"] or "").split("|") if d.strip()),
        ))
    parents = {i.institution_id for i in institutions}
    for inst in institutions:
        if inst.parent and inst.parent not in parents:
            raise UserError(f"{label}: {inst.institution_id}: parent {inst.parent!r} is not in the registry")
    return institutions


def default_universities_path(cache: Path = Path("talent-tracker-data")) -> Path:
    return universities_in(cache) or cache / "world-universities" / UNIVERSITIES_FILE


def universities_in(folder: Path) -> Path | None:
    """The world-universities list in a data folder (`world-universities/`, .json or .json.gz)."""
    for name in (UNIVERSITIES_FILE, UNIVERSITIES_FILE + ".gz"):
        path = Path(folder) / "world-universities" / name
        if path.is_file():
            return path
    return None


def load_universities(path: Path, problems: list[str] | None = None) -> list[Institution]:
    """The world-universities list (JSON or gzipped JSON), as academic institutions,
    streamed within the caps of limits.py. Entries that are not universities or pass a
    cap are left out and counted in `problems`; UserError if the file cannot be read."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: universities file not found (get it with `talent-tracker fetch --universities`)")
    universities, seen, left_out = [], set(), 0
    try:
        for item in jsonread.array_file(path, MAX_UNIVERSITIES_BYTES, "universities list"):
            university = _university(item.value, seen)
            if university is None:
                left_out += 1
            else:
                universities.append(university)
    except jsonread.FILE_ERRORS as exc:
        raise UserError(f"{path}: not a readable universities list ({jsonread.describe(exc)})") from None
    if left_out and problems is not None:
        problems.append(f"{path}: universities left out (no name and country code, or past a cap): {left_out:,}")
    return universities


def _university(entry: object, seen: set[str]) -> Institution | None:
    if not isinstance(entry, dict):
        return None
    name, country = entry.get("name"), entry.get("alpha_two_code")
    if not isinstance(name, str) or not name.strip() or not isinstance(country, str) or not country.strip():
        return None
    listed = entry.get("domains") if isinstance(entry.get("domains"), list) else []
    domains = tuple(d.lower() for d in listed if isinstance(d, str))
    base = "wu-" + (domains[0] if domains else name.lower().replace(" ", "-"))
    iid, n = base, 2
    while iid in seen:
        iid, n = f"{base}-{n}", n + 1
    seen.add(iid)
    country = country.strip().upper()
    return Institution(iid, name.strip(), "GB" if country == "UK" else country, "academia", domains=domains,
                       layer="universities")
