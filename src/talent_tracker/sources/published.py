"""The published tracker's figures, as the data folder holds them (`published/macropolo_tracker.csv`).

A build keeps them in the database (table `published_figures`); figures/compare.py puts
each beside the tracker's own figure.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from talent_tracker.errors import UserError
from talent_tracker.limits import MAX_SHEET_BYTES, read_text

COLUMNS = ("edition", "population", "tier", "measure", "category", "percent", "note", "source")
FILE = Path("published") / "macropolo_tracker.csv"


def read_published(path: Path) -> list[dict]:
    """The published figures file: one dict per row, `percent` a number."""
    text = read_text(Path(path), MAX_SHEET_BYTES, "published figures file")
    reader_ = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader_.fieldnames or ()) != COLUMNS:
        raise UserError(f"{path}: expected the columns {','.join(COLUMNS)}")
    rows = []
    for line, row in enumerate(reader_, start=2):
        try:
            rows.append({**row, "edition": int(row["edition"]), "percent": float(row["percent"])})
        except (TypeError, ValueError):
            raise UserError(f"{path} line {line}: edition and percent must be numbers") from None
    return rows
