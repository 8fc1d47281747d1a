"""Commands of the analysts' annotation work: `users` (accounts and their tokens),
`careers` (importing annotation sheets, and the history of a person's annotations) and
`profiles` (career evidence fetched from OpenReview, ORCID and OpenAlex).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.text import Text

from talent_tracker.cli import render
from talent_tracker.cli.app import (
    DbOption,
    Group,
    JsonOption,
    Role,
    Stage,
    Typer,
    UniversitiesOption,
    app,
    universities_of,
)
from talent_tracker.store import reading
from talent_tracker.store.schema import DEFAULT_DB

users_app = Typer(cls=Group, help="Annotation accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role, typer.Option("--role", help="annotator: annotates; reviewer: also reviews; admin: also exports.")] = "annotator",
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Create a user (or renew their token) and print the token: it is shown only once.

    Works while the server runs (the workspace takes concurrent writers); a new token
    ends the user's signed-in sessions."""
    from talent_tracker.annotations import add_user
    from talent_tracker.store.workspace import cli_actor

    with reading.Tracker(db) as tracker:
        with tracker.reader():
            pass  # the database must exist: its workspace sits beside it
        token = add_user(tracker.workspace(create=True), name, role, cli_actor())
    sys.stdout.write(token + "\n")
    render.err.print(Text(f"{name} ({role}): keep this token; it is stored only as a hash"))


careers_app = Typer(cls=Group, help="Career annotations: import analysts' sheets.", no_args_is_help=True)
app.add_typer(careers_app, name="careers")


@careers_app.command("import")
def careers_import(
    sheet: Annotated[Path, typer.Argument(help="Annotation sheet (CSV).")],
    db: DbOption = Path(DEFAULT_DB),
    annotator: Annotated[Optional[str], typer.Option("--annotator", metavar="NAME", show_default=False, help="Whose entries the sheet's rows are (a web user's name merges them with that user's entries); default: cli:<your login>.")] = None,
    universities: UniversitiesOption = None,
) -> None:
    """Validate an annotation sheet and import its good rows as the analyst's entries (bad
    rows are reported, not imported). Nobody else's entries change: where they differ, the
    stage awaits a reviewer's decision."""
    from talent_tracker.annotations import import_sheet
    from talent_tracker.institutions import load_resolver

    resolver, warning = load_resolver(universities_of(universities, db))
    with reading.Tracker(db) as tracker:
        report = import_sheet(tracker, sheet, resolver, annotator=annotator)
    if warning:
        render.warn(warning)
    for problem in report.problems:
        render.err.print(f"[yellow]not imported:[/] {escape(render.one_line(f'{sheet.name} {problem}'))}", highlight=False)
    render.say(f"{sheet}: {report.rows} rows; {report.imported} stage entries imported or changed, "
               f"{report.unchanged} people unchanged; {len(report.problems)} problems")
    if report.problems:
        raise typer.Exit(1)


