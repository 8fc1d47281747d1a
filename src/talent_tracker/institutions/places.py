"""Countries from place names and e-mail domains, via pycountry and GeoNames' cities.

A wrong country is worse than none: a city decides only when its name is not shared by
a comparable city in another country, and generic top-level domains decide nothing.
"""

from __future__ import annotations

import csv
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import pycountry
from unidecode import unidecode

_NON_WORD = re.compile(r"[^a-z0-9]+")

# word lists and name tables are data: places.toml beside this module
_DATA = tomllib.loads((Path(__file__).with_name("places.toml")).read_text("utf-8"))
_EXTRA_COUNTRY_NAMES: dict[str, str] = _DATA["extra_country_names"]
_EXTRA_REGIONS: dict[str, str] = _DATA["extra_regions"]
_REGION_EXCLUDE = frozenset(_DATA["region_exclude"])
_GENERIC_TLDS = frozenset(_DATA["generic_tlds"])
_TLD_COUNTRY_FIX: dict[str, str] = _DATA["tld_country_fix"]
WEBMAIL = frozenset(_DATA["webmail"])

# US states and Canadian provinces, named in full (abbreviations collide with words)
_REGIONS = {
    **{unidecode(s.name).lower(): "US" for s in pycountry.subdivisions.get(country_code="US")},
    **{unidecode(s.name).lower(): "CA" for s in pycountry.subdivisions.get(country_code="CA")},
}


# accents that PDF extraction left as separate characters: `Montr ´eal`, `F´ed´erale`
_LOOSE_ACCENT = re.compile(r"\s?[´`¨˜ˆ]\s?")


# spellings of one word: German umlauts written out, common abbreviations
_WORD_FORMS = re.compile(r"\b(universitaet|univ|dept|inst)\b")
_WORD_FORM = {"universitaet": "universitat", "univ": "university", "dept": "department", "inst": "institute"}


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (`&` read as `and`)."""
    text = _LOOSE_ACCENT.sub("", text) if "´" in text or "`" in text or "¨" in text or "˜" in text or "ˆ" in text else text
    words = _NON_WORD.sub(" ", unidecode(text).lower().replace("&", " and ")).strip()
    return _WORD_FORMS.sub(lambda m: _WORD_FORM[m.group(1)], words) if "univ" in words or "dept" in words or "inst" in words else words


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Normalised country name -> ISO alpha-2."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names[norm(value)] = country.alpha_2
    names.update({norm(k): v for k, v in _EXTRA_COUNTRY_NAMES.items()})
    names.pop("georgia", None)  # far more often the US state in affiliations
    return names


@lru_cache(maxsize=1)
def region_names() -> dict[str, str]:
    regions = {norm(k): v for k, v in _REGIONS.items() if k not in _REGION_EXCLUDE}
    regions.update(_EXTRA_REGIONS)
    return regions


@lru_cache(maxsize=1)
def city_names() -> dict[str, str]:
    """Normalised city name -> country, only where the name is not ambiguous: a name
    decides when its largest city (of 100,000+ people) is at least ten times larger than
    the largest of that name in any other country. The table, `cities.csv`, is derived
    from GeoNames by `derive_cities.py` and shipped with the package."""
    with Path(__file__).with_name("cities.csv").open(encoding="utf-8", newline="") as f:
        return {row["name"]: row["country"] for row in csv.DictReader(f)}


def country_of_tld(domain: str) -> str | None:
    """The country an e-mail domain's top level names (`.edu.cn`, `.ac.uk`, `.de`), if any."""
    if not domain or domain in WEBMAIL:
        return None
    tld = domain.rsplit(".", 1)[-1].lower()
    if tld in _GENERIC_TLDS:
        return None
    if tld in _TLD_COUNTRY_FIX:
        return _TLD_COUNTRY_FIX[tld]
    country = pycountry.countries.get(alpha_2=tld.upper())
    return country.alpha_2 if country else None


def country_name(code: str | None) -> str | None:
    if not code:
        return None
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else None)


@lru_cache(maxsize=1)
def _all_places() -> dict[str, str]:
    """Every place name -> country; regions before countries before cities."""
    return {**city_names(), **country_names(), **region_names()}


def find_places(words: list[str]) -> list[tuple[int, str, str]]:
    """(word index, matched text, country) for every country, region or city named."""
    places = _all_places()
    found: list[tuple[int, str, str]] = []
    taken = [False] * len(words)
    for size in (4, 3, 2, 1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start:start + size]) if size > 1 else words[start]
            code = places.get(phrase)
            # `england` inside `new england` is not England
            if code and not any(taken[start:start + size]):
                found.append((start, phrase, code))
                taken[start:start + size] = [True] * size
    return found
