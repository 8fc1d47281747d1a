"""`person`: everything the database knows about one person, for the CLI and the web."""

from __future__ import annotations

from talent_tracker.errors import UserError
from talent_tracker.store.reading import Tracker, rows


def person_report(tracker: Tracker, person_id: str) -> dict:
    with tracker.reader() as con:
        person = rows(con, "SELECT * FROM persons WHERE person_id = ?", [person_id])
        if not person:
            raise UserError(f"{tracker}: no person {person_id!r}")
        return {
            "person": person[0],
            "career_stages": rows(con, "SELECT * FROM career_stages WHERE person_id = ? ORDER BY stage", [person_id]),
            "careers": rows(con, "SELECT * FROM careers WHERE person_id = ? ORDER BY stage, source, end_year DESC",
                             [person_id]),
            "papers": rows(con, """
                SELECT a.venue, a.year, a.paper_id, a.tier, p.title, a.author_position, a.affiliation, a.job_title,
                       a.institution, a.country, a.sector
                FROM authorships a JOIN papers p USING (venue, year, paper_id)
                WHERE a.person_id = ? ORDER BY a.year DESC, a.venue, a.paper_id""", [person_id]),
        }

