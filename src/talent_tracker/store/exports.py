"""Exports: one table of the database or its workspace as CSV, Parquet or JSON, with
spreadsheet formulas neutralised in every CSV cell."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from pathlib import Path

import duckdb

from talent_tracker.errors import UserError
from talent_tracker.store import workspace as workspaces
from talent_tracker.store.database import check_output_file, first_line, sql_text
from talent_tracker.store.reading import Tracker
from talent_tracker.store.schema import BUILD_TABLES, ORDER, SCHEMAS, SNAPSHOT_TABLES

EXPORTABLE = (*BUILD_TABLES, "career_stages", *workspaces.TABLES)
EXPORT_FORMATS = ("csv", "parquet", "json")


def export_table(tracker: Tracker, table: str, fmt: str, output: Path) -> int:
    """Write one table to csv, parquet or json (an array of objects); returns the row count.

    CSV cells that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or
    carriage return) are written with a leading `'`.
    """
    options = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet", "json": "FORMAT json, ARRAY true"}
    if fmt not in options:
        raise UserError(f"unknown export format {fmt!r} (choose csv, parquet or json)")
    if table not in EXPORTABLE:
        raise UserError(f"no table {table!r} (tables: {', '.join(EXPORTABLE)})")
    output = Path(output)
    check_output_file(output)
    with tracker.reader() as con:
        if table in workspaces.TABLES and table not in SNAPSHOT_TABLES:
            workspace = tracker.workspace(create=True)
            con.register("exported", workspace.table(table, SCHEMAS[table]))
            source = "exported"
        else:
            source = f'"{table}"'
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        select = ", ".join(_csv_safe(name) if fmt == "csv" and kind == "VARCHAR" else f'"{name}"'
                           for name, kind, *_ in described)
        order = ORDER.get(table, "ALL")
        tmp = output.with_name(f".{output.name}.tmp")
        try:
            con.execute(f"COPY (SELECT {select} FROM {source} ORDER BY {order}) TO '{sql_text(str(tmp))}' "
                        f"({options[fmt]})")
            os.replace(tmp, output)
        except (duckdb.IOException, OSError) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise UserError(f"{output}: cannot be written ({first_line(exc)})") from None
        return con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]


def csv_safe(value):
    """A CSV cell a spreadsheet will not run as a formula: text starting with `=`, `+`,
    `-`, `@`, a tab or a carriage return gets a leading `'` (names, titles and
    affiliations come from source data anyone can write into); other values are kept."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(columns, rows) -> str:
    """The one CSV rendering of rows for a download: a header, then each cell as text a
    spreadsheet shows as it is (csv_safe); empty for None, true/false, lists and objects as
    their JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([csv_safe(_cell(value)) for value in row] for row in rows)
    return buffer.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv_safe(column: str) -> str:
    """csv_safe as SQL, for a text column of an export."""
    return (f"""CASE WHEN regexp_matches("{column}", '^[=+\\-@\\t\\r]') THEN '''' || "{column}" """
            f"""ELSE "{column}" END AS "{column}\"""")
