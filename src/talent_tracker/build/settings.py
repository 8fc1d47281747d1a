"""What a build is asked to do: every input and choice of `talent-tracker build`, in one value.

A build records it in `build_info` (key `settings`, JSON) with what the build chose from
it (the universities list found in the data folder, the people model's threshold, the
resolution settings), so a database says how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuildSettings:
    data: Path  # the data folder as a whole, its paper lists, or the conference CSV
    source: str = "paperlists"  # or "conference-csv"
    venue_names: tuple[str, ...] = ()  # none: every venue in the data
    years: str | None = None  # `2019`, `2010-2019`, `2010-2012,2019`; none: every year
    venues_file: Path | None = None  # overrides of venues.toml
    strict: bool = False  # fail, changing nothing, if a file, record or label is skipped
    universities: Path | None = None  # the world-universities list; none: the data folder's
    people_overrides: Path | None = None  # analysts' decisions to import first
    profiles: Path | None = None  # a folder of OpenReview profile files
    people_backend: str = "duckdb"  # or "spark"
    people_model: Path | None = None  # none: the packaged model
    resolution: Path | None = None  # matching settings; none: the packaged ones

    def recorded(self, venues: list[str], universities: Path | None, people_threshold: float,
                 resolution: dict) -> dict:
        """The settings as `build_info` keeps them, with what the build chose (the venues'
        own keys for the names given, the universities list, the model's threshold)."""
        return {"source": self.source, "data": str(Path(self.data).resolve()), "venues": venues,
                "years": self.years or "", "venues_file": str(self.venues_file or ""), "strict": self.strict,
                "universities": str(Path(universities).resolve()) if universities else "",
                "people_backend": self.people_backend, "people_model": str(self.people_model or "packaged"),
                "people_threshold": people_threshold, "resolution": resolution,
                "resolution_file": str(self.resolution or "packaged")}
