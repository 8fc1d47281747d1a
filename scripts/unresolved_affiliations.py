"""List the most frequent affiliations the resolver leaves without an institution.

    python scripts/unresolved_affiliations.py --db talent-tracker.duckdb [--top 50] [--min 5]

For analysts extending `src/talent_tracker/institutions/registry.csv`: each line shows
how often the text occurs, what (if anything) was found for it (a country from a place
or domain), and the text. Add the institution, or an alias, and rebuild.
"""

from __future__ import annotations

import argparse

import duckdb

SQL = """
SELECT count(*) AS n, any_value(country) AS country, any_value(resolution_method) AS method, affiliation
FROM authorships
WHERE affiliation IS NOT NULL AND affiliation <> '' AND institution_id IS NULL
GROUP BY affiliation
HAVING count(*) >= ?
ORDER BY n DESC, affiliation
LIMIT ?
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="talent-tracker.duckdb")
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--min", type=int, default=5, help="only texts occurring at least this often")
    args = parser.parse_args()
    con = duckdb.connect(args.db, read_only=True)
    rows = con.execute(SQL, [args.min, args.top]).fetchall()
    for n, country, method, text in rows:
        print(f"{n:6d}  {country or '--':2}  {method or '-':6}  {text}")
    print(f"{len(rows)} texts occurring {args.min}+ times have no institution")


if __name__ == "__main__":
    main()
