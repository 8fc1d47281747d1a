"""Analysts' same/different-person decisions, kept in the workspace; every build applies them
(people/clusters.py reads them)."""

from __future__ import annotations

from talent_tracker.store.workspace import audit, cli_actor, now


def import_overrides(workspace, rows: list[tuple[str, str, str, str]], source: str, actor: str | None = None) -> int:
    """Keep analysts' decisions in the workspace (the later decision on a pair wins);
    returns how many were new or changed."""
    actor = actor or cli_actor()
    changed = 0
    with workspace.write() as con:
        for decision, a, b, note in rows:
            a, b = sorted((a, b))
            current = con.execute("SELECT decision, note FROM person_overrides WHERE authorship_a = ? AND "
                                  "authorship_b = ?", [a, b]).fetchone()
            if current is not None and tuple(current) == (decision, note or None):
                continue
            con.execute("INSERT OR REPLACE INTO person_overrides VALUES (?, ?, ?, ?, ?, ?)",
                        [a, b, decision, note or None, actor, now()])
            changed += 1
        audit(con, actor, "import people overrides", None, None, {"file": source, "rows": len(rows), "changed": changed})
    return changed
