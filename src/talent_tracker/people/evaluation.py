"""Person resolution measured on venue-years the model never saw: cross-validation
against OpenReview ids, and the training of the model a build uses.

The venue-years whose authorships mostly carry OpenReview profile ids (NeurIPS 2021-2024,
ICLR 2021-2023 and ICML 2025 in the snapshot) are the folds. For each fold, the model is
trained on the other folds only (m from pairs sharing their ids, u from random pairs, the
prior from their labels); its threshold is tuned on the other folds built alone with all
their ids hidden at once, scored together (a person split between two years is an error,
so the threshold answers for linking across years, not only within one); then the fold's own
ids are hidden (the others' stay visible, as ids are in a real build), every authorship
of the database is resolved again, and the fold is scored: B-cubed precision, recall and
F1 (Bagga & Baldwin 1998) over all its authorships and over those whose name two or more
true people share, and the error in the number of people. A threshold is never chosen
on the fold it is reported on.

Across years (`across_years`): trained on the earlier half of the years, scored on the
later venue-years together, in the database, built alone, and alone with names only.

`train_model` fits the model on every labelled venue-year and tunes its threshold the same
way (built alone, all their ids hidden); `talent-tracker people train` writes it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path

from talent_tracker import __version__
from talent_tracker.errors import UserError
from talent_tracker.names import name_key
from talent_tracker.people import linkage
from talent_tracker.people.clusters import Mentions, bcubed, link, prepare
from talent_tracker.store.reading import Tracker

COLUMNS = ("a.venue, a.year, a.paper_id, a.author_position, a.author_name, a.openreview_id, a.email, "
           "a.email_domain, a.institution_id, a.country, p.title")
# the match weights a threshold is chosen from
THRESHOLDS = tuple(float(t) for t in range(2, 15))


def load_mentions(db: Path) -> Mentions:
    with Tracker(db) as tracker, tracker.reader(with_workspace=False) as con:
        rows = con.execute(f"SELECT {COLUMNS} FROM authorships a JOIN papers p USING (venue, year, paper_id) "
                           "ORDER BY a.venue, a.year, a.paper_id, a.author_position").fetchall()
    if not rows:
        raise UserError(f"{db}: no authorships")
    return Mentions(*[list(c) for c in zip(*rows)])


def labelled_venue_years(mentions: Mentions) -> list[tuple[str, int]]:
    """Venue-years where most authorships carry an OpenReview id."""
    total, with_id = defaultdict(int), defaultdict(int)
    for v, y, t in zip(mentions.venue, mentions.year, mentions.openreview_id):
        total[(v, y)] += 1
        with_id[(v, y)] += bool(t)
    found = sorted(k for k in total if with_id[k] * 2 >= total[k])
    if not found:
        raise UserError("no venue-year of this database carries OpenReview ids: nothing to learn or measure from")
    return found


def hide(mentions: Mentions, venue_years) -> Mentions:
    hidden = set(venue_years)
    return replace(mentions, openreview_id=[None if (v, y) in hidden else t for v, y, t in
                                            zip(mentions.venue, mentions.year, mentions.openreview_id)])


def score(predicted: list[str], mentions: Mentions, venue_years) -> dict:
    """B-cubed scores of the labelled authorships of `venue_years` taken together (a person
    split between two years is a recall error), overall and on shared names."""
    wanted = set(venue_years)
    items = [i for i, (v, y, t) in enumerate(zip(mentions.venue, mentions.year, mentions.openreview_id))
             if (v, y) in wanted and t]
    truth = mentions.openreview_id
    per_name: dict[str, set] = defaultdict(set)
    for i in items:
        per_name[name_key(mentions.name[i])].add(truth[i])
    shared = [i for i in items if len(per_name[name_key(mentions.name[i])]) >= 2]
    p, r, f1 = bcubed([predicted[i] for i in items], [truth[i] for i in items])
    _, _, shared_f1 = bcubed([predicted[i] for i in shared], [truth[i] for i in shared])
    true_people, predicted_people = len({truth[i] for i in items}), len({predicted[i] for i in items})
    return {"venue_year": _label(venue_years), "authorships": len(items),
            "shared_name_authorships": len(shared), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(f1, 4), "shared_f1": round(shared_f1, 4), "true_people": true_people,
            "predicted_people": predicted_people,
            "people_error": round((predicted_people - true_people) / true_people, 4) if true_people else 0.0}


def _label(venue_years) -> str:
    return " + ".join(f"{v} {y}" for v, y in sorted(venue_years))


def objective(found: dict) -> float:
    """What a threshold is chosen by: the mean of the overall and the shared-name F1, less
    the relative error in the number of people."""
    return (found["f1"] + found["shared_f1"]) / 2 - abs(found["people_error"])


def tune(mentions: Mentions, model: linkage.Model, venue_years, backend: str = "duckdb") -> tuple[float, list[dict]]:
    """The threshold with the best objective on `venue_years` built alone with all their ids
    hidden, scored together: the same people across venues and years count, not only within
    one. Alone, because that is the hardest case a threshold must answer for (a venue-year
    without ids built by itself, as the model is checked) and the one where it decides most:
    in a database with ids elsewhere, the ids carry many of the links. Tuned in the database
    (ids of the other venue-years visible), the time split chose 9 and split 3.1% of the later
    people built alone; tuned alone it chooses 5 (docs/people.md)."""
    alone = _only(mentions, venue_years)
    blind = hide(alone, venue_years)
    edges = linkage.predict(linkage.features(blind), model, min(THRESHOLDS), backend)
    prepared = prepare(blind)
    grid = []
    for threshold in THRESHOLDS:
        pooled = score(link(blind, edges, threshold, prepared=prepared), alone, venue_years)
        grid.append({"threshold": threshold, "objective": round(objective(pooled), 5), "scores": [pooled]})
    best = max(grid, key=lambda g: (g["objective"], -g["threshold"]))
    return best["threshold"], grid


def fit(mentions: Mentions, table, venue_years, backend: str = "duckdb") -> linkage.Model:
    """Train on the ids of `venue_years` and tune the threshold there (see tune)."""
    allowed = set(venue_years)
    labels = [t if (v, y) in allowed else None for v, y, t in zip(mentions.venue, mentions.year, mentions.openreview_id)]
    parameters, prior = linkage.train(table, labels)
    model = linkage.Model(parameters, prior, threshold=min(THRESHOLDS))
    threshold, grid = tune(mentions, model, venue_years, backend)
    return replace(model, threshold=threshold, provenance={"tuning": grid})


def evaluate(db: Path, backend: str = "duckdb") -> dict:
    mentions = load_mentions(db)
    folds_of = labelled_venue_years(mentions)
    if len(folds_of) < 2:
        raise UserError(f"{db}: cross-validation needs two venue-years with OpenReview ids "
                        f"(found {', '.join(f'{v} {y}' for v, y in folds_of)})")
    # the pairs are scored as if no id were known: which ids are hidden changes with the fold
    # (a build skips the pairs two ids decide, see linkage.settings)
    table = linkage.features(hide(mentions, set(zip(mentions.venue, mentions.year))))
    prepared = prepare(mentions)
    folds = []
    for held_out in folds_of:
        training = [vy for vy in folds_of if vy != held_out]
        model = fit(mentions, table, training, backend)
        edges = linkage.predict(table, model, model.threshold, backend)
        predicted = link(hide(mentions, [held_out]), edges, model.threshold, prepared=prepared)
        folds.append({"held_out": f"{held_out[0]} {held_out[1]}", "trained_on": [f"{v} {y}" for v, y in training],
                      "threshold": model.threshold, **score(predicted, mentions, [held_out])})
    # with every id visible the answer must be the ids themselves
    shipped = linkage.Model.load()
    edges = linkage.predict(table, shipped, shipped.threshold, backend)
    seen = link(mentions, edges, shipped.threshold, prepared=prepared)
    present = [score(seen, mentions, [vy]) for vy in folds_of]
    return {"folds": folds, "across_years": across_years(mentions, table, prepared, folds_of, backend),
            "ids_present": present, "thresholds": list(THRESHOLDS), "backend": backend}


def across_years(mentions: Mentions, table, prepared, folds_of, backend: str) -> list[dict]:
    """The time split: trained and tuned on the earlier half of the years, scored on
    the later ones with their ids hidden, taken together (one person in 2023 and 2024 split
    in two is an error). Three ways: in the database with the earlier ids visible, as a
    real build has them; built alone (only the later venue-years, like a venue-year without
    ids built by itself); and alone with only names, co-authors and titles (no institution
    or e-mail), the poorest a source can be. Empty with fewer than two years."""
    years = sorted({y for _, y in folds_of})
    if len(years) < 2:
        return []
    cut = years[len(years) // 2 - 1]  # the earlier half: 2021-2022 of 2021-2025
    training = [vy for vy in folds_of if vy[1] <= cut]
    later = [vy for vy in folds_of if vy[1] > cut]
    model = fit(mentions, table, training, backend)
    edges = linkage.predict(table, model, model.threshold, backend)
    common = {"trained_on": [f"{v} {y}" for v, y in training], "threshold": model.threshold}
    found = [{"built": "with the rest", **common,
              **score(link(hide(mentions, later), edges, model.threshold, prepared=prepared), mentions, later)}]
    alone = _only(mentions, later)
    blind = hide(alone, later)
    groups = [[vy for vy in later if vy[0] == venue] for venue in sorted({v for v, _ in later})]
    for built, source in (("alone", blind), ("alone, names only", _names_only(blind))):
        predicted = link(source, linkage.predict(linkage.features(source), model, model.threshold, backend),
                         model.threshold)
        found.append({"built": built, **common, **score(predicted, alone, later)})
        if built == "alone":
            found += [{"built": built, **common, **score(predicted, alone, group)} for group in groups if len(group) > 1]
    return found


def _only(mentions: Mentions, venue_years) -> Mentions:
    wanted = set(venue_years)
    keep = [i for i, vy in enumerate(zip(mentions.venue, mentions.year)) if vy in wanted]
    return Mentions(*[None if values is None else [values[i] for i in keep]
                      for values in (getattr(mentions, f.name) for f in fields(Mentions))])


def _names_only(mentions: Mentions) -> Mentions:
    n = len(mentions.name)
    return replace(mentions, email=[None] * n, email_domain=[None] * n, institution_id=[None] * n, country=[None] * n)


def train_model(db: Path) -> linkage.Model:
    """The model a build uses: trained on every labelled venue-year of `db`."""
    mentions = load_mentions(db)
    venue_years = labelled_venue_years(mentions)
    table = linkage.features(mentions)
    model = fit(mentions, table, venue_years)
    import splink

    provenance = {
        "trained_on": [f"{v} {y}" for v, y in venue_years],
        "labelled_authorships": sum(1 for v, y, t in zip(mentions.venue, mentions.year, mentions.openreview_id)
                                    if t and (v, y) in set(venue_years)),
        "authorships": len(mentions.name), "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__, "splink_version": splink.__version__,
        "threshold_chosen_by": "the best objective (mean of overall and shared-name B-cubed F1, less the people "
                               "count error) on the training venue-years built alone with their ids hidden",
        "tuning": model.provenance["tuning"],
    }
    return replace(model, provenance=provenance)
