"""The interval arithmetic, and its coverage in simulations on populations from the real data."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import pytest

from talent_tracker.errors import UserError
from talent_tracker.figures import stats

from conftest import cli, query


@pytest.mark.fast
def test_published_example():
    # 15,616 people, a sample of about 1,590, about 284 China-educated: ~2,790, ~±10%
    low, high = stats.count_interval(284, 1590, 15616)
    estimate = stats.count_estimate(284, 1590, 15616).estimate
    assert round(estimate) == 2789
    assert 0.09 <= (estimate - low) / estimate <= 0.11 and 0.09 <= (high - estimate) / estimate <= 0.11


@pytest.mark.fast
def test_the_interval_command_reproduces_the_article():
    ran = cli("interval", "--population", "15616", "--sample", "1590", "--count", "284")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0] == "2,789 (2,515–3,081)"
    as_json = cli("interval", "--population", "15616", "--sample", "1590", "--count", "284", "--level", "0.9",
                  "--json")
    answer = json.loads(as_json.stdout)
    assert (answer["estimate"], answer["level"]) == (2789, 0.9) and 2515 < answer["low"] < answer["high"] < 3081
    wrong = cli("interval", "--population", "100", "--sample", "10", "--count", "11")
    assert wrong.returncode == 2 and "impossible in a sample of 10" in wrong.stderr
    assert "Traceback" not in wrong.stderr


@pytest.mark.fast
def test_edges():
    assert stats.count_interval(0, 10, 100)[0] == 0 and stats.count_interval(10, 10, 100)[1] == 100
    assert stats.count_interval(5, 100, 100) == (5, 5)  # the whole population: the count itself
    low, high = stats.count_interval(3, 10, 20)
    assert 3 <= low <= high <= 13  # never below the seen, never above what the unseen allow


@pytest.mark.fast
@pytest.mark.parametrize("args, message", [
    ((5, 20, 10), "cannot come from a population of 10"),
    ((5, 10, 0), "population is empty"),
    ((11, 10, 100), "impossible"),
])
def test_impossible_requests(args, message):
    with pytest.raises(UserError, match=message):
        stats.count_interval(*args)
    with pytest.raises(UserError, match="strictly between 0 and 1"):
        stats.count_interval(1, 10, 100, level=1.0)


@pytest.mark.fast
def test_ratio_accounts_for_the_random_subgroup():
    # the same share from a smaller sub-sample gets a wider interval
    wide = stats.ratio_estimate(15, 20, 400, 8000)
    narrow = stats.ratio_estimate(150, 200, 400, 8000)
    assert wide.estimate == narrow.estimate == 0.75
    assert (wide.high - wide.low) > 2 * (narrow.high - narrow.low)


@pytest.fixture(scope="module")
def neurips2021(full_db):
    """NeurIPS 2021 accepted authors: their tier, their papers, and a trait known for all
    of them (works in the US by the affiliation of their latest paper)."""
    rows = query(full_db, """
        SELECT a.person_id, bool_or(a.tier = 'top2') AS oral, list(DISTINCT a.paper_id) AS papers,
               coalesce(any_value(s.country) = 'US', false) AS us
        FROM authorships a LEFT JOIN career_stages s ON s.person_id = a.person_id AND s.stage = 'work'
        WHERE a.venue = 'neurips' AND a.year = 2021 AND a.accepted GROUP BY a.person_id ORDER BY a.person_id""")
    return rows


def _coverage(trials: int, draw) -> float:
    return sum(draw(random.Random(seed)) for seed in range(trials)) / trials


@pytest.mark.realdata
def test_person_design_covers_and_is_not_wider_than_needed(neurips2021):
    people = [r[0] for r in neurips2021]
    trait = {r[0]: r[3] for r in neurips2021}
    N, K, n = len(people), sum(trait.values()), 400
    widths = {"exact": [], "normal": []}

    def draw(rng):
        x = sum(trait[p] for p in rng.sample(people, n))
        low, high = stats.count_interval(x, n, N)
        nlow, nhigh = stats.normal_fpc_interval(x, n, N)
        widths["exact"].append(high - low)
        widths["normal"].append(nhigh - nlow)
        return low <= K <= high

    assert _coverage(600, draw) >= 0.94
    mean = {k: sum(v) / len(v) for k, v in widths.items()}
    assert mean["exact"] <= 1.1 * mean["normal"]  # exact, yet about as narrow as the approximation


@pytest.mark.realdata
def test_stratified_design_covers(neurips2021):
    strata = {True: [r[0] for r in neurips2021 if r[1]], False: [r[0] for r in neurips2021 if not r[1]]}
    trait = {r[0]: r[3] for r in neurips2021}
    K = sum(trait.values())
    sizes = {True: 40, False: 360}

    def draw(rng):
        parts = [(sum(trait[p] for p in rng.sample(strata[h], sizes[h])), sizes[h], len(strata[h])) for h in strata]
        est = stats.stratified_estimate(parts)
        return est.low <= K <= est.high

    assert _coverage(1000, draw) >= 0.94


@pytest.mark.realdata
def test_cluster_design_covers(neurips2021):
    trait = {r[0]: r[3] for r in neurips2021}
    multiplicity = {r[0]: len(r[2]) for r in neurips2021}
    authors = defaultdict(list)
    for person, _, papers, _ in neurips2021:
        for paper in sorted(papers):
            authors[paper].append(person)
    papers = sorted(authors)
    for paper in papers:
        authors[paper].sort()
    K, M, m = sum(trait.values()), len(papers), 150

    def draw(rng):
        drawn = rng.sample(papers, m)
        totals = [sum(trait[p] / multiplicity[p] for p in authors[j]) for j in drawn]
        est = stats.cluster_estimate(totals, m, M, len(trait))
        return est.low <= K <= est.high

    assert _coverage(1000, draw) >= 0.94

