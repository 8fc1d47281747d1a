"""Who makes a request, and what blind annotation hides from them.

A request is made by a user when it carries their token (`Authorization: Bearer`) or a
live session cookie (security.Sessions); anyone else is anonymous. With `serve --annotate
--blind`, `Access.blind_for` is the one rule every path follows: everyone but reviewers
and admins, anonymous visitors of the public pages and API included, sees neither the
settled annotations nor other analysts' entries, nor any figure made from them. The
functions below say what such a viewer gets instead; without --blind nothing is hidden.
"""

from __future__ import annotations

from starlette.requests import Request

from talent_tracker.annotations import workflow
from talent_tracker.store.workspace import Workspace
from talent_tracker.web.security import Sessions

HIDDEN = ("Hidden while annotation is blind (serve --blind): figures made from analysts' values are shown to "
          "reviewers and admins only; sign in as one at /annotate, or send their token.")


class Viewer:
    """Who makes a request, and how (a session cookie, or a bearer token: `session` None)."""

    def __init__(self, user: workflow.User, session: dict | None):
        self.user, self.session = user, session


class Access:
    """The users of one workspace, as requests present them, and what blind annotation hides."""

    def __init__(self, workspace: Workspace, sessions: Sessions, blind: bool):
        self.workspace, self.sessions, self.blind = workspace, sessions, blind

    def identify(self, request: Request) -> Viewer | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = workflow.authenticate(self.workspace.connection(), header[7:].strip())
            return Viewer(user, None) if user else None
        session = self.sessions.read(request.cookies.get(self.sessions.cookie))
        if session is None:
            return None
        found = workflow.user_named(self.workspace.connection(), session["u"])
        if found is None or found[1][:16] != session["k"]:
            return None  # the user is gone, or has a new token since
        return Viewer(found[0], session)

    def blind_for(self, who: Viewer | None) -> bool:
        """Whether settled values and other analysts' entries are hidden from `who` (None: anonymous)."""
        return self.blind and (who is None or not who.user.may("review"))

    def hides(self, request: Request) -> bool:
        return self.blind_for(self.identify(request)) if self.blind else False


def nothing_hidden(request: Request) -> bool:
    """`Access.hides` of a server without annotation: it shows what the workspace holds."""
    return False


def hidden_analysis(result: dict) -> dict:
    """An analysis made from analysts' values, as a blind viewer gets it: its title and
    population, no rows, and why."""
    return {**result, "columns": [], "rows": [], "method": "unavailable", "notes": [HIDDEN], "sample_size": None,
            "coverage": 0.0}


def hidden_country(profile: dict) -> dict:
    """A country's profile without its origin mix (the one part analysts' values make)."""
    return {**profile, "origin_mix": hidden_analysis(profile["origin_mix"])}


def hidden_comparison(result: dict) -> dict:
    """The comparison with the published tracker keeping only what the build alone makes (work
    countries): every other figure is estimated from analysts' values."""
    if "figures" not in result or not result["figures"]:
        return result
    figures = [f if f["measure"] == "work country" else {
        **f, "tracker": None, "low": None, "high": None, "difference": None, "method": "unavailable",
        "coverage": 0.0, "people": None, "population_size": None, "flag": None, "status": HIDDEN}
        for f in result["figures"]]
    return {**result, "figures": figures, "available": sum(1 for f in figures if f["tracker"] is not None)}
