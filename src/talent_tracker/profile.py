"""`person`: everything the database knows about one person, for the CLI and the web."""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .store import reader


def person_report(db: Path, person_id: str) -> dict:
    with reader(db) as con:
        person = _rows(con, "SELECT * FROM persons WHERE person_id = ?", [person_id])
        if not person:
            raise UserError(f"{db}: no person {person_id!r}")
        return {
            "person": person[0],
            "career_stages": _rows(con, "SELECT * FROM career_stages WHERE person_id = ? ORDER BY stage", [person_id]),
            "careers": _rows(con, "SELECT * FROM careers WHERE person_id = ? ORDER BY stage, source, end_year DESC",
                             [person_id]),
            "papers": _rows(con, """
                SELECT a.venue, a.year, a.paper_id, a.tier, p.title, a.author_position, a.affiliation, a.job_title,
                       a.institution, a.country, a.sector
                FROM authorships a JOIN papers p USING (venue, year, paper_id)
                WHERE a.person_id = ? ORDER BY a.year DESC, a.venue, a.paper_id""", [person_id]),
        }


def _rows(con, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
