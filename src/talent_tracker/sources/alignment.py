"""Match per-author lists (affiliation, e-mail domain, job title) to the authors.

In lists taken from OpenReview profiles (NeurIPS 2021, ICLR 2021) an author whose
profile lacks a value has no entry at all, so a list can be shorter than the author
list, and nothing marks whose entry is missing. Three rules, strongest first:

- `positional`: the list is as long as the author list: entry i is author i's.
- `profile_order`: the list is as long as the number of authors with an OpenReview
  profile (`~Name1` ids): the entries are those authors', in order.
- `evidence`: otherwise, an order-preserving alignment scored by what the same file
  says elsewhere about each author (the values seen for the same profile id in papers
  whose lists line up). An entry is assigned only if every best-scoring alignment puts
  it on the same author *and* that author is known to have that value; the rest stay
  unassigned (kept in `unaligned_entries`, never guessed).
"""

from __future__ import annotations

from collections.abc import Sequence

POSITIONAL = "positional"
PROFILE_ORDER = "profile_order"
EVIDENCE = "evidence"
# not aligned: the file's work budget for evidence alignment is spent (limits.ALIGNMENT_BUDGET)
OVER_BUDGET = "over_budget"

_IMPOSSIBLE = -(10**9)
_NO_PROFILE_PENALTY = -1000


def align(
    entries: Sequence[str],
    has_profile: Sequence[bool],
    known: Sequence[frozenset[str] | None],
    budget: list[int] | None = None,
) -> tuple[dict[int, int], str | None]:
    """Map author index -> entry index, and the rule used (None when nothing could be).

    `budget` ([cells]) is what the evidence alignment may still spend; it costs authors x
    entries, and a paper it cannot afford is left unaligned (OVER_BUDGET).
    """
    n, k = len(has_profile), len(entries)
    if k == n:
        return {i: i for i in range(n)}, POSITIONAL
    if k > n or k == 0:
        return {}, None
    profiled = [i for i in range(n) if has_profile[i]]
    if len(profiled) == k:
        return {author: j for j, author in enumerate(profiled)}, PROFILE_ORDER
    if not any(known):
        return {}, None  # no evidence about anyone: nothing can be placed
    if budget is not None:
        if budget[0] < n * k:
            return {}, OVER_BUDGET
        budget[0] -= n * k
    assigned = _evidence_alignment(entries, has_profile, known, len(profiled) >= k)
    return assigned, (EVIDENCE if assigned else None)


def _evidence_alignment(entries, has_profile, known, profiles_suffice) -> dict[int, int]:
    n, k = len(has_profile), len(entries)

    def score(i: int, j: int) -> int:
        if profiles_suffice and not has_profile[i]:
            return _NO_PROFILE_PENALTY
        return 1 if known[i] is not None and entries[j] in known[i] else 0

    # best[j][i]: best score placing the first j entries on the first i authors
    best = [[_IMPOSSIBLE] * (n + 1) for _ in range(k + 1)]
    best[0] = [0] * (n + 1)
    for j in range(1, k + 1):
        row, prev = best[j], best[j - 1]
        for i in range(j, n + 1):
            row[i] = max(row[i - 1], prev[i - 1] + score(i - 1, j - 1))
    # rest[j][i]: best score placing entries j.. on authors i..
    rest = [[_IMPOSSIBLE] * (n + 2) for _ in range(k + 1)]
    rest[k] = [0] * (n + 2)
    for j in range(k - 1, -1, -1):
        row, nxt = rest[j], rest[j + 1]
        for i in range(n - (k - j), -1, -1):
            row[i] = max(row[i + 1], score(i, j) + nxt[i + 1])
    optimum = best[k][n]
    assigned: dict[int, int] = {}
    for j in range(k):
        places = [
            i
            for i in range(j, n - (k - j) + 1)
            if best[j][i] > _IMPOSSIBLE // 2
            and rest[j + 1][i + 1] > _IMPOSSIBLE // 2
            and best[j][i] + score(i, j) + rest[j + 1][i + 1] == optimum
        ]
        if len(places) == 1 and score(places[0], j) > 0:
            assigned[places[0]] = j
    return assigned
