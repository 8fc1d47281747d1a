"""One person: everything the database knows about them, read one way for the `person`
command, the API's `/api/persons/{id}` and the annotation form's evidence."""

from __future__ import annotations

from talent_tracker.errors import UserError
from talent_tracker.stages import STAGE_ORDER
from talent_tracker.store.reading import Tracker, profile_links, rows

STAGE_RANK = "CASE stage WHEN 'origin' THEN 0 WHEN 'graduate' THEN 1 ELSE 2 END"


def person_record(con, person_id: str, hidden_sources: tuple[str, ...] = ()) -> dict | None:
    """The person's row, profile links (what their OpenReview profiles state: homepage,
    DBLP, Scholar, ORCID, LinkedIn; newest first within a kind), career facts (origin, graduate, work, each stage's facts in
    precedence order with the chosen one `selected`; facts of `hidden_sources` left out,
    as blind annotation needs), predictions and papers (newest first); None for an unknown
    id. `con` is a reader's cursor (Tracker.reader)."""
    person = rows(con, "SELECT * FROM persons WHERE person_id = ?", [person_id])
    if not person:
        return None
    careers = rows(con, f"""
        SELECT person_id, stage, institution_id, institution, country, sector, start_year, end_year, source,
               confidence, evidence, row_number() OVER (PARTITION BY stage ORDER BY {STAGE_ORDER}) = 1 AS selected
        FROM careers WHERE person_id = ? AND source NOT IN (SELECT unnest(?))
        ORDER BY {STAGE_RANK}, {STAGE_ORDER}""", [person_id, list(hidden_sources)])
    predictions = rows(con, f"""SELECT stage, country, probability, kind, evidence FROM predictions
        WHERE person_id = ? ORDER BY {STAGE_RANK}""", [person_id])
    papers = rows(con, """
        SELECT a.venue, a.year, a.paper_id, p.title, a.status, a.accepted, a.tier, p.track, a.author_position,
               p.n_authors, a.affiliation, a.job_title, a.institution_id, a.institution, a.country, a.sector, p.url
        FROM authorships a JOIN papers p USING (venue, year, paper_id)
        WHERE a.person_id = ? ORDER BY a.year DESC, a.venue, p.title, a.paper_id""", [person_id])
    return {"person": person[0], "careers": careers, "predictions": predictions, "papers": papers,
            "profile_links": profile_links(con, [person_id]).get(person_id, [])}


def person_report(tracker: Tracker, person_id: str) -> dict:
    """person_record, and the chosen fact per stage (the `career_stages` view), for the CLI."""
    with tracker.reader() as con:
        record = person_record(con, person_id)
        if record is None:
            raise UserError(f"{tracker}: no person {person_id!r}")
        record["career_stages"] = rows(con, "SELECT * FROM career_stages WHERE person_id = ? ORDER BY stage",
                                       [person_id])
    return record
