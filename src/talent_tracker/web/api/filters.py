"""The API's filters: venue, years and tier as the analyses parse them, and their query parameters."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated

from fastapi import HTTPException, Query

from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_QUERY
from talent_tracker.population import tier_condition
from talent_tracker.venues import load_venues
from talent_tracker.years import parse_years

MAX_VENUE = 40  # one venue name or alias


class Tier(enum.StrEnum):
    top20 = "top20"
    top2 = "top2"


class Sector(enum.StrEnum):
    academia = "academia"
    industry = "industry"
    government = "government"
    nonprofit = "nonprofit"

VenueQ = Annotated[list[str] | None, Query(max_length=10, description="Venue(s), repeated: neurips, icml, iclr "
                                           "(aliases as in venues.toml); none: every venue")]
YearsQ = Annotated[str | None, Query(max_length=200, description="Years: 2019, 2010-2019 or 2010-2012,2019; none: "
                                     "every year")]
TierQ = Annotated[Tier | None, Query(description="top20: accepted papers; top2: oral papers; none: every paper, "
                                     "accepted or not")]
# the analyses' own (app.py): the same bounds; no venue there means NeurIPS, no tier top20
AnalysisVenueQ = Annotated[list[str] | None, Query(max_length=10, description="Venue(s), repeated: neurips, icml, "
                                                   "iclr (aliases as in venues.toml); none: neurips")]
AnalysisTierQ = Annotated[str, Query(max_length=10, description="top20 (accepted) or top2 (oral)")]
PlaceQ = Annotated[str, Query(pattern="^(lab|hq)$", description="Work country of the lab (lab) or of its "
                              "headquarters (hq)")]
SearchQ = Annotated[str | None, Query(max_length=MAX_QUERY, description="Text to look for (case-insensitive "
                                      "substring; accents optional)")]


# --- filters ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """A listing's filter: papers (and their authors) by venue, years and tier, parsed as the
    analyses parse them. Unlike a Population (a figure's subject, which is always some
    venue's accepted authors), an absent part selects everything: no tier lists every
    paper, accepted or not. A tier means what it means for a Population (tier_condition)."""

    venues: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    tier: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.venues or self.years or self.tier)

    def sql(self, alias: str) -> tuple[list[str], list]:
        parts, params = [], []
        if self.venues:
            parts.append(f"{alias}.venue IN (SELECT unnest(?))")
            params.append(list(self.venues))
        if self.years:
            parts.append(f"{alias}.year IN (SELECT unnest(?))")
            params.append(list(self.years))
        if self.tier:
            parts.append(tier_condition(self.tier, alias))
        return parts, params


def checked_venue_names(venue: list[str] | None) -> list[str] | None:
    """Venue names as given, each of a sane length (the catalogue's error repeats the name)."""
    if venue and any(len(v) > MAX_VENUE for v in venue):
        raise HTTPException(status_code=400, detail=f"a venue name is at most {MAX_VENUE} characters")
    return venue


def filter_of(venue: list[str] | None, years: str | None, tier: Tier | None) -> Filter:
    venue = checked_venue_names(venue)
    try:
        catalogue = load_venues()
        venues = tuple(sorted({catalogue.get(v).key for v in venue})) if venue else ()
        year_list = tuple(parse_years(years)) if years else ()
    except UserError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return Filter(venues, year_list, tier.value if tier else None)
