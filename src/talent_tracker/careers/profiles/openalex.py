"""OpenAlex `/authors` by ORCID iD -> work records (the author's last known institutions).

Only `last_known_institutions` become facts, all as work: OpenAlex's affiliations are
inferred from papers' bylines, which say where someone worked, not where they studied;
an affiliation's years give the span of the last known one. One ORCID iD may answer with
several OpenAlex authors (a split profile): each is evidence.
"""

from __future__ import annotations

from talent_tracker.careers.profiles.records import Malformed, Parsed, country_code, position, text, year, years_text
from talent_tracker.links import orcid_id

URL = "https://api.openalex.org/authors"
BATCH = 50  # iDs per OR filter: the server takes 100, some of its docs say 50
PER_PAGE = 100
# pages of one cursor walk: a batch of 50 iDs fills one or two (a few authors per iD);
# a cursor that never ends (a broken server) is cut here, and the cut counted
MAX_PAGES = 20
SELECT = "id,orcid,display_name,affiliations,last_known_institutions"
# below a profile's 0.9: the person did not state it, OpenAlex inferred it from bylines
CONFIDENCE = 0.8
SECTORS = {"education": "academia", "company": "industry", "government": "government", "nonprofit": "nonprofit"}


def params(orcids: list[str], cursor: str = "*", per_page: int = PER_PAGE) -> dict:
    return {"filter": "orcid:" + "|".join(orcids), "per-page": per_page, "cursor": cursor, "select": SELECT}


def is_page(data: object) -> bool:
    # an invalid query may come back as HTTP 200 with an `error` key
    return isinstance(data, dict) and "error" not in data and isinstance(data.get("results"), list)


def next_cursor(data: dict) -> str | None:
    """The cursor of the next page; None on the last one (null cursor or no results)."""
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    cursor = meta.get("next_cursor")
    return cursor if isinstance(cursor, str) and cursor and data.get("results") else None


def parse_authors(results: list, wanted: set[str]) -> tuple[Parsed, set[str]]:
    """Records of the authors whose ORCID iD was asked for, keyed by that iD, and the iDs answered."""
    parsed, found = Parsed(), set()
    for author in results:
        if not isinstance(author, dict) or not isinstance(author.get("id"), str) or not author["id"]:
            parsed.skip("author without an id")
            continue
        orcid = orcid_id(author.get("orcid"))
        if orcid not in wanted:
            parsed.skip("author of no ORCID iD asked for")
            continue
        found.add(orcid)
        author_id = author["id"].rsplit("/", 1)[-1][:40]
        try:
            years = _years_by_institution(author.get("affiliations"))
        except Malformed as exc:
            parsed.skip(f"affiliation: {exc}")
            years = {}
        last = author.get("last_known_institutions")
        if last is None and isinstance(author.get("last_known_institution"), dict):
            last = [author["last_known_institution"]]  # the field before 2024
        for institution in last if isinstance(last, list) else []:
            try:
                parsed.records.append(_record(orcid, author_id, institution, years))
            except Malformed as exc:
                parsed.skip(f"last known institution: {exc}")
    return parsed, found


def _years_by_institution(affiliations: object) -> dict[str, list[int]]:
    years: dict[str, list[int]] = {}
    for entry in affiliations if isinstance(affiliations, list) else []:
        institution = entry.get("institution") if isinstance(entry, dict) else None
        if not isinstance(institution, dict) or not isinstance(institution.get("id"), str):
            raise Malformed("no institution")
        seen = entry.get("years") if isinstance(entry.get("years"), list) else []
        years.setdefault(institution["id"], []).extend(year(y, "affiliation") for y in seen)
    return years


def _record(orcid: str, author_id: str, institution: object, years: dict[str, list[int]]) -> dict:
    if not isinstance(institution, dict):
        raise Malformed("not an object")
    name = text(institution.get("display_name"), "institution name")
    if not name:
        raise Malformed("no institution name")
    seen = [y for y in years.get(institution.get("id"), []) if y is not None]
    start, end = (min(seen), max(seen)) if seen else (None, None)
    kind = institution.get("type")
    sector = SECTORS.get(kind) if isinstance(kind, str) else None
    when = f"seen {years_text(start, end)}" if seen else "years unknown"
    return position(
        "openalex", orcid, stage="work", role=None, institution=name, domain=None,
        country=country_code(institution.get("country_code")), sector=sector,
        start=start, end=end, confidence=CONFIDENCE,
        evidence=f"OpenAlex {author_id}: last known institution {name} ({when})")
