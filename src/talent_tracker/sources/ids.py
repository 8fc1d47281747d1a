"""Paper ids: the source's own where it has one, else a stable id from the content."""

from __future__ import annotations

import hashlib
from collections import Counter

from talent_tracker.records import Paper


def content_id(*parts: object) -> str:
    """`tt-` and 12 hex digits of the sha1 of the parts: the same inputs, the same id."""
    return "tt-" + hashlib.sha1("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:12]


def make_unique(papers: list[Paper]) -> list[Paper]:
    """A second paper with an id already taken gets `-2`, a third `-3`, in file order,
    skipping suffixes that are some other paper's own id (`a`, `a`, `a-2` -> `a`, `a-3`, `a-2`)."""
    taken = {paper.paper_id for paper in papers}
    seen: Counter = Counter()
    assigned: set[str] = set()
    for paper in papers:
        original = paper.paper_id
        seen[original] += 1
        if seen[original] > 1 or original in assigned:
            suffix = max(seen[original], 2)
            while f"{original}-{suffix}" in taken or f"{original}-{suffix}" in assigned:
                suffix += 1
            seen[original] = suffix
            paper.paper_id = f"{original}-{suffix}"
        assigned.add(paper.paper_id)
    return papers
