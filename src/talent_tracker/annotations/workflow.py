"""The annotation workflow's storage: users, versioned submissions, settlement and the audit log.

All of it is in the workspace (workspace.py), never in the rebuilt database. Each
annotator keeps one submission per person (origin, graduate and work, with evidence,
confidence and notes), with a version number. A save is one transaction: check the
version the form was opened with (a stale form is refused, never silently overwritten),
write the submission, append the before/after to `audit_log`, and settle the person:
where the annotators agree (or a reviewer decided) the value becomes the person's
`annotations` row, which readers turn into an `annotation` career fact, so estimates use
it at once; where they disagree, nothing is settled until a reviewer decides. Tokens
are stored hashed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass

from ..careers import STAGES
from ..errors import UserError
from ..limits import MAX_FORM_NAME, MAX_FORM_TEXT, MAX_URL
from ..workspace import Workspace, audit, now
from .sheet import validate_row

ROLES = ("annotator", "reviewer", "admin")
FORM_FIELDS = ("origin_institution", "origin_country", "graduate_institution", "graduate_country",
               "work_institution", "work_country", "work_sector", "evidence_url", "notes")
CONFIDENCES = ("high", "medium", "low")


class StaleForm(Exception):
    """The submission changed since the form was opened."""


class Invalid(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, action: str) -> bool:
        allowed = {"annotate": ROLES, "review": ("reviewer", "admin"), "export": ("admin",)}
        return self.role in allowed[action]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(workspace: Workspace, name: str, role: str, actor: str) -> str:
    """Create (or give a new token to) a user; returns the token, shown only this once.
    A new token ends the user's signed-in sessions (they carry the token's hash)."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (choose {', '.join(ROLES)})")
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum() \
            or not name.isascii():
        raise UserError(f"user name {name[:64]!r}: use up to 64 letters, digits, '-', '_' or '.'")
    token = secrets.token_urlsafe(24)
    with workspace.write() as con:
        con.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)", [name, role, _hash(token), now()])
        audit(con, actor, "user " + role, None, None, {"name": name, "role": role})
    return token


def authenticate(con: sqlite3.Connection, token: str | None) -> User | None:
    if not token or len(token) > 200:
        return None
    row = con.execute("SELECT name, role FROM users WHERE token_sha256 = ?", [_hash(token)]).fetchone()
    return User(row["name"], row["role"]) if row else None


def user_named(con: sqlite3.Connection, name: str) -> tuple[User, str] | None:
    """A user and their token's hash (sessions are checked against it)."""
    row = con.execute("SELECT name, role, token_sha256 FROM users WHERE name = ?", [name]).fetchone()
    return (User(row["name"], row["role"]), row["token_sha256"]) if row else None


def submission(con: sqlite3.Connection, person_id: str, annotator: str) -> dict | None:
    row = con.execute("SELECT * FROM submissions WHERE person_id = ? AND annotator = ?", [person_id, annotator]
                      ).fetchone()
    return entry_of(row) if row else None


def entry_of(row: sqlite3.Row) -> dict:
    entry = dict(row)
    entry["undetermined"] = json.loads(entry["undetermined"]) if entry["undetermined"] else []
    return entry


_CAPS = {"notes": MAX_FORM_TEXT, "evidence_url": MAX_URL}


