"""`evaluate-people`: resolve people with the OpenReview ids hidden, and score against them.

The venue-years whose authorships mostly carry OpenReview profile ids (NeurIPS 2021 and
ICLR 2021 in the snapshot) are the test set: their ids are masked, every authorship of the
database is resolved again, and the predicted persons of the test authorships are
compared with the true ids by B-cubed precision, recall and F1 — overall, and on the
names that two or more true people share — and by the error in the number of people.
Then the same is done with the ids visible, where the answer must be exactly the ids.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .errors import UserError
from .people import Mentions, bcubed, name_key, resolve_people
from .store import reader

COLUMNS = "venue, year, paper_id, author_position, author_name, openreview_id, email, email_domain, institution_id"


def evaluate(db: Path) -> dict:
    with reader(db) as con:
        rows = con.execute(f"SELECT {COLUMNS} FROM authorships").fetchall()
    if not rows:
        raise UserError(f"{db}: no authorships to evaluate")
    cols = [list(c) for c in zip(*rows)]
    venue, year, true_ids = cols[0], cols[1], cols[5]
    # the venue-years taken from OpenReview: most of their authorships carry a profile id
    with_id, total = defaultdict(int), defaultdict(int)
    for v, y, t in zip(venue, year, true_ids):
        total[(v, y)] += 1
        with_id[(v, y)] += bool(t)
    test_years = sorted(k for k in total if with_id[k] * 2 >= total[k])
    if not test_years:
        raise UserError(f"{db}: no authorship carries an OpenReview id, so there is nothing to evaluate against")
    hidden = set(test_years)
    test = [i for i in range(len(rows)) if (venue[i], year[i]) in hidden and true_ids[i]]
    masked = [None if (v, y) in hidden else t for v, y, t in zip(venue, year, true_ids)]
    blind = resolve_people(Mentions(*cols[:5], masked, *cols[6:]))
    seen = resolve_people(Mentions(*cols))
    people_per_name: dict[str, set[str]] = defaultdict(set)
    for i in test:
        people_per_name[name_key(cols[4][i])].add(true_ids[i])
    shared = [i for i in test if len(people_per_name[name_key(cols[4][i])]) >= 2]
    return {
        "venue_years": [f"{v} {y}" for v, y in test_years],
        "ids_hidden": _score(blind, true_ids, test),
        "ids_hidden_shared_names": _score(blind, true_ids, shared),
        "ids_present": _score(seen, true_ids, test),
    }


def _score(predicted: list[str], truth: list[str | None], items: list[int]) -> dict:
    p = [predicted[i] for i in items]
    t = [truth[i] for i in items]
    precision, recall, f1 = bcubed(p, t)
    true_people, predicted_people = len(set(t)), len(set(p))
    return {"authorships": len(items), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "true_people": true_people, "predicted_people": predicted_people,
            "people_error": round((predicted_people - true_people) / true_people, 4) if true_people else 0.0}
