"""The typed JSON API under /api/: people, institutions, papers, estimates, samples and the
list of analyses, datasette-style (filter, search, page; json, csv or parquet).

Every list answers the same way (`Page`): `rows`, `total`, `page`, `per_page` and `next`
(the path of the next page, or null), and takes `page`, `per_page` (1-500) and `format`
(`json`, `csv` through exports.csv_safe, or `parquet`; anything else is a 400). A csv or
parquet download holds exactly the rows of the same page in JSON, with the total and the
next page in the `X-Total-Count` and `Link` headers. Filters are parsed as the analyses'
are (`venue` repeated, `years` like 2019 or 2010-2019, `tier` top20 or top2): a filter
that names nothing real is a 400 with the reason.

The database is read through the server's Tracker; what is the same until the next build (the
people search index, institution counts) is kept per build (Tracker.build_stamp), what the
workspace changes (careers with annotations, estimates) per workspace generation too.
All SQL is parameterised and every input has a bound.

Person and institution ids may hold `/` (they come from the sources' ids): their paths
take the rest of the path, encoded (`%2F`, as the `url` of each row writes it) or not.
What blind annotation hides from a viewer (`hides(request)`, access.py): the annotation
facts of a person, the estimates, and how many of a sample's people are annotated.
"""
