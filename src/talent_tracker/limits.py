"""Bounds on every input: no small file, long field or big request may exhaust the machine.

Each cap sits far above what the real data needs (the figure in the comment) and is
reported when it bites: as a counted skip in `skips` during a build, as a one-line error
for a file given on the command line, as a 413/422 answer on the web. Reading goes
through `bounded_stream`, which decompresses lazily and stops at the cap, so a gzip
bomb costs at most the cap, never the bomb.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import zlib
from pathlib import Path

from talent_tracker.errors import UserError

MiB = 1 << 20

# --- source files (a build) ------------------------------------------------------------
# decompressed size of one paper list or CSV (largest real list: 3.4 MB)
MAX_SOURCE_BYTES = 256 * MiB
# JSON text of one record of a JSON array (a paper, a poster, a university; largest real
# record: about 25 KB, with its abstract), with at most MAX_RECORD_VALUES values (real:
# about 100), its strings cut at MAX_STRING_CHARS (real: 16,262, an abstract); the
# parser's time grows with the square of one string's length, hence the byte cap
MAX_RECORD_BYTES = 16 * MiB
MAX_RECORD_VALUES = 100_000
MAX_STRING_CHARS = 1 * MiB
# nesting of any JSON the tracker reads (real: 4 levels in a profile answer)
MAX_JSON_DEPTH = 64
# a JSON array of at most this much text is decoded whole by the C decoder and checked
# after (jsonread._whole); larger ones are read event by event. Its values cost at most
# about 25 times the text (`[{},{},...]`): 200 MB at worst, against 3.4 MB of real text
MAX_WHOLE_JSON_BYTES = 8 * MiB
# values of one JSON document read whole: a profile file or an API answer (1,000
# OpenReview profiles: about 150,000); each costs about 100 bytes once built
MAX_DOCUMENT_VALUES = 3_000_000
# records in one paper list (largest real list: 4,965), rows in one CSV (real: 27,897)
MAX_RECORDS = 200_000
MAX_CSV_ROWS = 2_000_000
# author names plus per-author values (affiliations, domains, titles) in one file
# (largest real file: about 60,000)
MAX_FILE_VALUES = 1_000_000
# authors of one paper (real maximum: 69); the rest are dropped and counted
MAX_AUTHORS = 1_000
# one text value: a title, a name, one author's affiliation (real maximum: 1,749)
MAX_FIELD_CHARS = 2_000
# per file, cells of the evidence alignment of misaligned per-author lists (it costs
# authors x entries per paper; all of NeurIPS 2021 needs about 25,000)
ALIGNMENT_BUDGET = 5_000_000
# co-authors are evidence of identity on papers up to this size: on a hyper-authored
# paper a shared co-author says little, and comparing every pair costs the square
# of the team (real maximum: 69 authors)
MAX_COAUTHOR_TEAM = 100
# papers of one venue-year an entry of a listing or author file is compared with when
# its title or id gives none: those sharing a name with its authors (real maximum: 32
# papers per name); names on more papers tell none apart, and the entry stays unmatched
MAX_AUTHOR_CANDIDATES = 1_000

# mentions of one name key compared pair by pair (largest real block: 269, `yoshua
# bengio`); a larger block is compared in overlapping chunks (linkage._chunks)
MAX_NAME_BLOCK = 500

# --- files given to a command -----------------------------------------------------------
MAX_SHEET_BYTES = 16 * MiB  # annotation sheets, people overrides, `resolve --file`
MAX_SHEET_ROWS = 200_000
MAX_PROFILE_FILE_BYTES = 16 * MiB  # one OpenReview profile file
MAX_PROFILE_FILES = 200_000
MAX_UNIVERSITIES_BYTES = 64 * MiB  # the world-universities list (real: 2 MB decompressed)
MAX_SMALL_FILE_BYTES = 1 * MiB  # venues TOML

# --- answers of web APIs (`profiles fetch`) ----------------------------------------------
# one HTTP answer, as received and as kept in the cache (1,000 OpenReview profiles: about 5 MB)
MAX_RESPONSE_BYTES = 64 * MiB

# --- the web ---------------------------------------------------------------------------
MAX_REQUEST_BYTES = 64 * 1024  # body of any write request (an annotation is under 2 KB)
MAX_FORM_TEXT = 4_000  # notes; other form fields have their own, smaller caps
MAX_FORM_NAME = 300  # an institution name typed in a form
MAX_URL = 2_000
MAX_QUERY = 200  # autocomplete text


class TooLarge(Exception):
    """An input passed one of the caps above (the message says which)."""


class RecordTooLarge(TooLarge):
    """One record of a stream passed its cap (see BoundedReader.mark)."""


def human(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB and size % MiB == 0 else f"{size:,} bytes"


def regular_file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a regular file (None when it can): a FIFO or device
    would block or never end, a symlink loop never resolves."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found (a dangling link?)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    return None


class BoundedReader(io.RawIOBase):
    """A binary stream over `raw` that raises TooLarge past `limit` bytes.

    `mark()` starts a new record: more than `record_limit` bytes read without a new
    mark raise TooLarge too (the streaming JSON parser reads ahead in small chunks, so
    a record is bounded to within one chunk). A UTF-8 byte order mark is dropped.
    """

    def __init__(self, raw, limit: int, what: str, record_limit: int | None = None, closing=()):
        self.raw, self.limit, self.what, self.record_limit = raw, limit, what, record_limit
        self.closing = closing
        self.count = self.marked = 0
        self._first = True

    def readable(self) -> bool:
        return True

    def mark(self) -> None:
        self.marked = self.count

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        if self._first:
            self._first = False
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:] or self.raw.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise TooLarge(f"{self.what} larger than {human(self.limit)} (decompressed)")
        if self.record_limit is not None and self.count - self.marked > self.record_limit + len(buffer):
            raise RecordTooLarge(f"a record larger than {human(self.record_limit)}")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            for closable in (self.raw, *self.closing):
                closable.close()
        super().close()


def bounded_stream(path: Path, limit: int, what: str, record_limit: int | None = None) -> BoundedReader:
    """`path` decompressed if it ends in .gz, as a bounded binary stream (see BoundedReader).

    Raises OSError when the file cannot be opened (or is no regular file); reading raises
    TooLarge, or one of GZIP_ERRORS for a broken gzip file.
    """
    if not os.path.lexists(path):
        raise FileNotFoundError(errno.ENOENT, "not found", str(path))
    problem = regular_file_problem(path)
    if problem:
        raise OSError(problem)
    handle = open(path, "rb")  # noqa: SIM115 - closed with the reader
    if Path(path).suffix == ".gz":
        return BoundedReader(gzip.GzipFile(fileobj=handle, mode="rb"), limit, what, record_limit, (handle,))
    return BoundedReader(handle, limit, what, record_limit)


GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def read_text(path: Path, limit: int, what: str) -> str:
    """A whole text file (UTF-8, BOM accepted, .gz decompressed), bounded; one-line errors."""
    path = Path(path)
    try:
        with bounded_stream(path, limit, what) as stream:
            data = stream.read()
    except FileNotFoundError:
        raise UserError(f"{path}: {what} not found") from None
    except TooLarge as exc:
        raise UserError(f"{path}: {exc}") from None
    except GZIP_ERRORS as exc:
        raise UserError(f"{path}: {what} is not a complete gzip file ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def clip(text: str | None, limit: int = MAX_FIELD_CHARS) -> tuple[str | None, bool]:
    """`text` cut to `limit` characters, and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True


def cores() -> int:
    """The cores this process may use: a container's or taskset's limit, not the machine's
    (what the build's workers and the people model's DuckDB run on)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
