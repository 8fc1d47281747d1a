"""Profiles: public career evidence (OpenReview, ORCID, OpenAlex) for the people of a build.

`profiles fetch --db NAME.duckdb` keeps what it downloads, and the records parsed from
it, in the folder `NAME.profiles/` beside the database; the next build reads that folder
(see `facts.load_facts`). Modules: `http` (cached, polite client), `openreview`, `orcid`,
`openalex` (requests and parsers), `fetch` (the command's work), `facts` (for the build).
"""

from __future__ import annotations

from pathlib import Path


def folder_for(db: Path) -> Path:
    """`NAME.profiles/` beside `NAME.duckdb`: a download cache and records, not human work."""
    return Path(db).with_suffix(".profiles")
