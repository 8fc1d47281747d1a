"""Review: where annotators disagree, and a reviewer's decision, which settles the stage."""

from __future__ import annotations

import sqlite3

from talent_tracker.annotations.workflow import Invalid, User, entry_of, settle, submission
from talent_tracker.stages import STAGES
from talent_tracker.store.workspace import Workspace, audit, now


def decide(workspace: Workspace, user: User, person_id: str, stage: str, from_annotator: str) -> None:
    """A reviewer settles a stage by taking one annotator's value."""
    if not user.may("review"):
        raise PermissionError(f"{user.name} may not review")
    if stage not in STAGES:
        raise Invalid([f"unknown stage {stage[:40]!r}"])
    with workspace.write() as con:
        chosen = submission(con, person_id, from_annotator)
        if chosen is None:
            raise Invalid([f"{from_annotator[:64]} has no entry for {person_id[:100]}"])
        before = con.execute("SELECT * FROM decisions WHERE person_id = ? AND stage = ?", [person_id, stage]
                             ).fetchone()
        value = [chosen[f"{stage}_institution_id"], chosen[f"{stage}_institution"], chosen[f"{stage}_country"],
                 chosen["work_sector"] if stage == "work" else None]
        con.execute("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [person_id, stage, user.name, *value, now()])
        audit(con, user.name, f"decide {stage}", person_id, {"decision": dict(before) if before else None},
              {"from": from_annotator, "value": value})
        settle(con, person_id)


def disagreements(con: sqlite3.Connection) -> list[dict]:
    """Stages where annotators entered different values and no reviewer has decided."""
    by_person: dict[str, list[dict]] = {}
    for r in con.execute("SELECT * FROM submissions ORDER BY person_id, annotator"):
        entry = entry_of(r)
        by_person.setdefault(entry["person_id"], []).append(entry)
    decided = {(r[0], r[1]) for r in con.execute("SELECT person_id, stage FROM decisions")}
    out = []
    for person, entries in by_person.items():
        for stage in STAGES:
            values = {(e["annotator"], e[f"{stage}_institution"] or "", e[f"{stage}_country"] or "")
                      for e in entries if e[f"{stage}_country"]}
            if len({v[1:] for v in values}) > 1 and (person, stage) not in decided:
                out.append({"person_id": person, "stage": stage,
                            "entries": [{"annotator": a, "institution": i, "country": c} for a, i, c in sorted(values)]})
    return out
