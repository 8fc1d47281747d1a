"""The annotation workflow's storage: users and their sessions, analysts' entries, settlement
and the audit log.

All of it is in the workspace (store/workspace.py), never in the rebuilt database. Each analyst
keeps one entry per person (`submissions`: origin, graduate and work, with evidence,
confidence and notes), with a version number, whether it was saved in the web form or
imported from a sheet (`via`). Every change is one transaction through `_write`: the new
version of that analyst's entry, its before and after values in `audit_log`, and the
person's settlement. No save, import or decision touches another analyst's entry.

Settlement (`settle`) is the one owner of `annotations`, the values readers use: per stage,
a reviewer's decision; else the value every analyst who entered one agrees on; where they
disagree, nothing until a reviewer decides (review.py). An analyst who could not determine
a stage says nothing about it. Confirming an inferred value is an analyst's act: it is
recorded per stage in `confirmed`, and only when the value is the inferred one.

A web sign-in is a session the workspace records (`sessions`) from its start until it is
signed out or expires; the cookie naming it is only good while that record lasts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from talent_tracker.annotations.sheet import UNDETERMINED, ImportReport, read_sheet, validate, validate_row
from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_FORM_NAME, MAX_FORM_TEXT, MAX_URL
from talent_tracker.stages import STAGE_ORDER, STAGES
from talent_tracker.store.reading import Tracker
from talent_tracker.store.workspace import Workspace, audit, cli_actor, now

ROLES = ("annotator", "reviewer", "admin")
FORM_FIELDS = ("origin_institution", "origin_country", "graduate_institution", "graduate_country",
               "work_institution", "work_country", "work_sector", "evidence_url", "notes")
CONFIDENCES = ("high", "medium", "low")
# what an entry says, as opposed to its bookkeeping (version, time, how it came)
VALUE_COLUMNS = ("origin_institution_id", "origin_institution", "origin_country", "graduate_institution_id",
                 "graduate_institution", "graduate_country", "work_institution_id", "work_institution", "work_country",
                 "work_sector", "undetermined", "confirmed", "confidence", "evidence_url", "notes")
LIST_FIELDS = ("undetermined", "confirmed")


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
    check_name(name)
    token = secrets.token_urlsafe(24)
    with workspace.write() as con:
        con.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)", [name, role, _hash(token), now()])
        audit(con, actor, "user " + role, None, None, {"name": name, "role": role})
    return token


def check_name(name: str) -> None:
    """A user's or an analyst's name: up to 64 letters, digits, '-', '_', '.' (':' for the
    command line's `cli:NAME`)."""
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").replace(
            ":", "").isalnum() or not name.isascii():
        raise UserError(f"user name {name[:64]!r}: use up to 64 letters, digits, '-', '_' or '.'")


def authenticate(con: sqlite3.Connection, token: str | None) -> User | None:
    if not token or len(token) > 200:
        return None
    row = con.execute("SELECT name, role FROM users WHERE token_sha256 = ?", [_hash(token)]).fetchone()
    return User(row["name"], row["role"]) if row else None


def user_named(con: sqlite3.Connection, name: str) -> tuple[User, str] | None:
    """A user and their token's hash (sessions are checked against it)."""
    row = con.execute("SELECT name, role, token_sha256 FROM users WHERE name = ?", [name]).fetchone()
    return (User(row["name"], row["role"]), row["token_sha256"]) if row else None


def open_session(workspace: Workspace, user: str, seconds: int) -> str:
    """Record a new sign-in session of `user` for `seconds`; returns its random id. Sessions
    past their time are forgotten on the way."""
    session_id = secrets.token_hex(16)
    expires = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")
    with workspace.write(figures=False) as con:
        con.execute("DELETE FROM sessions WHERE expires_at < ?", [now()])
        con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", [session_id, user, now(), expires])
    return session_id


def session_live(con: sqlite3.Connection, session_id: str, user: str) -> bool:
    """Whether this workspace issued that session to `user`, and it is neither signed out nor expired."""
    return con.execute("SELECT 1 FROM sessions WHERE session_id = ? AND user = ? AND expires_at > ?",
                       [session_id, user, now()]).fetchone() is not None


def end_session(workspace: Workspace, session_id: str) -> None:
    """Sign a session out: its cookie, wherever it was copied, is refused from now on."""
    with workspace.write(figures=False) as con:
        con.execute("DELETE FROM sessions WHERE session_id = ?", [session_id])


