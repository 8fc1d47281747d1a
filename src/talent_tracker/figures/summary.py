"""`summary`: per venue and year, what the database holds and what was skipped and why."""

from __future__ import annotations

from talent_tracker.store.reading import Tracker, rows

COUNTS_SQL = """
WITH p AS (
    SELECT venue, year,
           count(*) AS papers,
           count(*) FILTER (WHERE accepted) AS accepted_papers,
           count(*) FILTER (WHERE tier = 'top2') AS top2_papers,
           count(*) FILTER (WHERE tier = 'top20') AS top20_papers
    FROM papers GROUP BY venue, year
), a AS (
    SELECT venue, year,
           count(*) AS authorships,
           count(*) FILTER (WHERE accepted) AS accepted_authorships,
           count(DISTINCT author_name) FILTER (WHERE accepted) AS distinct_author_names,
           count(DISTINCT person_id) FILTER (WHERE accepted) AS distinct_people,
           count(*) FILTER (WHERE tier = 'top2') AS top2_authorships,
           count(*) FILTER (WHERE tier = 'top20') AS top20_authorships,
           count(*) FILTER (WHERE affiliation IS NOT NULL) AS with_affiliation,
           count(*) FILTER (WHERE affiliation IS NOT NULL OR email_domain IS NOT NULL) AS resolvable,
           count(*) FILTER (WHERE country IS NOT NULL) AS with_country,
           count(*) FILTER (WHERE institution_id IS NOT NULL) AS with_institution,
           count(*) FILTER (WHERE sector IS NOT NULL) AS with_sector
    FROM authorships GROUP BY venue, year
), s AS (
    SELECT venue, year,
           sum("count") FILTER (WHERE scope IN ('file', 'record')) AS records_skipped,
           sum("count") FILTER (WHERE scope = 'label') AS not_counted_labels,
           sum("count") FILTER (WHERE scope = 'merge') AS duplicates_merged,
           sum("count") FILTER (WHERE scope = 'field') AS field_values_skipped
    FROM skips GROUP BY venue, year
)
SELECT p.venue, p.year, p.papers, p.accepted_papers, p.top2_papers, p.top20_papers,
       coalesce(a.authorships, 0) AS authorships,
       coalesce(a.accepted_authorships, 0) AS accepted_authorships,
       coalesce(a.distinct_author_names, 0) AS distinct_author_names,
       coalesce(a.distinct_people, 0) AS distinct_people,
       coalesce(a.top2_authorships, 0) AS top2_authorships,
       coalesce(a.top20_authorships, 0) AS top20_authorships,
       coalesce(a.with_affiliation, 0) AS with_affiliation,
       coalesce(a.resolvable, 0) AS resolvable,
       coalesce(a.with_country, 0) AS with_country,
       coalesce(a.with_institution, 0) AS with_institution,
       coalesce(a.with_sector, 0) AS with_sector,
       round(100.0 * a.with_country / nullif(a.resolvable, 0), 1) AS country_coverage_pct,
       v.oral_known,
       coalesce(s.records_skipped, 0) AS records_skipped,
       coalesce(s.not_counted_labels, 0) AS not_counted_labels,
       coalesce(s.duplicates_merged, 0) AS duplicates_merged,
       coalesce(s.field_values_skipped, 0) AS field_values_skipped
FROM p
LEFT JOIN a USING (venue, year)
LEFT JOIN s USING (venue, year)
LEFT JOIN venue_years v USING (venue, year)
ORDER BY p.venue, p.year
"""

REASONS_SQL = """
SELECT coalesce(venue, '') AS venue, year, scope, reason, sum("count") AS count,
       min(source_file) AS example_file, min(detail) AS example_detail
FROM skips
GROUP BY ALL
ORDER BY venue, year NULLS FIRST, scope, reason
"""


# Per venue: accepted authors counted once per year and summed ("person-years", how the
# published trackers count), and counted once overall; also over 2010-2019.
PEOPLE_SQL = """
WITH per_year AS (
    SELECT venue, year, count(DISTINCT person_id) AS people
    FROM authorships WHERE accepted GROUP BY venue, year
)
SELECT p.venue, min(p.year) AS first_year, max(p.year) AS last_year,
       sum(p.people)::BIGINT AS person_years,
       coalesce(sum(p.people) FILTER (WHERE p.year BETWEEN 2010 AND 2019), 0)::BIGINT AS person_years_2010_2019,
       any_value(d.people) AS distinct_people
FROM per_year p
JOIN (SELECT venue, count(DISTINCT person_id) AS people FROM authorships WHERE accepted GROUP BY venue) d
  USING (venue)
GROUP BY p.venue
ORDER BY p.venue
"""


# Career facts per stage and source, and the people they cover (of all people; of the
# people with an affiliation anywhere)
CAREERS_SQL = """
SELECT c.stage, c.source, count(*) AS facts, count(DISTINCT c.person_id) AS people,
       round(100.0 * count(DISTINCT c.person_id) / (SELECT count(*) FROM persons), 1) AS people_pct
FROM careers c GROUP BY c.stage, c.source
UNION ALL
SELECT s.stage, 'chosen (career_stages)', count(*), count(DISTINCT s.person_id),
       round(100.0 * count(DISTINCT s.person_id) / (SELECT count(*) FROM persons), 1)
FROM career_stages s GROUP BY s.stage
ORDER BY 1, 2
"""


def summarise(tracker: Tracker) -> dict:
    """Per venue-year counts, per venue people, and the skip reasons, as plain data (rows of dicts)."""
    with tracker.reader() as con:
        return {"venue_years": rows(con, COUNTS_SQL), "people": rows(con, PEOPLE_SQL),
                "careers": rows(con, CAREERS_SQL), "skips": rows(con, REASONS_SQL)}

