"""Affiliation text (and an e-mail domain) -> institution, country, sector.

Order of evidence, strongest first; a wrong country is worse than none, so each step
only answers when it is sure and the rest fall through to "unknown":

1. `exact` / `alias`: the longest run of words in an affiliation segment that is an
   institution's name or one of its aliases (registry first, then the world list).
   Several institutions in one string (`A + B`, `A; B`): the one whose domain matches
   the author's e-mail domain is the author's, else the first; the others are kept.
   A multinational's country is the place named beside it (`Google, Zurich` -> CH).
2. `fuzzy`: a close spelling of a known name (rapidfuzz, high cut-off).
3. `domain`: the e-mail domain or a parent domain of it is an institution's
   (`cs.stanford.edu` -> Stanford); webmail never decides.
4. `place`: a country, US state / Canadian province or an unambiguous city named in
   the text gives the country, with no institution.
5. `domain` (country only): a country-code top-level domain (`.edu.cn`, `.ac.uk`, `.de`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from talent_tracker.errors import UserError
from talent_tracker.institutions.places import (
    WEBMAIL,
    city_names,
    country_names,
    country_of_tld,
    find_places,
    norm,
    region_names,
)
from talent_tracker.institutions.registry import Institution
from talent_tracker.limits import MAX_FIELD_CHARS, read_text

_SEGMENT_SPLIT = re.compile(r"\s*(?:\+|;|\||\s/\s|\band also\b)\s*")
# matching settings and word lists are data: resolution.toml beside this module
_SETTINGS = tomllib.loads(Path(__file__).with_name("resolution.toml").read_text("utf-8"))
_INSTITUTION_WORDS = frozenset(_SETTINGS["institution_words"])
_GENERIC_WORDS = frozenset(_SETTINGS["generic_words"])
_STOP_ALIASES = frozenset(_SETTINGS["stop_aliases"])
CONFIDENCE: dict[str, float] = _SETTINGS["confidence"]
MAX_SETTINGS_BYTES = 64 * 1024


@dataclass(frozen=True)
class ResolutionSettings:
    """How closely a name must match, frozen for one build and recorded in its build_info.

    The packaged resolution.toml gives the defaults; `build --resolution FILE` overrides
    any of these keys (the word lists stay packaged data)."""

    max_words: int = _SETTINGS["max_words"]  # the longest run of words tried as a name
    fuzzy_cutoff: int = _SETTINGS["fuzzy_cutoff"]  # the least rapidfuzz ratio of a fuzzy match
    confidence: tuple[tuple[str, float], ...] = tuple(sorted(CONFIDENCE.items()))  # per method

    @classmethod
    def load(cls, override: Path | None = None) -> ResolutionSettings:
        """The packaged settings, with the keys of an override TOML file in their place."""
        if override is None:
            return cls()
        try:
            data = tomllib.loads(read_text(Path(override), MAX_SETTINGS_BYTES, "resolution settings"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{override}: not valid TOML ({exc})") from None
        unknown = sorted(set(data) - {"max_words", "fuzzy_cutoff", "confidence"})
        if unknown:
            raise UserError(f"{override}: unknown setting(s) {', '.join(unknown)} "
                            "(max_words, fuzzy_cutoff and [confidence] may be set)")
        max_words, cutoff = data.get("max_words", cls.max_words), data.get("fuzzy_cutoff", cls.fuzzy_cutoff)
        if not isinstance(max_words, int) or not 1 <= max_words <= 30:
            raise UserError(f"{override}: max_words must be a whole number from 1 to 30, not {max_words!r}")
        if not isinstance(cutoff, (int, float)) or not 50 <= cutoff <= 100:
            raise UserError(f"{override}: fuzzy_cutoff must be a number from 50 to 100, not {cutoff!r}")
        confidence = dict(CONFIDENCE)
        for method, value in (data.get("confidence") or {}).items():
            if method not in CONFIDENCE:
                raise UserError(f"{override}: no method {method!r} in [confidence] ({', '.join(CONFIDENCE)})")
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise UserError(f"{override}: confidence of {method} must lie from 0 to 1, not {value!r}")
            confidence[method] = float(value)
        return cls(max_words, cutoff, tuple(sorted(confidence.items())))

    def recorded(self) -> dict:
        return {"max_words": self.max_words, "fuzzy_cutoff": self.fuzzy_cutoff, "confidence": dict(self.confidence)}


@dataclass(frozen=True)
class Resolution:
    query: str
    institution_id: str | None = None
    institution: str | None = None
    country: str | None = None
    sector: str | None = None
    method: str | None = None
    confidence: float | None = None
    other_institution_ids: tuple[str, ...] = ()

    def as_json(self) -> dict:
        return {"query": self.query, "institution_id": self.institution_id, "institution": self.institution,
                "country": self.country, "sector": self.sector, "method": self.method,
                "confidence": self.confidence}


@dataclass(frozen=True)
class _Match:
    institution: Institution
    method: str  # exact | alias | fuzzy
    start: int
    words: int


_CACHE_SIZE = 1 << 18


class Resolver:
    def __init__(self, registry: Iterable[Institution], universities: Iterable[Institution] = (),
                 settings: ResolutionSettings | None = None):
        self.settings = settings or ResolutionSettings()
        self._confidence = dict(self.settings.confidence)
        self.by_id: dict[str, Institution] = {}
        self.names: dict[str, tuple[Institution, str]] = {}
        self.domains: dict[str, Institution] = {}
        for layer in (list(registry), list(universities)):
            for inst in layer:
                self.by_id.setdefault(inst.institution_id, inst)
                self._add_name(inst.name, inst, "exact")
                if inst.name.lower().startswith("the "):
                    self._add_name(inst.name[4:], inst, "exact")
                for alias in inst.aliases:
                    self._add_name(alias, inst, "alias")
                for domain in inst.domains:
                    self.domains.setdefault(domain, inst)
        # a close spelling must keep every distinctive word, so only names with the same
        # distinctive words are worth comparing: bucket them by those words
        self._fuzzy_buckets: dict[frozenset[str], list[str]] = {}
        for key in self.names:
            if len(key.split()) >= 2:
                self._fuzzy_buckets.setdefault(frozenset(_distinctive(key)), []).append(key)
        # per first word, the longest name starting with it: n-grams start only there
        self._starts: dict[str, int] = {}
        for key in self.names:
            words = key.split()
            self._starts[words[0]] = max(self._starts.get(words[0], 0), len(words))
        # results by (text, domain): a dict, not functools.lru_cache over the bound method,
        # which would tie the resolver into a reference cycle (freed only by the collector)
        self._cache: dict[tuple[str, str], Resolution] = {}

    def _add_name(self, name: str, inst: Institution, method: str) -> None:
        key = norm(name)
        if not key or key in _STOP_ALIASES or key in country_names() or key in region_names():
            return
        if inst.layer != "registry" and set(key.split()) <= _GENERIC_WORDS:
            return
        self.names.setdefault(key, (inst, method))

    def warm(self) -> None:
        """Build the lazily loaded place tables now (before worker processes fork)."""
        country_names(), region_names(), city_names()

    def resolve(self, text: str | None, domain: str | None = None) -> Resolution:
        # bounded: matching costs grow with the length of the text (limits.py)
        key = ((text or "")[:MAX_FIELD_CHARS].strip(), (domain or "")[:253].strip().lower())
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_SIZE:  # bounded: started afresh when full
                self._cache.clear()
            found = self._cache[key] = self._resolve(*key)
        return found

    def _resolve(self, text: str, domain: str) -> Resolution:
        segments = [s for s in _SEGMENT_SPLIT.split(text) if s.strip()] if text else []
        # every institution named, segment by segment and in order within a segment
        found = [(segment, m) for segment in segments for m in self._matches(segment)]
        domain_inst = self.by_domain(domain)
        if found:
            chosen_segment, chosen = found[0]
            if domain_inst is not None:
                for segment, m in found:
                    if m.institution.institution_id == domain_inst.institution_id or (
                            domain_inst.institution_id == m.institution.parent):
                        chosen_segment, chosen = segment, m
                        break
            inst = chosen.institution
            country = inst.country
            # a place inside a name says where the institution is only for a
            # multinational's located branch (`IBM Research - China`); otherwise it is
            # part of the name (`The Chinese University of Hong Kong, Shenzhen`)
            words = norm(chosen_segment).split()
            if not inst.multinational:
                words = words[:chosen.start] + words[chosen.start + chosen.words:]
            named = self._place_country(" ".join(words), cities=inst.multinational)
            if named and named != country:
                if inst.layer != "registry":
                    # a listed university in a country the text contradicts: the
                    # name is someone else's (`Lancaster University` is also in Ghana)
                    return Resolution(text, country=named, method="place", confidence=self._confidence["place"])
                country = named  # where this author works: `Microsoft Research, Cambridge, MA`
            others = tuple(dict.fromkeys(m.institution.institution_id for _, m in found
                                         if m.institution.institution_id != inst.institution_id))
            return Resolution(text, inst.institution_id, inst.name, country, inst.sector, chosen.method,
                              self._confidence[chosen.method], others)
        named = self._place_country(text) if text else None
        if domain_inst is not None and named in (None, domain_inst.country):
            return Resolution(text, domain_inst.institution_id, domain_inst.name, domain_inst.country,
                              domain_inst.sector, "domain", self._confidence["domain"])
        if named:
            return Resolution(text, country=named, method="place", confidence=self._confidence["place"])
        country = country_of_tld(domain) if domain else None
        if country:
            return Resolution(text, country=country, method="domain", confidence=self._confidence["tld"])
        return Resolution(text)

    def by_domain(self, domain: str | None) -> Institution | None:
        """The institution of a domain or of its nearest parent domain (not webmail)."""
        if not domain or domain in WEBMAIL:
            return None
        parts = domain.lower().strip(".").split(".")
        for i in range(len(parts) - 1):
            candidate = ".".join(parts[i:])
            if candidate in WEBMAIL:
                return None
            inst = self.domains.get(candidate)
            if inst is not None:
                return inst
        return None

    def _matches(self, segment: str) -> list[_Match]:
        """The institutions named in the segment (`University of Toronto, Nvidia, Vector
        Institute` names three), in order; a close spelling when none is named exactly."""
        hits = self._hits(segment)
        if hits:
            return sorted(hits, key=lambda h: h.start)
        fuzzy = self._fuzzy(segment)
        return [fuzzy] if fuzzy else []

    def _match(self, segment: str) -> _Match | None:
        """The first institution named in the segment, by its longest name or alias."""
        found = self._matches(segment)
        return found[0] if found else None

    def _hits(self, segment: str) -> list[_Match]:
        words = norm(segment).split()
        hits: list[_Match] = []
        for start, word in enumerate(words):
            longest = self._starts.get(word)
            if longest is None:
                continue
            for size in range(min(longest, self.settings.max_words, len(words) - start), 0, -1):
                hit = self.names.get(" ".join(words[start:start + size]) if size > 1 else word)
                if hit is None:
                    continue
                # a name inside a longer name already found (`microsoft` in `microsoft research asia`) is not one
                if not any(h.start <= start and start + size <= h.start + h.words for h in hits):
                    hits.append(_Match(hit[0], hit[1], start, size))
                break  # the longest name starting here
        return hits

    def _fuzzy(self, segment: str) -> _Match | None:
        for part in segment.split(","):
            key = norm(part)
            words = key.split()
            if len(words) < 2 or not _INSTITUTION_WORDS.intersection(words):
                continue
            # a close spelling may differ in generic words and punctuation, never in the
            # words that tell institutions apart (`Freiburg` is not `Fribourg`)
            bucket = self._fuzzy_buckets.get(frozenset(_distinctive(key)))
            if not bucket:
                continue
            hit = process.extractOne(key, bucket, scorer=fuzz.ratio, score_cutoff=self.settings.fuzzy_cutoff)
            if hit is not None:
                inst, _ = self.names[hit[0]]
                return _Match(inst, "fuzzy", 0, len(words))
        return None

    @staticmethod
    def _place_country(text: str, cities: bool = True) -> str | None:
        """The country a text names: country names first, then regions, then cities; none if they disagree."""
        places = find_places(norm(text).split())
        if not places:
            return None
        countries, regions = country_names(), region_names()
        for table in (countries, regions, None) if cities else (countries, regions):
            codes = {code for _, phrase, code in places
                     if (table is None and phrase not in countries and phrase not in regions)
                     or (table is not None and phrase in table)}
            if len(codes) == 1:
                return codes.pop()
            if len(codes) > 1:
                return None
        return None


def _distinctive(key: str) -> set[str]:
    return set(key.split()) - _GENERIC_WORDS - _INSTITUTION_WORDS