def submission(con: sqlite3.Connection, person_id: str, annotator: str) -> dict | None:
    row = con.execute("SELECT * FROM submissions WHERE person_id = ? AND annotator = ?", [person_id, annotator]
                      ).fetchone()
    return entry_of(row) if row else None


def entry_of(row: sqlite3.Row) -> dict:
    entry = dict(row)
    for name in LIST_FIELDS:
        entry[name] = json.loads(entry[name]) if entry.get(name) else []
    return entry


def inferred_values(con, person_ids: list[str]) -> dict[tuple[str, str], dict]:
    """Per (person, stage): the inferred fact an analyst may confirm, as `career_stages`
    ranks the build's facts (annotations left out), with a country."""
    if not person_ids:
        return {}
    rows = con.execute(f"""
        SELECT person_id, stage, institution_id, institution, country, sector, source, evidence FROM (
            SELECT *, row_number() OVER (PARTITION BY person_id, stage ORDER BY {STAGE_ORDER}) AS rank
            FROM build.careers WHERE source <> 'annotation' AND country IS NOT NULL
              AND person_id IN (SELECT unnest(?))) WHERE rank = 1""", [sorted(set(person_ids))]).fetchall()
    names = ("institution_id", "institution", "country", "sector", "source", "evidence")
    return {(r[0], r[1]): dict(zip(names, r[2:])) for r in rows}


_CAPS = {"notes": MAX_FORM_TEXT, "evidence_url": MAX_URL}


def save(workspace: Workspace, user: User, person_id: str, sample_id: str | None, form: dict, version: int,
         resolver, known_person: bool, inferred: dict[str, dict] | None = None) -> int:
    """Validate and save one annotator's form for a person; returns the new version.

    `version` is the version the form was opened with (0 for a first save);
    `known_person` says whether the database has this person; `inferred`: per stage, the
    inferred value the form offered to confirm (a stage counts as confirmed when the form
    says so and the value saved is that one).
    """
    if not user.may("annotate"):
        raise PermissionError(f"{user.name} may not annotate")
    row = {k: (str(form.get(k) or "").strip()) for k in FORM_FIELDS}
    too_long = [k for k, v in row.items() if len(v) > _CAPS.get(k, MAX_FORM_NAME)]
    if too_long:
        raise Invalid([f"{k} is longer than {_CAPS.get(k, MAX_FORM_NAME):,} characters" for k in too_long])
    for stage in STAGES:
        if form.get(f"{stage}_undetermined"):
            row[f"{stage}_institution"], row[f"{stage}_country"] = "", UNDETERMINED
    confidence = str(form.get("confidence") or "medium")
    if confidence not in CONFIDENCES:
        raise Invalid([f"confidence must be one of {', '.join(CONFIDENCES)}"])
    url = row["evidence_url"]
    if url and not url.startswith(("https://", "http://")):
        raise Invalid(["the evidence URL must start with https:// or http://"])
    persons = {person_id} if known_person else set()
    entry, problems = validate_row(0, {"person_id": person_id, **row}, persons, resolver)
    if problems:
        raise Invalid([p.replace("line 0: ", "") for p in problems])
    confirmed = {s for s in STAGES if form.get(f"{s}_confirmed") and _is_inferred(entry["stages"].get(s),
                                                                                  (inferred or {}).get(s))}
    with workspace.write() as con:
        before = submission(con, person_id, user.name)
        current = before["version"] if before else 0
        if current != version:
            raise StaleForm(f"{user.name}'s entry for {person_id} was saved again (version {current}) after this "
                            f"form was opened (version {version}): reload to see it, then redo your change")
        after = _blank(person_id, user.name)  # the form is the whole entry: what it leaves empty is cleared
        after["sample_id"] = sample_id or (before["sample_id"] if before else None)
        for stage, value in entry["stages"].items():
            _apply(after, stage, value, stage in confirmed)
        after.update({"confidence": confidence, "evidence_url": url or None, "notes": row["notes"] or None,
                      "via": "web"})
        return _write(con, before, after, user.name, "save")


def submit_sheet_row(con: sqlite3.Connection, annotator: str, entry: dict, via: str, actor: str
                     ) -> tuple[int, bool]:
    """One sheet row as its analyst's entry (inside the import's transaction): the stages the
    row gives replace theirs, a stage left blank keeps what the analyst entered before.
    Returns the stages changed, and whether the entry changed at all (not: the same row again)."""
    before = submission(con, entry["person_id"], annotator)
    after = dict(before) if before else _blank(entry["person_id"], annotator)
    for stage, value in entry["stages"].items():
        _apply(after, stage, value, stage in entry["confirmed"])
    for name in ("evidence_url", "notes"):
        if entry.get(name):
            after[name] = entry[name]
    after["via"] = via
    version = _write(con, before, after, actor, "import")
    return len(_changed_stages(before, after)), version != (before["version"] if before else 0)


