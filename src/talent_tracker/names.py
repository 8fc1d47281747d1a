"""Names as the tracker compares them: ASCII tokens, and the key of a name's block.

One definition, used wherever names are matched: person resolution (people/), the
schedule's authors (sources/schedule.py).
"""

from __future__ import annotations

import re
from functools import cache

from unidecode import unidecode

_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md"}
_NON_WORD = re.compile(r"[^a-z0-9\s]")


@cache
def name_tokens(name: str) -> tuple[str, ...]:
    """Lower-case ASCII tokens; hyphens join (`Zhi-Hua` -> `zhihua`), dots split initials.

    A token of digits alone is a footnote mark (`Kha Pham 1`, `Ma Xiaoxiong[1]`) and is
    dropped; digits inside a token (`P1`) are part of the name, so `P1 Q1` and `P2 Q2`
    stay two names rather than one block of everyone whose name differs by digits."""
    text = unidecode(name).lower().replace("-", "").replace("'", "").replace(".", " ")
    return tuple(t for t in _NON_WORD.sub(" ", text).split() if t not in _SUFFIXES and not t.isdigit())


@cache
def name_key(name: str) -> str:
    """`first last`, middle names dropped: the block a mention is compared within."""
    tokens = name_tokens(name)
    if not tokens:
        return ""
    return tokens[0] if len(tokens) == 1 else f"{tokens[0]} {tokens[-1]}"
