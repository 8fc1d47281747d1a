"""The career stages, and which of a person's facts for a stage is the one figures use.

A fact's source ranks it (PRECEDENCE; careers/derive.py says what each source is): an
analyst's entry first, then an OpenReview profile, a job title, the trail of a person's
papers, an affiliation, an e-mail domain. The same order is written once here for SQL
(STAGE_ORDER: the `career_stages` view, the API, the annotation form's evidence) and for
Python (fact_rank).
"""

from __future__ import annotations

STAGES = ("origin", "graduate", "work")
PRECEDENCE = {"annotation": 1, "profile": 2, "job_title": 3, "trail": 4, "affiliation": 5, "email": 6}

# The order of a person's facts for one stage, best first. An analyst's entry always wins.
# Origin and graduate school are history: the better source wins, then the later fact. Work
# is where someone is now: the later fact wins (a position with no end year is current),
# then the better source, so a 2021 job title never outranks a 2022 affiliation.
_RANK = " ".join(f"WHEN '{source}' THEN {rank}" for source, rank in PRECEDENCE.items())
STAGE_ORDER = (f"source <> 'annotation', CASE WHEN stage = 'work' THEN coalesce(end_year, 9999) END DESC NULLS LAST, "
               f"CASE source {_RANK} ELSE 9 END, coalesce(end_year, 9999) DESC, confidence DESC, institution_id")


def fact_rank(fact: dict) -> tuple:
    """STAGE_ORDER as a Python sort key (smaller is better)."""
    end = fact.get("end_year")
    end = 9999 if end is None else end
    return (fact["source"] != "annotation", -end if fact["stage"] == "work" else 0,
            PRECEDENCE.get(fact["source"], 9), -end, -(fact.get("confidence") or 0), fact.get("institution_id") or "")

CAREER_STAGES_SQL = f"""
CREATE OR REPLACE VIEW career_stages AS
SELECT * EXCLUDE (rank) FROM (
    SELECT *, row_number() OVER (PARTITION BY person_id, stage ORDER BY {STAGE_ORDER}) AS rank
    FROM careers
) WHERE rank = 1
"""
