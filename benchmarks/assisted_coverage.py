"""Coverage and width of the model-assisted intervals on any built venue-year: a hold-out check.

    python benchmarks/assisted_coverage.py --db talent-tracker.duckdb --venue icml --year 2022 [--trials 500]

The same check as tests/test_assisted_coverage.py (which runs on NeurIPS 2021), for a
population the method was not chosen on. Population: the venue-year's accepted authors
whose work country is known from their affiliation (the truth). Predictor: the country of
the e-mail domain on their latest paper. For "works in the US / China / the UK" and
n = 100, 200 and 400, simple random samples: how often the 95% interval holds the true
count, and its median width against the exact sample-only interval's.
"""

from __future__ import annotations

import argparse

import duckdb
import numpy as np

from talent_tracker.figures import stats

SQL = """
WITH members AS (SELECT DISTINCT person_id FROM authorships WHERE venue = ? AND year = ? AND accepted),
ranked AS (SELECT person_id, source, country,
                  row_number() OVER (PARTITION BY person_id, source ORDER BY end_year DESC, confidence DESC,
                                     institution_id) AS r
           FROM careers WHERE stage = 'work' AND source IN ('affiliation', 'email') AND country IS NOT NULL)
SELECT m.person_id, t.country, e.country
FROM members m JOIN ranked t ON t.person_id = m.person_id AND t.source = 'affiliation' AND t.r = 1
LEFT JOIN ranked e ON e.person_id = m.person_id AND e.source = 'email' AND e.r = 1
ORDER BY 1
"""


def simulate(rows: list[tuple], country: str, n: int, trials: int, seed: int) -> tuple[float, float, float]:
    """For "works in `country`" and samples of n: the 95% intervals' coverage of the true
    count, their median width over the exact sample-only interval's, and the predictor's
    error rate."""
    truth = np.array([r[1] == country for r in rows], dtype=int)
    predicted = np.array([r[2] == country for r in rows], dtype=int)
    N, K = len(rows), int(truth.sum())
    rng = np.random.default_rng(seed)
    covered, widths, plain = 0, [], []
    for _ in range(trials):
        idx = rng.choice(N, n, replace=False)
        _, low, high = stats.assisted_count_interval(truth[idx], predicted[idx], predicted)
        covered += low <= K <= high
        widths.append(high - low)
        sample_low, sample_high = stats.count_interval(int(truth[idx].sum()), n, N)
        plain.append(sample_high - sample_low)
    return covered / trials, float(np.median(widths) / np.median(plain)), float((truth != predicted).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--venue", required=True)
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument("--trials", type=int, default=500)
    args = parser.parse_args()
    with duckdb.connect(args.db, read_only=True) as con:
        rows = con.execute(SQL, [args.venue, args.year]).fetchall()
    N = len(rows)
    if N < 400:
        raise SystemExit(f"{args.venue} {args.year}: {N} people with a known work country, too few for n = 400")
    print(f"{args.venue} {args.year}: {N} people, {args.trials} samples per cell")
    for country in ("US", "CN", "GB"):
        K = sum(r[1] == country for r in rows)
        for n in (100, 200, 400):
            coverage, ratio, error = simulate(rows, country, n, args.trials, seed=n + ord(country[0]))
            print(f"{country} n={n}: K {K}, predictor wrong for {error:.1%}, coverage {coverage:.3f}, "
                  f"median width {ratio:.2f} of the sample-only interval")


if __name__ == "__main__":
    main()
