"""OpenReview API v2: profiles by id (`POST /profiles/search`) -> position records and ORCID links;
and `build --profiles DIR`, a folder of such answers saved by hand (read_profiles).

Ids the server does not know are left out of its answer (HTTP 200); a profile asked for
by a secondary username comes back under its canonical id, so answers are matched to the
ids asked for through `id` and `content.names[].username`, never by position.
"""

from __future__ import annotations

import re
from pathlib import Path

from talent_tracker import jsonread
from talent_tracker.careers.derive import CONFIDENCE, stage_of_title
from talent_tracker.careers.profiles.records import (
    Malformed,
    Parsed,
    country_code,
    position,
    span,
    text,
    unwrap,
    year,
    years_text,
)
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_PROFILE_FILE_BYTES, MAX_PROFILE_FILES

URL = "https://api2.openreview.net/profiles/search"
BATCH = 1000  # ids per request: what the official clients send
_ID = re.compile(r"~\S{1,250}\d")


def valid_id(value: object) -> bool:
    """A tilde id like `~Jane_Doe1` (anything else is never sent)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def batches(ids: list[str], size: int = BATCH) -> list[list[str]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def body(ids: list[str]) -> dict:
    return {"ids": ids}


def is_answer(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("profiles"), list)


def parse_search(data: dict, asked: list[str]) -> tuple[Parsed, set[str]]:
    """Records of the profiles answering `asked`, keyed by the id asked for, and the ids answered."""
    wanted, found, parsed = set(asked), set(), Parsed()
    for profile in data.get("profiles") or []:
        if not isinstance(profile, dict) or not valid_id(profile.get("id")):
            parsed.skip("profile without an id")
            continue
        content = profile.get("content") if isinstance(profile.get("content"), dict) else {}
        names = unwrap(content.get("names"))
        usernames = {profile["id"]}
        if isinstance(names, list):
            usernames |= {n.get("username") for n in names if isinstance(n, dict)}
        matched = sorted(u for u in usernames if isinstance(u, str) and u in wanted)
        if not matched:
            parsed.skip("profile of no id asked for")
            continue
        found.update(matched)
        mine = profile_records(profile["id"], content)
        parsed.skipped.update(mine.skipped)
        for key in matched:
            parsed.records.extend({**record, "key": key} for record in mine.records)
    return parsed, found


def profile_records(profile_id: str, content: dict) -> Parsed:
    """Positions from `content.history`, and the ORCID link (`content.orcid`) if any."""
    parsed = Parsed()
    history = unwrap(content.get("history"))
    for entry in history if isinstance(history, list) else []:
        try:
            record = _history_record(profile_id, entry)
        except Malformed as exc:
            parsed.skip(f"history entry: {exc}")
            continue
        if record is None:
            parsed.skip("history entry without an institution")
        else:
            parsed.records.append(record)
    try:
        orcid = text(content.get("orcid"), "orcid")
    except Malformed as exc:
        parsed.skip(str(exc))
        orcid = None
    if orcid:
        parsed.records.append({"source": "openreview", "key": profile_id, "kind": "orcid", "orcid": orcid})
    return parsed


def _history_record(profile_id: str, entry: object) -> dict | None:
    if not isinstance(entry, dict):
        raise Malformed("not an object")
    institution = unwrap(entry.get("institution"))
    if isinstance(institution, str):
        institution = {"name": institution}
    if not isinstance(institution, dict):
        institution = {}
    name, domain = text(institution.get("name"), "institution name"), text(institution.get("domain"), "domain")
    role = text(entry.get("position"), "position")
    start, end = span(year(entry.get("start"), "start"), year(entry.get("end"), "end"))
    country = country_code(institution.get("country"))
    if not name and not domain:
        return None
    return position(
        "openreview", profile_id, stage=stage_of_title(role) or "work", role=role, institution=name,
        domain=domain.lower() if domain else None, country=country, start=start, end=end,
        confidence=CONFIDENCE["profile"],
        evidence=f"OpenReview profile {profile_id}: {role or 'no position'} at {name or domain} "
                 f"({years_text(start, end)})")


# --- a folder of saved answers (build --profiles) ----------------------------------------

def read_profiles(folder: Path) -> tuple[list[dict], list[str]]:
    """Profiles from a folder of JSON files as the OpenReview API returns them.

    A file holds one profile object, a list of them, or `{"profiles": [...]}` (the answer
    of `GET /profiles`). Returns the profiles and one problem line per unreadable file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: profiles folder not found")
    profiles, problems = [], []
    paths = sorted(folder.glob("*.json"))
    if len(paths) > MAX_PROFILE_FILES:
        raise UserError(f"{folder}: more than {MAX_PROFILE_FILES:,} profile files")
    for path in paths:
        try:
            data = jsonread.document_file(path, MAX_PROFILE_FILE_BYTES, "profile file")
        except UserError as exc:
            problems.append(f"{path.name}: " + str(exc).removeprefix(f"{path}: "))
            continue
        items = data.get("profiles", [data]) if isinstance(data, dict) else data if isinstance(data, list) else []
        found = [p for p in items if isinstance(p, dict) and isinstance(p.get("id"), str)]
        if not found:
            problems.append(f"{path.name}: no profile with an id")
        profiles.extend(found)
    return profiles, problems
