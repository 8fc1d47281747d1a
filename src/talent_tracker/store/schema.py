"""The build file's tables: their Arrow schemas, their order, and the SQL that composes
annotations into career facts. A build writes them (build/), readers read them (reading.py).
SCHEMAS also holds the workspace's tables as readers see them; they are declared once, in
workspace.DECLARED, with their SQLite constraints."""

from __future__ import annotations

import pyarrow as pa

from talent_tracker.store import workspace as workspaces

DEFAULT_DB = "talent-tracker.duckdb"
RESOLUTION_COLUMNS = ("institution_id", "institution", "country", "sector", "resolution_method",
                      "resolution_confidence", "other_institution_ids")
# tables a build derives (the database file); human work lives in the workspace
BUILD_TABLES = ("papers", "authorships", "skips", "unaligned_entries", "venue_years", "institutions", "persons",
                "careers", "predictions", "published_figures", "inputs", "build_info", "profile_links",
                "affiliation_agreement")
# workspace tables every reader sees beside the build's (what analyses and estimates use)
SNAPSHOT_TABLES = ("annotations", "samples", "sample_designs")
# columns of `authorships` filled by stages after a file is read
LATER_COLUMNS = (*RESOLUTION_COLUMNS, "person_id")

_str, _int, _bool = pa.string(), pa.int32(), pa.bool_()
_strs = pa.list_(pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "papers": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("title", _str), ("track", _str),
        ("status", _str), ("accepted", _bool), ("tier", _str), ("n_authors", _int), ("url", _str),
        ("source", _str), ("source_file", _str), ("source_record", _str),
        # countries its authors are in: placed affiliations, and entries no rule could
        # place on an author (a paper's countries are known even where an author's is not)
        ("countries", _strs),
    ]),
    "authorships": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("status", _str), ("accepted", _bool),
        ("tier", _str), ("author_position", _int), ("author_name", _str), ("openreview_id", _str),
        ("email", _str), ("email_domain", _str), ("affiliation", _str), ("job_title", _str),
        ("alignment", _str), ("affiliation_source", _str), ("source_institutions", _strs), ("source_countries", _strs),
        ("source", _str),
        # resolved from affiliation and e-mail domain (institutions/resolver.py)
        ("institution_id", _str), ("institution", _str), ("country", _str), ("sector", _str),
        ("resolution_method", _str), ("resolution_confidence", pa.float32()),
        ("other_institution_ids", _strs),
        # the researcher behind the authorship (people/clusters.py)
        ("person_id", _str),
    ]),
    "careers": pa.schema([
        ("person_id", _str), ("stage", _str), ("institution_id", _str), ("institution", _str), ("country", _str),
        ("sector", _str), ("start_year", _int), ("end_year", _int), ("source", _str), ("confidence", pa.float32()),
        ("evidence", _str),
    ]),
    # a country per person and stage from the evidence ladder (predictions.py): never a fact
    "predictions": pa.schema([
        ("person_id", _str), ("stage", _str), ("country", _str), ("probability", pa.float32()), ("kind", _str),
        ("evidence", _str),
    ]),
    "persons": pa.schema([
        ("person_id", _str), ("display_name", _str), ("name_variants", _strs), ("openreview_ids", _strs),
        ("first_year", _int), ("last_year", _int), ("n_papers", _int), ("n_accepted_papers", _int),
        ("venues", _strs),
    ]),
    "institutions": pa.schema([
        ("institution_id", _str), ("name", _str), ("country", _str), ("sector", _str), ("parent", _str),
        ("multinational", _bool), ("aliases", _strs), ("domains", _strs), ("layer", _str),
        # the country of its topmost parent (Google Zurich's is the US): the headquarters view
        ("hq_country", _str),
    ]),
    "skips": pa.schema([
        ("source_file", _str), ("scope", _str), ("reason", _str), ("detail", _str), ("venue", _str),
        ("year", _int), ("record", _str), ("count", _int),
    ]),
    "unaligned_entries": pa.schema([
        ("venue", _str), ("year", _int), ("paper_id", _str), ("field", _str), ("entry_index", _int),
        ("value", _str),
    ]),
    # links an OpenReview profile states (sources/author_files.py, links.url): homepage, dblp,
    # google_scholar, orcid, linkedin; last_year: the last year a paper of the build gave it
    "profile_links": pa.schema([("openreview_id", _str), ("kind", _str), ("url", _str), ("last_year", _int)]),
    # where two sources give one authorship an affiliation: the one used (precedence in
    # docs/estimates.md), the one compared, and how often they resolve alike
    "affiliation_agreement": pa.schema([
        ("venue", _str), ("year", _int), ("source_used", _str), ("source_compared", _str), ("pairs", _int),
        ("institution_pairs", _int), ("same_institution", _int), ("country_pairs", _int), ("same_country", _int),
    ]),
    "venue_years": pa.schema([
        ("venue", _str), ("year", _int), ("venue_name", _str), ("source", _str),
        ("accepted_statuses", _strs), ("oral_statuses", _strs), ("tracks", _strs),
        ("oral_known", _bool), ("notes", _str),
    ]),
    "inputs": pa.schema([
        ("source", _str), ("source_file", _str), ("venue", _str), ("year", _int), ("bytes", pa.int64()),
        ("sha256", _str), ("records", _int),
    ]),
    "build_info": pa.schema([("key", _str), ("value", _str)]),
    # the published tracker's headline figures (figures/compare.py), from the data folder
    "published_figures": pa.schema([
        ("edition", _int), ("population", _str), ("tier", _str), ("measure", _str), ("category", _str),
        ("percent", pa.float64()), ("note", _str), ("source", _str),
    ]),
    **workspaces.ARROW,  # the workspace's tables, declared once with it
}

# the order rows are exported in (tables keep the order of the source files)
ORDER = {
    "papers": "venue, year, paper_id",
    "authorships": "venue, year, paper_id, author_position",
    "skips": "venue, year, source_file, scope, reason, record",
    "unaligned_entries": "venue, year, paper_id, field, entry_index",
    "venue_years": "venue, year",
    "profile_links": "openreview_id, kind, url",
    "affiliation_agreement": "venue, year, source_used, source_compared",
    "institutions": "institution_id",
    "persons": "person_id",
    "careers": "person_id, stage, source, institution_id",
    "predictions": "person_id, stage",
    "annotations": "person_id, stage",
    "samples": "sample_id, person_id",
    "users": "name",
    "submissions": "person_id, annotator",
    "decisions": "person_id, stage",
    "audit_log": "id",
    "sample_designs": "sample_id",
    "career_stages": "person_id, stage",
    "inputs": "venue, year, source_file",
    "build_info": "key",
    "person_overrides": "authorship_a, authorship_b",
    "published_figures": "edition, population, measure, category",
}


# --- what readers compose: annotations as career facts --------------------------------------

# they outrank every inferred fact (stages.PRECEDENCE)
ANNOTATION_FACTS_SQL = """
SELECT a.person_id, a.stage, a.institution_id, a.institution, a.country, a.sector,
       NULL::INTEGER AS start_year, NULL::INTEGER AS end_year, 'annotation' AS source, 1.0::FLOAT AS confidence,
       concat_ws('; ', 'annotated ' || a.imported_at, a.evidence_url, a.notes) AS evidence
FROM annotations a
WHERE a.person_id IN (SELECT person_id FROM build.persons)
"""
