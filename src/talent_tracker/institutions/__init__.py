"""Affiliations -> institutions, countries and sectors (registry + world universities)."""

from __future__ import annotations

from pathlib import Path

from talent_tracker.errors import UserError
from talent_tracker.institutions.registry import (
    Institution,
    default_universities_path,
    load_registry,
    load_universities,
)
from talent_tracker.institutions.resolver import Resolution, ResolutionSettings, Resolver

__all__ = ["Institution", "Resolution", "ResolutionSettings", "Resolver", "load_resolver"]


def load_resolver(universities: Path | None = None, settings: ResolutionSettings | None = None
                  ) -> tuple[Resolver, str | None]:
    """The resolver over our registry and the world-universities list.

    `universities` is the list's file; without it, the copy `talent-tracker fetch
    --universities` keeps in ./talent-tracker-data is used if present, else the registry
    alone (with a warning to say so). `settings`: how closely names must match (the
    packaged resolution.toml unless given).
    """
    path = Path(universities) if universities else default_universities_path()
    if universities is None and not path.is_file():
        warning = (f"no world-universities list ({path} not found): resolving with the curated registry only; "
                   "pass --universities FILE or run `talent-tracker fetch --universities`")
        return Resolver(load_registry(), settings=settings), warning
    if not path.exists():
        load_universities(path)  # a list named that is not there: its one-line error
    # a list that cannot be read costs its universities, not the command: say so
    problems: list[str] = []
    try:
        universities = load_universities(path, problems)
    except UserError as exc:
        universities, problems = [], [f"{exc}: resolving with the curated registry only"]
    return Resolver(load_registry(), universities, settings), "; ".join(problems) or None
