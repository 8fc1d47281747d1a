"""What the API keeps per build (in the server's Tracker): the people search index, populations, institutions."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from unidecode import unidecode

from talent_tracker.store import reading
from talent_tracker.store.reading import Tracker
from talent_tracker.web.api.filters import Filter


def plain_text(text: str) -> str:
    """Case-folded, Latin letters without their accents (Müller, MÜLLER and Muller read muller,
    Łukasz lukasz); other scripts are kept as they are (王 is not read wang)."""
    if text.isascii():
        return text.casefold()
    return "".join(_plain_letter(ch) for ch in unicodedata.normalize("NFC", text)).casefold()


def _plain_letter(ch: str) -> str:
    if ch.isascii():
        return ch
    if unicodedata.category(ch) == "Mn":  # a combining accent left over
        return ""
    return unidecode(ch) if unicodedata.name(ch, "").startswith("LATIN") else ch


# --- per-build caches ------------------------------------------------------------------------------

def kept(size: int):
    """What a function loads, kept by the tracker (`Tracker.memo`: its own LRU of `size`
    entries per function, each key loaded once however many requests ask at once), so it
    goes with the tracker or its build, never outliving them in module state."""
    def wrap(load: Callable):
        @functools.wraps(load)
        def kept(tracker: Tracker, *key):
            return tracker.memo(key, lambda: load(tracker, *key), region=load.__name__, size=size)
        return kept
    return wrap


@dataclass
class _People:
    """Every person, most papers first, with what a search shows and matches."""

    ids: list[str]
    position: dict[str, int]
    rows: list[tuple]  # person_id, display_name, n_papers, n_accepted_papers, first_year, last_year, venues
    latest: list[tuple | None]  # year, affiliation, institution_id, institution, country
    plain: list[str]  # display names, case-folded, Latin letters without accents (plain)
    trigrams: dict[str, np.ndarray]  # every three letters of those names -> the positions holding them
    scanned: pa.Array  # the names again, for texts too short to have three letters

    def search(self, text: str) -> np.ndarray:
        """The positions, in order, of the names that hold `text` in any case, with or without
        its accents (`muller` and `müller` find Müller and Muller): the names holding its
        rarest three letters, checked whole."""
        needle = plain_text(text)
        if len(needle) < 3:
            return np.flatnonzero(pc.match_substring(self.scanned, needle).to_numpy(zero_copy_only=False))
        postings = [self.trigrams.get(needle[k:k + 3]) for k in range(len(needle) - 2)]
        if any(p is None for p in postings):
            return np.zeros(0, dtype=np.int64)
        candidates = min(postings, key=len)
        if len(needle) == 3:
            return candidates
        return np.array([i for i in candidates.tolist() if needle in self.plain[i]], dtype=np.int64)


def _load_people(tracker: Tracker, build: tuple) -> _People:
    with tracker.reader(with_workspace=False) as con:
        rows = con.execute("""SELECT person_id, display_name, n_papers, n_accepted_papers, first_year, last_year, venues
                              FROM persons ORDER BY n_papers DESC, display_name, person_id""").fetchall()
        latest = con.execute("""
            SELECT person_id, year, affiliation, institution_id, institution, country FROM (
                SELECT person_id, year, affiliation, institution_id, institution, country,
                       row_number() OVER (PARTITION BY person_id ORDER BY year DESC, accepted DESC, venue, paper_id,
                                          author_position) AS rank
                FROM authorships
                WHERE person_id IS NOT NULL
                  AND (affiliation IS NOT NULL OR institution_id IS NOT NULL OR country IS NOT NULL)
            ) WHERE rank = 1""").fetchall()
    ids = [r[0] for r in rows]
    position = {p: i for i, p in enumerate(ids)}
    by_person = [None] * len(ids)
    for person, *values in latest:
        if person in position:
            by_person[position[person]] = tuple(values)
    plain = [plain_text(r[1] or "") for r in rows]
    postings: dict[str, list[int]] = {}
    for i, name in enumerate(plain):
        for trigram in {name[k:k + 3] for k in range(len(name) - 2)}:
            postings.setdefault(trigram, []).append(i)
    return _People(ids, position, rows, by_person, plain,
                   {t: np.array(found, dtype=np.int64) for t, found in postings.items()}, pa.array(plain, pa.string()))


people_index = kept(2)(_load_people)


def _load_population(tracker: Tracker, build: tuple, f: Filter) -> tuple[np.ndarray, np.ndarray]:
    """For a filter: the positions (in _People order) of the people in it, and their papers in it."""
    people = people_index(tracker, build)
    parts, params = f.sql("a")
    with tracker.reader(with_workspace=False) as con:
        found = con.execute(f"SELECT person_id, count(*) FROM authorships a WHERE a.person_id IS NOT NULL AND "
                            f"{' AND '.join(parts)} GROUP BY 1", params).fetchall()
    pairs = sorted((people.position[p], n) for p, n in found if p in people.position)
    return np.array([i for i, _ in pairs], dtype=np.int64), np.array([n for _, n in pairs], dtype=np.int32)


population_members = kept(64)(_load_population)


def _load_institutions(tracker: Tracker, build: tuple) -> list[dict]:
    with tracker.reader(with_workspace=False) as con:
        rows = reading.rows(con, """
            SELECT i.institution_id, i.name, i.country, i.sector, i.parent, i.hq_country, i.multinational, i.layer,
                   coalesce(c.people, 0) AS people, coalesce(c.authorships, 0) AS authorships,
                   coalesce(c.accepted_authorships, 0) AS accepted_authorships, i.aliases
            FROM institutions i LEFT JOIN (
                SELECT institution_id, count(DISTINCT person_id) AS people, count(*) AS authorships,
                       count(*) FILTER (WHERE accepted) AS accepted_authorships
                FROM authorships WHERE institution_id IS NOT NULL GROUP BY 1) c USING (institution_id)
            ORDER BY people DESC, i.name, i.institution_id""")
    for row in rows:
        names = [row["name"] or "", *(row.pop("aliases") or [])]
        row["_match"] = "\n".join(plain_text(n) for n in names)  # the names, a line each
    return rows


institution_rows = kept(2)(_load_institutions)
