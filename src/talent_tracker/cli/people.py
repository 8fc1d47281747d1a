"""Commands of person resolution: the `people` group, `people overrides` (analysts'
same/different-person decisions, kept in the workspace) and `people train` (the people
model), and `evaluate-people` (the model's cross-validation against OpenReview ids).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from talent_tracker.cli import render
from talent_tracker.cli.app import Backend, DbOption, Group, JsonOption, Typer, app
from talent_tracker.store import database, reading
from talent_tracker.store.schema import DEFAULT_DB

people_app = Typer(cls=Group, help="People: analysts' decisions on who is whom.", no_args_is_help=True)
app.add_typer(people_app, name="people")
overrides_app = Typer(cls=Group, help="Same/different-person decisions, kept in the workspace and applied by every build.",
                      no_args_is_help=True)
people_app.add_typer(overrides_app, name="overrides")


@overrides_app.command("import")
def overrides_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns decision,authorship_a,authorship_b,note.")],
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Keep analysts' same/different decisions in the workspace (the next build applies them)."""
    from talent_tracker.annotations.overrides import import_overrides
    from talent_tracker.people.clusters import load_overrides

    rows = load_overrides(file)
    with reading.Tracker(db) as tracker:
        with tracker.reader():
            pass  # the database must exist: its workspace sits beside it
        changed = import_overrides(tracker.workspace(create=True), rows, str(file))
    render.say(f"{file}: {len(rows)} decisions, {changed} new or changed; run `talent-tracker build` to apply them")


@overrides_app.command("list")
def overrides_list(
    db: DbOption = Path(DEFAULT_DB),
    as_json: JsonOption = False,
) -> None:
    """The decisions kept in the workspace."""
    with reading.Tracker(db) as tracker:
        with tracker.reader():
            pass  # the database must exist: its workspace sits beside it
        rows = tracker.workspace(create=True).rows("SELECT * FROM person_overrides ORDER BY created_at, authorship_a")
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = render.table("People overrides (workspace)", ("decision", "authorship_a", "authorship_b", "note", "by", "at"))
    for r in rows:
        render.row(table, r["decision"], r["authorship_a"], r["authorship_b"], r["note"], r["actor"], r["created_at"])
    render.out.print(table)


@app.command("evaluate-people")
def evaluate_people(
    db: DbOption = Path(DEFAULT_DB),
    people_backend: Annotated[Backend, typer.Option("--people-backend", help="Where the people model runs: duckdb (embedded) or spark.")] = "duckdb",
    as_json: JsonOption = False,
    old_backend: Annotated[Optional[Backend], typer.Option("--backend", hidden=True, help="Deprecated: --people-backend.")] = None,
) -> None:
    """Cross-validate person resolution against OpenReview ids.

    Per venue-year with ids: trained and tuned on the others, scored on it with its ids
    hidden. Across years: trained on the earlier years, scored on the later ones together."""
    from talent_tracker.people.evaluation import evaluate

    if old_backend is not None:
        render.deprecated("--backend", "--people-backend")
        people_backend = old_backend
    report = evaluate(db, people_backend)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    columns = ("held out", "trained on", "threshold", "authorships", "precision", "recall", "F1", "shared-name F1",
               "true people", "predicted", "error")
    table = render.table("Person resolution, venue-year cross-validation against OpenReview ids", columns,
                         right=columns[2:])
    for fold in report["folds"]:
        render.row(table, fold["held_out"], ", ".join(fold["trained_on"]), f"{fold['threshold']:g}",
                   f"{fold['authorships']:,}", f"{fold['precision']:.4f}", f"{fold['recall']:.4f}", f"{fold['f1']:.4f}",
                   f"{fold['shared_f1']:.4f}", f"{fold['true_people']:,}", f"{fold['predicted_people']:,}",
                   f"{fold['people_error']:+.2%}")
    render.out.print(table)
    if report["across_years"]:
        first = report["across_years"][0]
        table = render.table(f"Across years: trained on {', '.join(first['trained_on'])} (threshold "
                             f"{first['threshold']:g}), scored on the later years together",
                             ("scored on", "built", *columns[3:]), right=columns[3:])
        for fold in report["across_years"]:
            render.row(table, fold["venue_year"], fold["built"], f"{fold['authorships']:,}", f"{fold['precision']:.4f}",
                       f"{fold['recall']:.4f}", f"{fold['f1']:.4f}", f"{fold['shared_f1']:.4f}",
                       f"{fold['true_people']:,}", f"{fold['predicted_people']:,}", f"{fold['people_error']:+.2%}")
        render.out.print(table)
    present = ", ".join(f"{s['venue_year']} F1 {s['f1']:.4f}" for s in report["ids_present"])
    render.say(f"with every id visible (the shipped model): {present}")


@people_app.command("train")
def people_train(
    db: DbOption = Path(DEFAULT_DB),
    output: Annotated[Path, typer.Option("--output", metavar="FILE", help="Model file to write (the packaged one is src/talent_tracker/people/people_model.json).")] = Path("people_model.json"),
) -> None:
    """Train the people model on the venue-years with OpenReview ids and tune its threshold.

    A build then only predicts and clusters: build --people-model FILE."""
    from talent_tracker.people.evaluation import train_model

    database.check_output_file(output)
    model = train_model(db)
    model.save(output)
    best = next(g for g in model.provenance["tuning"] if g["threshold"] == model.threshold)
    scores = "; ".join(f"{s['venue_year']} F1 {s['f1']:.4f}, shared-name F1 {s['shared_f1']:.4f}, people "
                       f"{s['people_error']:+.2%}" for s in best["scores"])
    render.say(f"trained on {', '.join(model.provenance['trained_on'])}: links at match weight {model.threshold:g} "
               f"({scores}, on the training venue-years built alone with their ids hidden); written to {output}")
