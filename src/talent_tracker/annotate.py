"""The annotation workflow's storage: users, submissions, reviews and the audit log.

Each annotator keeps one submission per person (origin, graduate and work, with evidence,
confidence and notes), with a version number. A save is one transaction: check the
version the form was opened with (a stale form is refused, never silently overwritten),
write the submission, append the before/after to `audit_log`, and settle the person:
where the annotators agree (or a reviewer decided) the value becomes the person's
`annotations` row and their `annotation` career fact, so estimates use it at once; where
they disagree, nothing is settled until a reviewer decides. Tokens are stored hashed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from .annotations import _validate_row, refresh_annotation_facts
from .careers import STAGES
from .errors import UserError

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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(con: duckdb.DuckDBPyConnection, name: str, role: str) -> str:
    """Create (or give a new token to) a user; returns the token, shown only this once."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (choose {', '.join(ROLES)})")
    if not name or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UserError(f"user name {name!r}: use letters, digits, '-', '_' or '.'")
    token = secrets.token_urlsafe(24)
    prepare(con)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM users WHERE name = ?", [name])
    con.execute("INSERT INTO users VALUES (?, ?, ?, ?)", [name, role, _hash(token), _now()])
    _audit(con, "admin", "user " + role, None, None, {"name": name, "role": role})
    con.execute("COMMIT")
    return token


def authenticate(con: duckdb.DuckDBPyConnection, token: str | None) -> User | None:
    if not token:
        return None
    row = con.execute("SELECT name, role FROM users WHERE token_sha256 = ?", [_hash(token)]).fetchone()
    return User(*row) if row else None


def submission(con, person_id: str, annotator: str) -> dict | None:
    cursor = con.execute("SELECT * FROM submissions WHERE person_id = ? AND annotator = ?", [person_id, annotator])
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row)) if row else None


