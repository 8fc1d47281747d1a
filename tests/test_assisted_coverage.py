"""Coverage of the model-assisted intervals on a real population, with a real predictor.

Population: the NeurIPS 2021 authors whose work country is known from their affiliation
(the truth here). Predictor: the country of the e-mail domain on their latest paper, an
independent piece of career evidence that errs as real predictions do (a student's
university address while interning at a lab, a company address for a university
researcher, no address at all). For each trait ("works in the US", "works in China",
"works in the UK") and n = 100, 200 and 400, 1,000 simple random samples: how often the
95% interval holds the true count, and its median width against the exact sample-only
interval's (stats.count_interval). The README reports these figures.
"""

from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT, query

TRIALS = 1000
# the query and the simulation are the hold-out benchmark's (benchmarks/assisted_coverage.py)
_spec = importlib.util.spec_from_file_location("assisted_coverage", ROOT / "benchmarks" / "assisted_coverage.py")
benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark)


@pytest.fixture(scope="module")
def population(full_db):
    rows = query(full_db, benchmark.SQL, ["neurips", 2021])
    assert len(rows) > 6000
    return rows


# the width targets this population meets; the ones it misses are in the README
NARROWER = {(country, n) for country in ("US", "CN") for n in (100, 200, 400)} | {("GB", 200), ("GB", 400)}


@pytest.mark.realdata
@pytest.mark.parametrize("country", ["US", "CN", "GB"])
@pytest.mark.parametrize("n", [100, 200, 400])
def test_assisted_intervals_cover_on_a_real_population(population, country, n):
    coverage, ratio, error = benchmark.simulate(population, country, n, TRIALS, seed=n + ord(country[0]))
    print(f"{country} n={n}: coverage {coverage:.3f}, median width {ratio:.2f} of the sample-only interval, "
          f"predictor wrong for {error:.1%}")
    assert coverage >= 0.94
    assert ratio <= (0.75 if (country, n) in NARROWER else 1.0)