def save(workspace: Workspace, user: User, person_id: str, sample_id: str | None, form: dict, version: int,
         resolver, known_person: bool) -> int:
    """Validate and save one annotator's form for a person; returns the new version.

    `version` is the version the form was opened with (0 for a first save);
    `known_person` says whether the database has this person.
    """
    if not user.may("annotate"):
        raise PermissionError(f"{user.name} may not annotate")
    undetermined = [s for s in STAGES if form.get(f"{s}_undetermined")]
    row = {k: (str(form.get(k) or "").strip()) for k in FORM_FIELDS}
    too_long = [k for k, v in row.items() if len(v) > _CAPS.get(k, MAX_FORM_NAME)]
    if too_long:
        raise Invalid([f"{k} is longer than {_CAPS.get(k, MAX_FORM_NAME):,} characters" for k in too_long])
    for stage in undetermined:
        row[f"{stage}_institution"] = row[f"{stage}_country"] = ""
    confidence = str(form.get("confidence") or "medium")
    if confidence not in CONFIDENCES:
        raise Invalid([f"confidence must be one of {', '.join(CONFIDENCES)}"])
    url = row["evidence_url"]
    if url and not url.startswith(("https://", "http://")):
        raise Invalid(["the evidence URL must start with https:// or http://"])
    persons = {person_id} if known_person else set()
    entries, problems = validate_row(0, {"person_id": person_id, **row}, persons, resolver, allow_new=True)
    if problems:
        raise Invalid([p.replace("line 0: ", "") for p in problems])
    by_stage = {e["stage"]: e for e in entries}
    with workspace.write() as con:
        before = submission(con, person_id, user.name)
        current = before["version"] if before else 0
        if current != version:
            raise StaleForm(f"{user.name}'s entry for {person_id} was saved again (version {current}) after this "
                            f"form was opened (version {version}): reload to see it, then redo your change")
        after = {"person_id": person_id, "annotator": user.name, "sample_id": sample_id or
                 (before["sample_id"] if before else None)}
        for stage in STAGES:
            entry = by_stage.get(stage, {})
            after[f"{stage}_institution_id"] = entry.get("institution_id")
            after[f"{stage}_institution"] = entry.get("institution")
            after[f"{stage}_country"] = entry.get("country")
        after["work_sector"] = by_stage.get("work", {}).get("sector")
        after.update({"undetermined": undetermined, "confidence": confidence, "evidence_url": url or None,
                      "notes": row["notes"] or None, "version": current + 1, "updated_at": now()})
        columns = list(after)
        stored = [json.dumps(after[c]) if c == "undetermined" else after[c] for c in columns]
        con.execute(f"INSERT OR REPLACE INTO submissions ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})", stored)
        audit(con, user.name, "save", person_id, before, after)
        settle(con, person_id)
    return current + 1


def settle(con: sqlite3.Connection, person_id: str) -> None:
    """Recompute the person's settled `annotations` rows from submissions and decisions."""
    entries = [entry_of(r) for r in con.execute("SELECT * FROM submissions WHERE person_id = ?", [person_id])]
    decisions = {r["stage"]: r for r in con.execute(
        "SELECT stage, institution_id, institution, country, sector, reviewer FROM decisions WHERE person_id = ?",
        [person_id])}
    con.execute("DELETE FROM annotations WHERE person_id = ? AND sheet LIKE 'web:%'", [person_id])
    for stage in STAGES:
        if stage in decisions:
            d = decisions[stage]
            value, who = (d["institution_id"], d["institution"], d["country"], d["sector"]), \
                f"web:review by {d['reviewer']}"
        else:
            values = {(e[f"{stage}_institution_id"], e[f"{stage}_institution"], e[f"{stage}_country"],
                       e["work_sector"] if stage == "work" else None)
                      for e in entries if e[f"{stage}_country"]}
            if len(values) != 1:
                continue  # nothing entered, or annotators disagree: a reviewer decides
            value, who = values.pop(), "web:" + ",".join(sorted(e["annotator"] for e in entries))
        if not value[2]:
            continue
        evidence = next((e["evidence_url"] for e in entries if e["evidence_url"]), None)
        notes = "; ".join(e["notes"] for e in entries if e["notes"]) or None
        con.execute("INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [person_id, stage, value[0], value[1], value[2], value[3], evidence, notes, who, now()])


def queue(con: sqlite3.Connection, sample_id: str, annotator: str, names: dict[str, str]) -> list[dict]:
    """The people of a sample, with how many entries each has (`names`: person -> display name)."""
    rows = con.execute("""
        SELECT s.person_id,
               (SELECT count(*) FROM submissions u WHERE u.person_id = s.person_id) AS entries,
               (SELECT count(*) FROM submissions u WHERE u.person_id = s.person_id AND u.annotator = ?) AS mine
        FROM (SELECT DISTINCT person_id FROM samples WHERE sample_id = ?) s""", [annotator, sample_id]).fetchall()
    out = [{"person_id": r["person_id"], "name": names.get(r["person_id"], r["person_id"]), "entries": r["entries"],
            "mine": bool(r["mine"])} for r in rows]
    return sorted(out, key=lambda r: (r["name"], r["person_id"]))


def samples_overview(con: sqlite3.Connection) -> list[tuple]:
    """Per sample: id, population size, people drawn, people with at least one entry."""
    return [tuple(r) for r in con.execute("""
        SELECT d.sample_id, d.population_size, count(DISTINCT s.person_id),
               count(DISTINCT u.person_id)
        FROM sample_designs d JOIN samples s USING (sample_id)
        LEFT JOIN submissions u ON u.person_id = s.person_id
        GROUP BY d.sample_id, d.population_size ORDER BY d.sample_id""")]
