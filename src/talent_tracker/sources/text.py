"""Pure helpers for the free text of paper lists: entities, author lists, per-author lists."""

from __future__ import annotations

import html
import re

_SPACES = re.compile(r"\s+")
# A name part that is only a generational suffix belongs to the author before it
# ("J.L. WYATT; Jr; D.L. STANDLEY" is two authors, not three).
_SUFFIX = re.compile(r"(jr|sr|ii|iii|iv)\.?", re.IGNORECASE)


def _plain(value: str) -> bool:
    """Nothing to unescape or squeeze: the common case, worth a fast path."""
    return "&" not in value and "  " not in value and "\n" not in value and "\t" not in value


def clean(text: object) -> str:
    """Unescape HTML entities (some lists escape twice: `&amp;#x27;`), squeeze spaces."""
    if text is None:
        return ""
    value = text if isinstance(text, str) else str(text)
    if _plain(value):
        return value.strip()
    for _ in range(3):
        if "&" not in value:
            break
        unescaped = html.unescape(value)
        if unescaped == value:
            break
        value = unescaped
    return _SPACES.sub(" ", value).strip()


def split_authors(text: str) -> tuple[list[str], list[int]]:
    """Author names in order, and the raw positions that were suffixes merged away.

    The lists use `;` in most files and `, ` in others; a string with any `;` (after
    unescaping, so `&#x27;` is not mistaken for one) is `;`-separated.
    """
    value = clean(text)
    if not value:
        return [], []
    parts = [p.strip() for p in value.split(";" if ";" in value else ",")]
    names: list[str] = []
    merged: list[int] = []
    for raw_index, part in enumerate(parts):
        if len(part) <= 4 and names and _SUFFIX.fullmatch(part):
            names[-1] = f"{names[-1]} {part}"
            merged.append(raw_index)
        else:
            names.append(part)
    return names, merged


def split_list(text: object) -> list[str] | None:
    """A `;`-separated per-author list; None when the field is absent or all blank."""
    if text is None:
        return None
    text = str(text)
    values = [v.strip() for v in text.split(";")] if _plain(text) else [clean(v) for v in text.split(";")]
    if not any(values):
        return None
    return values


def drop_positions(values: list[str], positions: list[int]) -> list[str]:
    """Remove the entries of merged suffix parts, so the list lines up with the names."""
    if not positions:
        return values
    gone = set(positions)
    return [v for i, v in enumerate(values) if i not in gone]


def email_domain(address: str) -> str | None:
    _, at, domain = address.rpartition("@")
    domain = domain.strip().strip(".").lower()
    return domain if at and domain and "." in domain else None


def normalise_domain(value: str) -> str | None:
    value = value.strip().lower().strip(".")
    if value.startswith("@"):
        value = value[1:]
    return value if value and "." in value and " " not in value else None


def name_key(name: str) -> str:
    """A loose key for comparing author lists of two records of the same paper:
    first initial and last name, so `Andrew G Wilson` and `Andrew Wilson` agree."""
    parts = name.casefold().replace(".", " ").split()
    return f"{parts[0][:1]} {parts[-1]}" if parts else ""
