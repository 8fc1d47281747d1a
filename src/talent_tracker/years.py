"""Year selections such as `2019`, `2010-2019` or `2010-2012,2019`."""

from __future__ import annotations

from talent_tracker.errors import UserError

EARLIEST, LATEST = 1950, 2100


def parse_years(text: str) -> list[int]:
    """The sorted years a selection names; a clear UserError for anything impossible."""
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        start_text, dash, end_text = part.partition("-")
        try:
            start = int(start_text)
            end = int(end_text) if dash else start
        except ValueError:
            raise UserError(f"year range {text!r}: {part!r} is not a year or a range like 2010-2019") from None
        if start > end:
            raise UserError(f"year range {text!r}: {start} comes after {end}")
        if start < EARLIEST or end > LATEST:
            raise UserError(f"year range {text!r}: years must lie between {EARLIEST} and {LATEST}")
        years.update(range(start, end + 1))
    if not years:
        raise UserError(f"year range {text!r} names no year")
    return sorted(years)
