"""Paper ids: the source's own where it has one, else a stable id from the content."""

from __future__ import annotations

import hashlib
from collections import Counter

from ..records import Paper


def content_id(*parts: object) -> str:
    """`tt-` and 12 hex digits of the sha1 of the parts: the same inputs, the same id."""
    return "tt-" + hashlib.sha1("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:12]


def make_unique(papers: list[Paper]) -> list[Paper]:
    """A second paper with an id already taken gets `-2`, a third `-3`, in file order."""
    seen: Counter = Counter()
    for paper in papers:
        seen[paper.paper_id] += 1
        if seen[paper.paper_id] > 1:
            paper.paper_id = f"{paper.paper_id}-{seen[paper.paper_id]}"
    return papers