def save(con: duckdb.DuckDBPyConnection, user: User, person_id: str, sample_id: str | None, form: dict,
         version: int, resolver) -> int:
    """Validate and save one annotator's form for a person; returns the new version.

    `version` is the version the form was opened with (0 for a first save).
    """
    if not user.may("annotate"):
        raise PermissionError(f"{user.name} may not annotate")
    undetermined = [s for s in STAGES if form.get(f"{s}_undetermined")]
    row = {k: (str(form.get(k) or "").strip()) for k in FORM_FIELDS}
    for stage in undetermined:
        row[f"{stage}_institution"] = row[f"{stage}_country"] = ""
    confidence = str(form.get("confidence") or "medium")
    if confidence not in CONFIDENCES:
        raise Invalid([f"confidence must be one of {', '.join(CONFIDENCES)}"])
    url = row["evidence_url"]
    if url and not url.startswith(("https://", "http://")):
        raise Invalid(["the evidence URL must start with https:// or http://"])
    persons = {person_id} if con.execute("SELECT 1 FROM persons WHERE person_id = ?", [person_id]).fetchone() else set()
    entries, problems = _validate_row(0, {"person_id": person_id, **row}, persons, resolver, allow_new=True)
    if problems:
        raise Invalid([p.replace("line 0: ", "") for p in problems])
    by_stage = {e["stage"]: e for e in entries}
    con.execute("BEGIN TRANSACTION")
    try:
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
                      "notes": row["notes"] or None, "version": current + 1, "updated_at": _now()})
        con.execute("DELETE FROM submissions WHERE person_id = ? AND annotator = ?", [person_id, user.name])
        columns = list(after)
        con.execute(f"INSERT INTO submissions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                    [after[c] for c in columns])
        _audit(con, user.name, "save", person_id, before, after)
        settle(con, person_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return current + 1


def decide(con, user: User, person_id: str, stage: str, from_annotator: str) -> None:
    """A reviewer settles a stage by taking one annotator's value."""
    if not user.may("review"):
        raise PermissionError(f"{user.name} may not review")
    if stage not in STAGES:
        raise Invalid([f"unknown stage {stage!r}"])
    con.execute("BEGIN TRANSACTION")
    try:
        chosen = submission(con, person_id, from_annotator)
        if chosen is None:
            raise Invalid([f"{from_annotator} has no entry for {person_id}"])
        before = con.execute("SELECT * FROM decisions WHERE person_id = ? AND stage = ?", [person_id, stage]).fetchone()
        con.execute("DELETE FROM decisions WHERE person_id = ? AND stage = ?", [person_id, stage])
        value = [chosen[f"{stage}_institution_id"], chosen[f"{stage}_institution"], chosen[f"{stage}_country"],
                 chosen["work_sector"] if stage == "work" else None]
        con.execute("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [person_id, stage, user.name, *value, _now()])
        _audit(con, user.name, f"decide {stage}", person_id, {"decision": before}, {"from": from_annotator, "value": value})
        settle(con, person_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def settle(con, person_id: str) -> None:
    """Recompute the person's `annotations` rows and annotation career facts."""
    subs = con.execute("SELECT * FROM submissions WHERE person_id = ?", [person_id])
    names = [d[0] for d in subs.description]
    entries = [dict(zip(names, r)) for r in subs.fetchall()]
    decisions = {r[0]: r for r in con.execute(
        "SELECT stage, institution_id, institution, country, sector, reviewer FROM decisions WHERE person_id = ?",
        [person_id]).fetchall()}
    con.execute("DELETE FROM annotations WHERE person_id = ? AND sheet LIKE 'web:%'", [person_id])
    for stage in STAGES:
        if stage in decisions:
            _, iid, name, country, sector, reviewer = decisions[stage]
            value, who = (iid, name, country, sector), f"web:review by {reviewer}"
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
        con.execute("DELETE FROM annotations WHERE person_id = ? AND stage = ?", [person_id, stage])
        con.execute("INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [person_id, stage, value[0], value[1], value[2], value[3], evidence, notes, who, _now()])
    refresh_annotation_facts(con, person_id)


def disagreements(con) -> list[dict]:
    """Stages where annotators entered different values and no reviewer has decided."""
    rows = con.execute("SELECT * FROM submissions ORDER BY person_id, annotator")
    names = [d[0] for d in rows.description]
    by_person: dict[str, list[dict]] = {}
    for r in rows.fetchall():
        entry = dict(zip(names, r))
        by_person.setdefault(entry["person_id"], []).append(entry)
    decided = {(p, s) for p, s in con.execute("SELECT person_id, stage FROM decisions").fetchall()}
    out = []
    for person, entries in by_person.items():
        for stage in STAGES:
            values = {(e["annotator"], e[f"{stage}_institution"] or "", e[f"{stage}_country"] or "")
                      for e in entries if e[f"{stage}_country"]}
            if len({v[1:] for v in values}) > 1 and (person, stage) not in decided:
                out.append({"person_id": person, "stage": stage,
                            "entries": [{"annotator": a, "institution": i, "country": c} for a, i, c in sorted(values)]})
    return out


def queue(con, sample_id: str, annotator: str) -> list[dict]:
    rows = con.execute("""
        SELECT s.person_id, p.display_name,
               (SELECT count(*) FROM submissions u WHERE u.person_id = s.person_id) AS entries,
               (SELECT count(*) FROM submissions u WHERE u.person_id = s.person_id AND u.annotator = ?) AS mine
        FROM (SELECT DISTINCT person_id FROM samples WHERE sample_id = ?) s JOIN persons p USING (person_id)
        ORDER BY p.display_name, s.person_id""", [annotator, sample_id]).fetchall()
    return [{"person_id": r[0], "name": r[1], "entries": r[2], "mine": bool(r[3])} for r in rows]


def prepare(con) -> None:
    """The sequence that numbers the audit log (created once per database, continuing it)."""
    start = con.execute("SELECT coalesce(max(id), 0) + 1 FROM audit_log").fetchone()[0]
    con.execute(f"CREATE SEQUENCE IF NOT EXISTS audit_ids START WITH {int(start)}")


def _audit(con, actor: str, action: str, person_id: str | None, before, after) -> None:
    con.execute("INSERT INTO audit_log VALUES (nextval('audit_ids'), ?, ?, ?, ?, ?, ?)",
                [_now(), actor, action, person_id, json.dumps(before, default=str), json.dumps(after, default=str)])