def _blank(person_id: str, annotator: str) -> dict:
    entry = {"person_id": person_id, "annotator": annotator, "sample_id": None, "version": 0}
    entry.update({c: None for c in VALUE_COLUMNS})
    entry.update({"undetermined": [], "confirmed": [], "confidence": "medium"})
    return entry


def _apply(entry: dict, stage: str, value, confirmed: bool) -> None:
    """Put one stage's value (a dict, or UNDETERMINED) into an entry."""
    undetermined, confirmations = set(entry["undetermined"]), set(entry["confirmed"])
    undetermined.discard(stage)
    confirmations.discard(stage)
    if value == UNDETERMINED:
        undetermined.add(stage)
        value = {}
    elif confirmed:
        confirmations.add(stage)
    entry[f"{stage}_institution_id"] = value.get("institution_id")
    entry[f"{stage}_institution"] = value.get("institution")
    entry[f"{stage}_country"] = value.get("country")
    if stage == "work":
        entry["work_sector"] = value.get("sector")
    entry["undetermined"] = [s for s in STAGES if s in undetermined]
    entry["confirmed"] = [s for s in STAGES if s in confirmations]


def _is_inferred(value, fact: dict | None) -> bool:
    """Whether an entered value is the inferred fact (the same institution, or the same
    unresolved text, and the same country)."""
    if not isinstance(value, dict) or not fact:
        return False
    same_place = (value.get("institution_id") == fact["institution_id"] if fact["institution_id"]
                  else (value.get("institution") or None) == (fact["institution"] or None))
    return same_place and value.get("country") == fact["country"]


def _values(entry: dict | None) -> dict:
    return {c: (entry or {}).get(c) for c in VALUE_COLUMNS}


def _changed_stages(before: dict | None, after: dict) -> list[str]:
    def stage_value(entry, stage):
        entry = entry or {}
        return (entry.get(f"{stage}_institution_id"), entry.get(f"{stage}_institution"), entry.get(f"{stage}_country"),
                entry.get("work_sector") if stage == "work" else None, stage in (entry.get("undetermined") or []),
                stage in (entry.get("confirmed") or []))
    return [s for s in STAGES if stage_value(before, s) != stage_value(after, s)]


def _write(con: sqlite3.Connection, before: dict | None, after: dict, actor: str, action: str) -> int:
    """Store a new version of one analyst's entry, log its values before and after, and
    settle the person; an entry that says what it said before is left as it is."""
    current = before["version"] if before else 0
    if before is not None and _values(before) == _values(after):
        return current
    after = {**after, "version": current + 1, "updated_at": now()}
    columns = ["person_id", "annotator", "sample_id", *VALUE_COLUMNS, "version", "updated_at", "via"]
    stored = [json.dumps(after[c]) if c in LIST_FIELDS else after[c] for c in columns]
    con.execute(f"INSERT OR REPLACE INTO submissions ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})", stored)
    audit(con, actor, action, after["person_id"], before, after)
    settle(con, after["person_id"])
    return current + 1


