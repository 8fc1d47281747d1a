"""Affiliations -> institutions, countries and sectors (registry + world universities)."""

from __future__ import annotations

from pathlib import Path

from .registry import Institution, default_universities_path, load_registry, load_universities
from .resolver import Resolution, ResolutionSettings, Resolver

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
    warning = None
    if universities is None and not path.is_file():
        warning = (f"no world-universities list ({path} not found): resolving with the curated registry only; "
                   "pass --universities FILE or run `talent-tracker fetch --universities`")
        return Resolver(load_registry(), settings=settings), warning
    return Resolver(load_registry(), load_universities(path), settings), warning
