"""The records every source yields: papers with their authorships, and skips."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Authorship:
    position: int  # counts from 1, in the order the source lists the authors
    name: str
    openreview_id: str | None = None
    email: str | None = None
    email_domain: str | None = None
    affiliation: str | None = None
    job_title: str | None = None
    # how the per-author fields were matched to this author (see sources/alignment.py)
    alignment: str | None = None
    # where the affiliation came from: `list` (the source's own per-author field),
    # `profile_year` (the same profile's other papers that year), `neurips2022-schedule`,
    # `neurips-accepted` (the official 2019/2020 pages), `paperlists-authors` (the author files)
    affiliation_source: str | None = None
    # the source's own normalised institutions/countries: an answer key for judging
    # our resolver, never an input to it
    source_institutions: list[str] | None = None
    source_countries: list[str] | None = None
    # the author's profile links as (kind, URL) (links.KINDS; from the author files)
    links: tuple[tuple[str, str], ...] = ()
    # a later source's (affiliation, e-mail domain) where an earlier one already gave the
    # affiliation: never used as the author's, kept to measure how often sources agree
    second_affiliation: tuple[str, str | None] | None = None


@dataclass(slots=True)
class Paper:
    venue: str
    year: int
    paper_id: str
    title: str
    track: str | None
    status: str | None
    source: str
    source_file: str
    record: str  # where in the file: array index or CSV line
    url: str | None = None
    authors: list[Authorship] = field(default_factory=list)
    # the source lists only accepted papers and carries no decision label
    listed_as_accepted: bool = False


@dataclass(frozen=True)
class Skip:
    """Something left out of the build, counted and reported, never silent.

    scope: `file` (a whole file), `record` (one paper or CSV row), `field` (part of a
    record: e.g. per-author entries that could not be matched to an author), `label`
    (a paper kept but not counted as accepted because its label is missing or unknown),
    `merge` (a duplicate record folded into another record of the same paper).
    """

    source_file: str
    scope: str
    reason: str
    detail: str = ""
    venue: str | None = None
    year: int | None = None
    record: str | None = None
    count: int = 1


@dataclass(frozen=True)
class UnalignedEntry:
    """A per-author value that no rule could match to an author: kept, not guessed."""

    venue: str
    year: int
    paper_id: str
    field: str
    entry_index: int  # counts from 1
    value: str
