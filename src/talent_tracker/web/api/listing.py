"""The shape every list of the API answers in (`Page`): paging, and json, csv or parquet."""

from __future__ import annotations

import io
import json
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from talent_tracker.store import exports

FORMATS = ("json", "csv", "parquet")
MAX_PER_PAGE = 500
MAX_PAGE = 100_000
PARQUET = "application/vnd.apache.parquet"


# --- the shared shape of a list: paging and formats ------------------------------------------

Row = TypeVar("Row", bound=BaseModel)


class Page(BaseModel, Generic[Row]):
    rows: list[Row]
    total: int = Field(description="rows matching the request, over every page")
    page: int
    per_page: int
    next: str | None = Field(description="path and query of the next page; null on the last")


@dataclass
class Listing:
    """The paging and format of a list request (see `listing`), and its answer."""

    request: Request
    page: int
    per_page: int
    format: str

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def window(self, rows: list) -> list:
        return rows[self.offset:self.offset + self.per_page]

    def respond(self, name: str, model: type[BaseModel], rows: list[BaseModel], total: int,
                envelope: type[Page] | None = None, **extra) -> Response:
        more = self.offset + len(rows) < total
        url = self.request.url.include_query_params(page=self.page + 1)
        next_page = f"{url.path}?{url.query}" if more else None
        headers = {"X-Total-Count": str(total)}
        if next_page:
            headers["Link"] = f'<{next_page}>; rel="next"'
        if self.format == "json":
            body = (envelope or Page[model])(rows=rows, total=total, page=self.page, per_page=self.per_page,
                                             next=next_page, **extra)
            return Response(body.model_dump_json(), media_type="application/json", headers=headers)
        stem = name if self.page == 1 else f"{name}-page{self.page}"
        headers["Content-Disposition"] = f'attachment; filename="{stem}.{self.format}"'
        if self.format == "csv":
            return Response(_csv(model, rows), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(_parquet(model, rows), media_type=PARQUET, headers=headers)


async def listing(request: Request,
                  page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page, from 1")] = 1,
                  per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Rows per page")] = 50,
                  format: Annotated[str, Query(max_length=10, description="json, csv or parquet (the same rows)",
                                               json_schema_extra={"enum": list(FORMATS)})] = "json") -> Listing:
    if format not in FORMATS:
        raise HTTPException(status_code=400, detail=f"unknown format {format[:10]!r} (choose json, csv or parquet)")
    return Listing(request, page, per_page, format)


# async: it only reads the query, so it costs no trip through the thread pool
ListingQ = Annotated[Listing, Depends(listing)]


def _flat(value):
    """A cell of a csv or parquet row: lists of plain values stay lists for parquet, anything
    nested becomes its JSON text."""
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv(model: type[BaseModel], rows: list[BaseModel]) -> str:
    columns = list(model.model_fields)
    return exports.csv_text(columns, ([row.model_dump(mode="json")[c] for c in columns] for row in rows))


def _parquet(model: type[BaseModel], rows: list[BaseModel]) -> bytes:
    schema = pa.schema([(name, _arrow_type(field.annotation)) for name, field in model.model_fields.items()])
    data = [{k: _flat(v) for k, v in row.model_dump(mode="json").items()} for row in rows]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(data, schema=schema), buffer)
    return buffer.getvalue()


_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def _arrow_type(annotation) -> pa.DataType:
    """A field's parquet type: scalars as such, lists of scalars as lists, anything nested
    (objects, lists of objects) as its JSON text (see _flat)."""
    annotation = _optional_of(annotation)
    if typing.get_origin(annotation) is list:
        inner = _optional_of(typing.get_args(annotation)[0])
        return pa.list_(_SCALARS[inner]) if inner in _SCALARS else pa.string()
    return _SCALARS.get(annotation, pa.string())


def _optional_of(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation
