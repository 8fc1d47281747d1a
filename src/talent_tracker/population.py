"""Who a figure is about: venues, years, tier and where work is placed, parsed once.

The CLI, the JSON API, the site, analyses, samples and estimates all take this one value.
Its errors speak of venues, years and tiers, never of an interface's flags; each
interface words them its own way around.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from talent_tracker.errors import UserError
from talent_tracker.venues import load_venues

TIERS = ("top20", "top2")  # authors of accepted papers; authors of oral papers
PLACES = ("lab", "hq")  # a lab's own country, or its organisation's headquarters
# what is counted: each person once, or each person once per year of the range in which they
# had an accepted paper (the article's "15,616 AI scientists accepted in the past ten years")
UNITS = ("person", "person-year")


def tier_condition(tier: str, alias: str = "a") -> str:
    """The one meaning of a tier, as SQL on authorships or papers (as `alias`): top20 is
    every accepted paper's authors, top2 those of the oral (or equivalent) papers."""
    if tier not in TIERS:
        raise UserError(f"unknown tier {tier!r} (choose {' or '.join(TIERS)})")
    return f"{alias}.accepted" if tier == "top20" else f"{alias}.accepted AND {alias}.tier = 'top2'"


@dataclass(frozen=True)
class Population:
    """Authors of accepted (top20) or oral (top2) papers at `venues` in `years` (none: every
    year), their work placed by lab or headquarters (`place`), counted as people or as
    person-years (`unit`)."""

    venues: tuple[str, ...] = ("neurips",)
    years: tuple[int, ...] = ()
    tier: str = "top20"
    place: str = "lab"
    unit: str = "person"

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise UserError(f"unknown tier {self.tier!r} (choose {' or '.join(TIERS)})")
        if self.place not in PLACES:
            raise UserError(f"unknown place {self.place!r} (choose {' or '.join(PLACES)})")
        if not self.venues:
            raise UserError("a population needs at least one venue")
        if self.unit not in UNITS:
            raise UserError(f"unknown unit {self.unit!r} (choose {' or '.join(UNITS)})")

    @classmethod
    def of(cls, venues: Iterable[str] | None = None, years: Iterable[int] | None = None, tier: str | None = None,
           place: str | None = None, unit: str | None = None) -> Population:
        """From names as people type them (`NeurIPS`, `nips`): venues by their catalogue key
        (unknown names are an error), years sorted without repeats."""
        catalogue = load_venues()
        keys = tuple(sorted({catalogue.get(v).key for v in venues})) if venues else ("neurips",)
        return cls(keys, tuple(sorted(set(years or ()))), tier or "top20", place or "lab", unit or "person")

    def with_(self, **changes) -> Population:
        """The same population with some fields changed (another tier, other years)."""
        return replace(self, **changes)

    def where(self, alias: str = "a") -> tuple[str, list]:
        """SQL condition on authorships (as `alias`) selecting the population's, and its parameters."""
        parts = [tier_condition(self.tier, alias), f"{alias}.venue IN (SELECT unnest(?))"]
        params: list = [list(self.venues)]
        if self.years:
            parts.append(f"{alias}.year IN (SELECT unnest(?))")
            params.append(list(self.years))
        return " AND ".join(parts), params

    @property
    def years_label(self) -> str:
        if not self.years:
            return "all years"
        return f"{min(self.years)}-{max(self.years)}" if len(self.years) > 1 else str(self.years[0])

    @property
    def label(self) -> str:
        place = " (headquarters)" if self.place == "hq" else ""
        unit = " person-years" if self.unit == "person-year" else ""
        return f"{'+'.join(self.venues)} {self.years_label} {self.tier}{unit}{place}"
