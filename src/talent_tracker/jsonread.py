"""Bounded JSON reading: every JSON file or answer the tracker reads goes through here.

Values are built from the parser's events (ijson's `basic_parse`, which is linear in
the depth of nesting), never by `json.loads` of an unbounded blob, so every cost is capped:
- nesting deeper than MAX_JSON_DEPTH drops the value (a record, or the document);
- a value of more than `max_values` JSON values is dropped, and no string is kept past
  `max_string` characters;
- bytes that are not UTF-8 are replaced (U+FFFD) before parsing, and an escaped lone
  surrogate (`"\\udc00"`, which the C parser cannot decode) makes the text be read
  again by ijson's pure-Python parser, which can, then replaced too;
- numbers are kept exactly (ints of any size, decimals as float), and one too large
  for a float (`1e400`) is read as null: the field is lost, not the record.
What is fixed is counted (`Notes`) for the caller to report. A text whose structure is
broken raises BadJSON with a one-line reason.

An array of at most MAX_WHOLE_JSON_BYTES of text (every real paper list) is first decoded
whole by the standard library's C decoder, three times faster than building values from
events in Python, and each element checked against the caps after (`_whole`). Whatever
the caps would change or drop, and whatever the two parsers might read differently (an
escaped surrogate, NaN, a number past a float, an integer past Python's digit limit,
text that is not an array), sends the text to the event reader instead: the values are
the same either way.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import ijson
import ijson.backends.python as python_backend
from ijson.common import ObjectBuilder

from talent_tracker.errors import UserError
from talent_tracker.limits import (
    GZIP_ERRORS,
    MAX_DOCUMENT_VALUES,
    MAX_JSON_DEPTH,
    MAX_RECORD_BYTES,
    MAX_RECORD_VALUES,
    MAX_RECORDS,
    MAX_STRING_CHARS,
    MAX_WHOLE_JSON_BYTES,
    BoundedReader,
    TooLarge,
    bounded_stream,
)

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")  # also matches a valid pair: then events read it
_STARTS, _ENDS = ("start_map", "start_array"), ("end_map", "end_array")


class BadJSON(ValueError):
    """Not JSON that can be read (the message says why, in one line)."""


@dataclass
class Notes:
    """What reading one value fixed rather than lost."""

    cut: int = 0  # strings cut at max_string
    replaced: int = 0  # bytes that are not UTF-8, and strings with lone surrogates, replaced
    numbers: int = 0  # numbers too large for a float, read as null

    def add(self, other: Notes) -> None:
        self.cut += other.cut
        self.replaced += other.replaced
        self.numbers += other.numbers


@dataclass
class Item:
    """One element of a top-level array: its value, or why it was dropped."""

    value: object
    notes: Notes = field(default_factory=Notes)
    dropped: str | None = None


class _Builder:
    """One value built from events within the caps; `dropped` says why it was given up."""

    def __init__(self, max_values: int, max_string: int):
        self.builder: ObjectBuilder | None = ObjectBuilder()
        self.max_values, self.max_string = max_values, max_string
        self.values, self.depth = 0, 0
        self.notes = Notes()
        self.dropped: str | None = None

    def event(self, event: str, value) -> None:
        if event in _STARTS:
            self.depth += 1
            if self.depth > MAX_JSON_DEPTH and self.builder is not None:
                self._drop(f"nested deeper than {MAX_JSON_DEPTH} levels")
        elif event in _ENDS:
            self.depth -= 1
        if self.builder is None:
            return  # dropped: the events are still counted for the depth
        self.values += 1
        if self.values > self.max_values:
            self._drop(f"more than {self.max_values:,} JSON values")
            return
        if isinstance(value, str):
            value = self._text(value)
        elif isinstance(value, Decimal):
            number = float(value)
            if math.isinf(number):
                number, self.notes.numbers = None, self.notes.numbers + 1
            value = number
        self.builder.event(event, value)

    def _text(self, value: str) -> str:
        if len(value) > self.max_string:
            value, self.notes.cut = value[: self.max_string], self.notes.cut + 1
        if _SURROGATE.search(value):
            value = _SURROGATE.sub("\ufffd", value)
            self.notes.replaced += 1
        return value

    def _drop(self, why: str) -> None:
        self.builder, self.dropped = None, why

    @property
    def value(self):
        return None if self.builder is None else self.builder.value


class Utf8Clean(io.RawIOBase):
    """`raw` (a binary stream) with every byte sequence that is not UTF-8 replaced by
    U+FFFD: one bad byte costs one character, not the file.

    With `digits`, a run of more digits than Python converts to an int (4,300) raises
    _Undecodable before the C parser sees it: ijson's C backend fails on such a number
    with a SystemError, or a crash of the process; the pure-Python one reports it."""

    def __init__(self, raw: BinaryIO, notes: Notes, digits: bool = False):
        self.raw, self.notes = raw, notes
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = b""
        limit = sys.get_int_max_str_digits() if digits else 0
        # the lookbehind starts a match only where a run starts: linear in the text
        self.long_digits = re.compile(rb"(?<![0-9])[0-9]{%d}" % (limit + 1)) if limit else None
        self.digits_before = b""  # the digits that ended the last chunk (a run may span two)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.raw.read(len(buffer))
            final = not chunk
            text = self.decoder.decode(chunk, final=final)
            if "\ufffd" in text:  # count the replacements, not U+FFFD that was there
                self.notes.replaced += max(0, text.count("\ufffd") - chunk.count(b"\xef\xbf\xbd"))
            self.pending = text.encode("utf-8")
            if self.long_digits is not None:
                self._check_digits(self.pending)
            if final:
                break
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size

    def _check_digits(self, data: bytes) -> None:
        joined = self.digits_before + data
        if self.long_digits.search(joined):
            raise _Undecodable
        end = len(joined)
        while end and 48 <= joined[end - 1] <= 57:  # at most the limit: no longer run is left
            end -= 1
        self.digits_before = joined[end:]


# bytes handed to the parser at a time: yajl lexes a token cut by a chunk's end again from
# its start when the next chunk comes, so one long string (escapes defeat its fast path)
# costs (length / chunk) x length: a string of a record's 16 MiB costs 0.3 s in 4 MiB chunks
CHUNK = 4 << 20


def _events(stream: BinaryIO, slow: bool, notes: Notes, chunk: int = CHUNK) -> Iterator[tuple[str, object]]:
    parse = python_backend.basic_parse if slow else ijson.basic_parse
    try:
        yield from parse(io.BufferedReader(Utf8Clean(stream, notes, digits=not slow), chunk), buf_size=chunk)
    except ijson.JSONError as exc:
        text = str(exc).strip().splitlines()
        raise BadJSON(f"not valid JSON ({text[0][:200] if text else type(exc).__name__})") from None
    except UnicodeDecodeError:
        if slow:
            raise BadJSON("not valid JSON (text that cannot be decoded)") from None
        raise _Undecodable from None


class _Undecodable(Exception):
    """The C parser met an escape it cannot decode (a lone surrogate), or would meet a number
    it cannot convert: read again, slowly."""


Opener = Callable[[], BinaryIO]


def iter_array(open_stream: Opener, max_values: int, max_string: int = MAX_STRING_CHARS,
               max_items: int | None = None, on_item: Callable[[], None] | None = None,
               notes: Notes | None = None) -> Iterator[Item]:
    """The elements of the JSON array `open_stream()` holds, one at a time.

    An element past a cap is yielded as dropped; the caller counts it. Raises BadJSON
    when the text is not an array or its structure is broken, TooLarge past `max_items`.
    `open_stream` is called again (and the elements already yielded skipped) if the text
    must be read with the slow parser. `on_item` is called after each element (a bounded
    stream's mark: see limits.BoundedReader). Bytes replaced outside any element's
    strings are counted in `notes`.
    """
    done = 0
    for parser in ("whole", "events", "slow events"):
        stream_notes = Notes()
        try:
            with open_stream() as stream:
                found = (_whole(stream, max_values, max_string, stream_notes) if parser == "whole"
                         else _items(stream, parser == "slow events", max_values, max_string, stream_notes))
                if found is None:
                    continue  # not for the whole-text decoder: read again, by events
                for index, item in enumerate(found):
                    if max_items is not None and index >= max_items:
                        raise TooLarge(f"more than {max_items:,} records")
                    if on_item is not None:
                        on_item()
                    if index >= done:
                        done += 1
                        yield item
            if notes is not None:
                notes.add(stream_notes)
            return
        except _Undecodable:
            continue


def _whole(stream, max_values: int, max_string: int, notes: Notes) -> list[Item] | None:
    """The elements of a small array decoded whole, or None when the event reader must
    read it (see the module docstring)."""
    try:
        raw = io.BufferedReader(Utf8Clean(stream, notes), CHUNK).read(MAX_WHOLE_JSON_BYTES + 1)
    except (TooLarge, OSError, *GZIP_ERRORS):  # the event reader keeps the elements before it
        return None
    if len(raw) > MAX_WHOLE_JSON_BYTES or _ESCAPED_SURROGATE.search(raw):
        return None
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except (ValueError, RecursionError):  # broken, or deeper than the C decoder goes
        return None
    if type(value) is not list or not all(_within_caps(x, max_values, max_string) for x in value):
        return None
    return [Item(x) for x in value]


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")


_INFINITY = float("inf")


def _within_caps(value, max_values: int, max_string: int) -> bool:
    """Would the event builder keep `value` as it is? The same count of values (one per
    event: a container's start and end, a key, a scalar), nesting, string lengths, and no
    number past a float. Level by level, so nesting costs no recursion."""
    values, depth, level = 0, 0, [value]
    while level:
        depth += 1
        below = []
        for x in level:
            kind = type(x)
            if kind is dict:
                values += 2 + len(x)
                if x and max(map(len, x)) > max_string:
                    return False
                below.extend(x.values())
            elif kind is list:
                values += 2
                below.extend(x)
            else:
                values += 1
                if kind is str:
                    if len(x) > max_string:
                        return False
                elif kind is float and (x == _INFINITY or x == -_INFINITY):
                    return False
        if values > max_values:
            return False
        if depth >= MAX_JSON_DEPTH and any(type(x) is dict or type(x) is list for x in below):
            return False
        level = below
    return True


def _items(stream, slow: bool, max_values: int, max_string: int, notes: Notes) -> Iterator[Item]:
    depth = 0
    builder: _Builder | None = None
    for event, value in _events(stream, slow, notes):
        if depth == 0:
            if event != "start_array":
                kind = {"start_map": "an object", "string": "a string"}.get(event, "no array")
                raise BadJSON(f"expected a JSON array, found {kind}")
            depth = 1
            continue
        if builder is None:
            if event == "end_array":
                return
            builder = _Builder(max_values, max_string)
        builder.event(event, value)
        if builder.depth == 0:  # the element is complete
            yield Item(builder.value, builder.notes, builder.dropped)
            builder = None


def load(open_stream: Opener, max_values: int, max_string: int = MAX_STRING_CHARS,
         chunk: int = CHUNK) -> tuple[object, Notes]:
    """The whole JSON document `open_stream()` holds, within the caps (BadJSON past one)."""
    for slow in (False, True):
        try:
            with open_stream() as stream:
                builder = _Builder(max_values, max_string)
                for event, value in _events(stream, slow, builder.notes, chunk):
                    builder.event(event, value)
            if builder.dropped:
                raise BadJSON(builder.dropped)
            if builder.values == 0:
                raise BadJSON("empty: no JSON value")
            return builder.value, builder.notes
        except _Undecodable:
            continue
    raise AssertionError("unreachable")


def loads(data: bytes | str, max_values: int, max_string: int = MAX_STRING_CHARS) -> tuple[object, Notes]:
    """`load` of text held in memory (an API answer, one line of a JSON-lines file)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    # in one chunk: the text is held already, and no token is lexed twice
    return load(lambda: io.BytesIO(raw), max_values, max_string, max(CHUNK, len(raw)))


def array_file(path: Path, max_bytes: int, what: str, max_values: int = MAX_RECORD_VALUES,
               max_items: int = MAX_RECORDS, notes: Notes | None = None) -> Iterator[Item]:
    """`iter_array` over a file (.gz decompressed), at most `max_bytes` decompressed and
    MAX_RECORD_BYTES per element. Raises one of FILE_ERRORS when it cannot be read whole."""
    opened: list[BoundedReader] = []

    def open_stream() -> BoundedReader:
        opened[:] = [bounded_stream(path, max_bytes, what, MAX_RECORD_BYTES)]
        return opened[0]

    yield from iter_array(open_stream, max_values, max_items=max_items, on_item=lambda: opened[0].mark(),
                          notes=notes)


FILE_ERRORS = (TooLarge, BadJSON, OSError, *GZIP_ERRORS)


def describe(exc: Exception) -> str:
    """One of FILE_ERRORS, in a few words."""
    if isinstance(exc, GZIP_ERRORS):
        return f"not a complete gzip file ({exc})"
    if isinstance(exc, OSError):
        return f"cannot be read ({exc.strerror or exc})"
    return str(exc)


def document_file(path: Path, max_bytes: int, what: str, max_values: int = MAX_DOCUMENT_VALUES) -> object:
    """The JSON document in a file given to a command, bounded; UserError in one line."""
    path = Path(path)
    try:
        value, _ = load(lambda: bounded_stream(path, max_bytes, what), max_values)
    except FileNotFoundError:
        raise UserError(f"{path}: {what} not found") from None
    except FILE_ERRORS as exc:
        raise UserError(f"{path}: {what}: {describe(exc)}") from None
    return value