@careers_app.command("history")
def careers_history(
    person_id: Annotated[str, typer.Argument(help="Person id (see `person`).")],
    db: DbOption = Path(DEFAULT_DB),
    stage: Annotated[Optional[Stage], typer.Option("--stage", show_default=False, help="Only this stage.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every change to a person's annotations, oldest first: each analyst's saves and sheet
    imports, and reviewers' decisions, with the values before and after."""
    from talent_tracker.annotations.workflow import history

    with reading.Tracker(db) as tracker:
        workspace = tracker.workspace()
        changes = history(workspace.connection(), person_id) if workspace is not None else []
    changes = [c for c in changes if stage is None or c["stage"] == stage]
    if as_json:
        sys.stdout.write(json.dumps(changes, indent=2) + "\n")
        return
    if not changes:
        render.say(f"no annotation of {person_id} yet")
        return
    table = render.table(f"Annotations of {person_id}: every change, oldest first",
                         ("when", "who", "stage", "before", "after", "how"))
    for c in changes:
        if c["action"] == "decide":
            how, who = f"review: took {c['annotator']}'s value", c["actor"]
        else:
            how = f"{c['action']} v{c['version']} ({c['via']})"
            who = c["annotator"] if c["actor"] == c["annotator"] else f"{c['annotator']} (by {c['actor']})"
        render.row(table, c["at"][:19].replace("T", " "), who, c["stage"], c["before"] or render.MISSING, c["after"] or render.MISSING, how)
    render.out.print(table)


profiles_app = Typer(cls=Group, help="Profiles: career evidence from OpenReview, ORCID and OpenAlex.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


@profiles_app.command("fetch")
def profiles_fetch(
    db: DbOption = Path(DEFAULT_DB),
    offline: Annotated[bool, typer.Option("--offline", help="Use only what is cached; report the rest as missing.")] = False,
    sources: Annotated[str, typer.Option("--sources", metavar="LIST", help="Comma-separated, of openreview, orcid and openalex.")] = "openreview,orcid,openalex",
    openreview_token: Annotated[Optional[str], typer.Option("--openreview-token", envvar="OPENREVIEW_TOKEN", help="OpenReview API token (sent as a Bearer token; guests may be refused).")] = None,
    openalex_key: Annotated[Optional[str], typer.Option("--openalex-key", envvar="OPENALEX_API_KEY", help="OpenAlex API key (raises its daily budget).")] = None,
    mailto: Annotated[Optional[str], typer.Option("--mailto", metavar="EMAIL", help="Contact e-mail sent to OpenAlex.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", metavar="N", min=1, help="Only the first N people (a trial run); default: everyone.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", metavar="N", min=0, help="Send no request after N minutes (what was fetched is cached: run again to resume); default: no limit.")] = None,
) -> None:
    """Fetch the public profiles of the database's people into NAME.profiles/ (cached, resumable); the next build uses them."""
    from talent_tracker.careers.profiles.fetch import Progress as FetchProgress
    from talent_tracker.careers.profiles.fetch import fetch_profiles

    class Bars(FetchProgress):
        def __init__(self, bars: Progress):
            self.bars, self.task = bars, None

        def start(self, total: int, what: str) -> None:
            if self.task is not None:
                self.bars.update(self.task, visible=False)
            self.task = self.bars.add_task(what, total=total)

        def advance(self, count: int = 1) -> None:
            self.bars.advance(self.task, count)

    chosen = [s.strip() for s in sources.split(",") if s.strip()]
    try:
        with render.bars("{task.description}") as bars, reading.Tracker(db) as tracker:
            summary = fetch_profiles(tracker, limit, sources=chosen, offline=offline, openreview_token=openreview_token,
                                     openalex_key=openalex_key, mailto=mailto, progress=Bars(bars),
                                     max_seconds=None if max_minutes is None else max_minutes * 60)
    except KeyboardInterrupt:
        render.fail("interrupted; what was fetched is cached: run the command again to continue", 130)
    for tally in summary.tallies.values():
        skipped = sum(tally.skipped.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in tally.skipped.most_common(3))
        render.say(f"{tally.source}: {tally.requested:,} requested, {tally.fetched:,} fetched, {tally.cached:,} from cache, "
                   f"{tally.not_found:,} not found, {tally.failed:,} failed"
                   + (f", {tally.missing:,} not in the cache (offline)" if tally.missing else "")
                   + (f", {tally.out_of_time:,} not asked (out of time)" if tally.out_of_time else "")
                   + f"; {tally.records:,} records, {skipped:,} skipped" + (f" ({reasons})" if skipped else ""))
        for reason in tally.errors:
            render.warn(f"{tally.source}: {reason}")
    render.say(f"{summary.people:,} people; {summary.sent:,} requests sent, {summary.hits:,} answers from the cache; "
               f"records in {summary.folder}; the next `talent-tracker build --db {db}` uses them")
    for reason in summary.stopped:
        render.warn(reason)
    if summary.incomplete:
        raise typer.Exit(1)
