"""Countries to regions, and regions to named groups: data, not code.

`regions.csv` (country, name, region) follows the UN M49 sub-regions, with Western Asia
and Iran as the Middle East (apart from Asia), Cyprus and the South Caucasus in Europe,
and Taiwan in East Asia. `region_groups.csv` (group, region) says which regions a named
group holds: "Asia" is East, Southeast and South Asia, the Middle East is its own group.
Edit either file to change every analysis and the map at once.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

from talent_tracker.errors import UserError


@lru_cache(maxsize=1)
def regions() -> dict[str, str]:
    """Country (ISO 3166-1 alpha-2) -> region. Keys are plain codes, looked up as they are:
    anything else (a pattern such as `^GB$|^UK$`) is refused, never silently unmatched."""
    found = {}
    for line, row in enumerate(_read("regions.csv", ("country", "name", "region")), start=2):
        code = row["country"]
        if len(code) != 2 or not code.isascii() or not code.isalpha() or not code.isupper():
            raise UserError(f"regions.csv line {line}: {code!r} is not an ISO 3166-1 alpha-2 code")
        if code in found:
            raise UserError(f"regions.csv line {line}: {code} is listed twice")
        found[code] = row["region"]
    return found


@lru_cache(maxsize=1)
def groups() -> dict[str, tuple[str, ...]]:
    """Group name (lower case) -> the countries of its regions, sorted."""
    members: dict[str, set[str]] = {}
    by_region: dict[str, set[str]] = {}
    for country, region in regions().items():
        by_region.setdefault(region, set()).add(country)
    for row in _read("region_groups.csv", ("group", "region")):
        if row["region"] not in by_region:
            raise UserError(f"region_groups.csv: region {row['region']!r} is in no row of regions.csv")
        members.setdefault(row["group"].casefold(), set()).update(by_region[row["region"]])
    return {name: tuple(sorted(countries)) for name, countries in members.items()}


def group(name: str) -> tuple[str, ...]:
    found = groups().get(name.casefold())
    if found is None:
        raise UserError(f"unknown region group {name!r} (known: {', '.join(sorted(groups()))})")
    return found


def region_of(country: str | None) -> str | None:
    return regions().get(country) if country else None


def _read(name: str, columns: tuple[str, ...]) -> list[dict]:
    text = resources.files(__package__).joinpath(name).read_text("utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != columns:
        raise UserError(f"{name}: expected the columns {','.join(columns)}")
    return list(reader)