def settle(con: sqlite3.Connection, person_id: str) -> None:
    """Recompute the person's settled `annotations` rows from every analyst's entry and the
    reviewers' decisions (the only writer of that table)."""
    entries = [entry_of(r) for r in con.execute("SELECT * FROM submissions WHERE person_id = ?", [person_id])]
    decisions = {r["stage"]: r for r in con.execute(
        "SELECT stage, institution_id, institution, country, sector, reviewer FROM decisions WHERE person_id = ?",
        [person_id])}
    con.execute("DELETE FROM annotations WHERE person_id = ?", [person_id])
    for stage in STAGES:
        if stage in decisions:
            d = decisions[stage]
            value, who = (d["institution_id"], d["institution"], d["country"], d["sector"]), \
                f"review by {d['reviewer']}"
            agreeing = entries
        else:
            agreeing = [e for e in entries if e[f"{stage}_country"]]
            values = {(e[f"{stage}_institution_id"], e[f"{stage}_institution"], e[f"{stage}_country"],
                       e["work_sector"] if stage == "work" else None) for e in agreeing}
            if len(values) != 1:
                continue  # nothing entered, or analysts disagree: a reviewer decides
            value, who = values.pop(), "entries by " + ", ".join(sorted(e["annotator"] for e in agreeing))
        if not value[2]:
            continue
        evidence = next((e["evidence_url"] for e in agreeing if e["evidence_url"]), None)
        notes = "; ".join(e["notes"] for e in agreeing if e["notes"]) or None
        con.execute("INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [person_id, stage, value[0], value[1], value[2], value[3], evidence, notes, who, now()])


def history(con: sqlite3.Connection, person_id: str) -> list[dict]:
    """Every change to a person's annotations, oldest first: each analyst's saves and
    imports and each reviewer's decisions, with the values before and after, per stage."""
    out = []
    for row in con.execute("SELECT id, at, actor, action, before, after FROM audit_log WHERE person_id = ? "
                           "ORDER BY id", [person_id]):
        before, after = json.loads(row["before"] or "null"), json.loads(row["after"] or "null")
        if row["action"] in ("save", "import"):
            for stage in _changed_stages(before, after):
                out.append({"at": row["at"], "actor": row["actor"], "action": row["action"],
                            "annotator": after["annotator"], "stage": stage, "version": after["version"],
                            "via": after.get("via"), "before": _shown(before, stage), "after": _shown(after, stage)})
        elif row["action"].startswith("decide "):
            stage = row["action"].removeprefix("decide ")
            value = (after or {}).get("value") or [None, None, None, None]
            out.append({"at": row["at"], "actor": row["actor"], "action": "decide", "annotator": (after or {}).get("from"),
                        "stage": stage, "version": None, "via": "review", "before": None,
                        "after": _place(value[1], value[2])})
    return out


def _shown(entry: dict | None, stage: str) -> str | None:
    """One stage of an entry as people read it: `Institution (CC)`, `could not determine`, or None."""
    if not entry:
        return None
    if stage in (entry.get("undetermined") or []):
        return "could not determine"
    shown = _place(entry.get(f"{stage}_institution"), entry.get(f"{stage}_country"))
    if shown and stage in (entry.get("confirmed") or []):
        shown += " (confirmed inferred value)"
    return shown


def _place(institution: str | None, country: str | None) -> str | None:
    if not institution and not country:
        return None
    return f"{institution} ({country})" if institution else str(country)


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


def samples_overview(con: sqlite3.Connection, annotator: str | None = None) -> list[tuple]:
    """Per sample: id, population size, people drawn, people with at least one entry (with
    `annotator`: with an entry of theirs, for blind annotation)."""
    return [tuple(r) for r in con.execute("""
        SELECT d.sample_id, d.population_size, count(DISTINCT s.person_id),
               count(DISTINCT u.person_id)
        FROM sample_designs d JOIN samples s USING (sample_id)
        LEFT JOIN submissions u ON u.person_id = s.person_id AND (? IS NULL OR u.annotator = ?)
        GROUP BY d.sample_id, d.population_size ORDER BY d.sample_id""", [annotator, annotator])]


# --- sheets: each good row its analyst's entry -----------------------------------------

def import_sheet(tracker: Tracker, path: Path, resolver, actor: str | None = None, annotator: str | None = None
                 ) -> ImportReport:
    """Validate the sheet and store each good row as `annotator`'s entry (default: who runs
    the command), in one transaction: all good rows or, on a failure, none."""
    actor = actor or cli_actor()
    annotator = annotator or actor
    check_name(annotator)
    rows = read_sheet(path)
    report = ImportReport(rows=len(rows))
    wanted = sorted({row["person_id"] for _, row in rows if row["person_id"]})
    with tracker.reader() as con:
        persons = {r[0] for r in con.execute("SELECT person_id FROM persons WHERE person_id IN (SELECT unnest(?))",
                                             [wanted]).fetchall()}
        inferred = inferred_values(con, sorted(persons))
    entries, report.problems = validate(rows, persons, resolver, inferred)
    workspace = tracker.workspace(create=True)
    via = f"sheet {Path(path).name}"
    with workspace.write() as con:
        for entry in entries:
            stages, changed = submit_sheet_row(con, annotator, entry, via, actor)
            report.imported += stages
            report.unchanged += not changed
        audit(con, actor, "import sheet", None, None,
              {"sheet": str(path), "annotator": annotator, "rows": report.rows, "imported": report.imported,
               "problems": len(report.problems)})
    return report
