"""The bounded JSON reader, and every file reader that goes through it, on hostile text."""

from __future__ import annotations

import gzip
import json
import resource
import time
from pathlib import Path

import pytest

from talent_tracker import jsonread, limits
from talent_tracker.careers.profiles.openreview import read_profiles
from talent_tracker.careers.profiles.records import iter_records, path_for
from talent_tracker.errors import UserError
from talent_tracker.institutions import load_resolver
from talent_tracker.sources import schedule

pytestmark = pytest.mark.fast


def items(data: bytes, max_values: int = 1_000) -> list[jsonread.Item]:
    return list(jsonread.iter_array(lambda: _stream(data), max_values))


def _stream(data: bytes):
    import io

    return io.BytesIO(data)


def test_deep_nesting_costs_its_element_in_linear_time():
    started = time.perf_counter()
    found = items(b"[" + b"[" * 1_000_000 + b"]" * 1_000_000 + b', {"a": 1}]')
    assert time.perf_counter() - started < 10
    assert [i.dropped for i in found] == [f"nested deeper than {limits.MAX_JSON_DEPTH} levels", None]
    assert found[1].value == {"a": 1}
    with pytest.raises(jsonread.BadJSON, match="nested deeper"):
        jsonread.loads(b"[" * 100_000 + b"]" * 100_000, 1_000_000)


def test_lone_surrogates_and_bad_bytes_are_replaced_and_counted():
    found = items(b'[{"t": "\\udc00x", "\\ud800": "k"}, "ok \xff\xfe"]')
    assert found[0].value == {"t": "\ufffdx", "\ufffd": "k"} and found[0].notes.replaced == 2
    assert found[1].value == "ok \ufffd\ufffd"
    notes = jsonread.Notes()
    list(jsonread.iter_array(lambda: _stream(b'["\xff", "\xef\xbf\xbd genuine"]'), 10, notes=notes))
    assert notes.replaced == 1  # a U+FFFD that was in the text is not counted


def test_huge_numbers_are_kept_or_their_field_alone_dropped():
    value, notes = jsonread.loads(b'{"big": 123456789012345678901234567890, "inf": 1e400, "x": 1.5, "n": 3}', 100)
    assert value == {"big": 123456789012345678901234567890, "inf": None, "x": 1.5, "n": 3}
    assert notes.numbers == 1


def test_value_and_string_caps():
    found = items(b'[[1, 2, 3, 4, 5], [1], "' + b"x" * 50 + b'"]', max_values=4)
    assert found[0].dropped == "more than 4 JSON values" and found[1].value == [1]
    cut = list(jsonread.iter_array(lambda: _stream(b'["' + b"y" * 50 + b'"]'), 10, max_string=20))
    assert cut[0].value == "y" * 20 and cut[0].notes.cut == 1
    with pytest.raises(jsonread.BadJSON, match="more than 3 JSON values"):
        jsonread.loads(b"[1, 2, 3, 4]", 3)


def test_broken_structure_is_one_line():
    for text, reason in [(b'{"a": 1}', "expected a JSON array, found an object"),
                         (b"[1, 2", "not valid JSON"), (b"", "not valid JSON")]:
        with pytest.raises(jsonread.BadJSON, match=reason) as caught:
            items(text)
        assert "\n" not in str(caught.value)


def test_a_schedule_of_empty_objects_is_stopped_at_a_cap(tmp_path):
    """254 KB of gzip inflating to 252 MiB of `{},`: json.loads of it peaked at 6.75 GB."""
    path = tmp_path / schedule.FILE
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(b"[")
        block = b"{}," * (1 << 20)
        for _ in range(84):
            handle.write(block)
        handle.write(b"{}]")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    skips = []
    assert schedule.read(path, skips.append, "s.json.gz") == []
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200
    assert [(s.scope, s.detail) for s in skips] == [("file", f"more than {limits.MAX_RECORDS:,} records")]


def test_a_nested_schedule_entry_costs_its_poster(tmp_path):
    path = tmp_path / schedule.FILE
    good = {"title": "A poster", "speakers": ["Ada Lovelace (Oxford)"]}
    text = b'[{"title": ' + b"[" * 200_000 + b"]" * 200_000 + b"}, " + json.dumps(good).encode() + b"]"
    path.write_bytes(gzip.compress(text))  # as the real file is
    skips = []
    posters = schedule.read(path, skips.append, "s.json")
    assert [(p.title, p.speakers) for p in posters] == [("A poster", (("Ada Lovelace", "Oxford"),))]
    assert [(s.scope, s.count) for s in skips] == [("record", 1)]


def test_a_broken_universities_list_is_a_warning_not_a_failure(tmp_path):
    path = tmp_path / "universities.json"
    path.write_bytes(b"[" * 500_000)
    resolver, warning = load_resolver(path)
    assert "not a readable universities list" in warning and "curated registry only" in warning
    assert resolver.resolve("University of Oxford").country == "GB"  # the registry still resolves
    with pytest.raises(UserError, match="universities file not found"):
        load_resolver(tmp_path / "missing.json")


def test_profile_files_and_lines_are_bounded(tmp_path):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "deep.json").write_bytes(b"[" * 1_000_000 + b"]" * 1_000_000)
    (folder / "surrogate.json").write_bytes(b'{"id": "~A_B1", "content": {"names": [{"fullname": "\\udc00"}]}}')
    profiles, problems = read_profiles(folder)
    assert [p["id"] for p in profiles] == ["~A_B1"]
    assert problems == [f"deep.json: profile file: nested deeper than {limits.MAX_JSON_DEPTH} levels"]
    # the fetched records, one JSON line each: a deep line or one past the cap is left out
    records = path_for(tmp_path, "openreview")
    records.parent.mkdir(parents=True, exist_ok=True)
    good = {"source": "openreview", "key": "~A_B1", "kind": "position"}
    with records.open("wb") as handle:
        handle.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
        handle.write(b'"' + b"z" * (limits.MAX_RECORD_BYTES + 10) + b'"\n')
        handle.write(json.dumps(good).encode() + b"\n")
    problems = []
    assert list(iter_records(tmp_path, "openreview", problems)) == [good]
    assert problems == [f"{records}: 2 unreadable lines left out"]


def test_document_file_says_why_in_one_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b'{"a": [1, 2}')
    with pytest.raises(UserError) as caught:
        jsonread.document_file(path, limits.MiB, "profile file")
    assert str(caught.value).startswith(f"{path}: profile file: not valid JSON")
    with pytest.raises(UserError, match="profile file not found"):
        jsonread.document_file(Path(tmp_path / "none.json"), limits.MiB, "profile file")


def _both(data: bytes, max_values: int = 1_000, max_string: int = limits.MAX_STRING_CHARS):
    """What the whole-text decoder and the event reader make of one text (the whole
    decoder's None: it leaves the text to the events)."""
    import io

    whole = jsonread._whole(io.BytesIO(data), max_values, max_string, jsonread.Notes())
    try:
        events = list(jsonread._items(io.BytesIO(data), False, max_values, max_string, jsonread.Notes()))
    except (jsonread.BadJSON, jsonread._Undecodable) as exc:
        events = type(exc)
    return whole, events


PLAIN = [
    b'[0.1, 1e5, -0.0, 1E-400, 12345678901234567890123456789, -7, true, false, null]',
    '[{"a": "caf\\u00e9 \\n \\t \\u0000", "b": "\u00e9\u4e2d\U0001f600"}, {"a": 1, "a": 2, "c": [[], {}]}]'.encode(),
    b'[]', b' [ "x" , { } ] ',
    b"[" + b'{"k":' * 63 + b"1" + b"}" * 63 + b"]",  # 63 levels: every cap met exactly
    b'[[1, 2, 3], "' + b"y" * 20 + b'"]',
]
LEFT_TO_EVENTS = [
    b"[" + b'{"k":' * 65 + b"1" + b"}" * 65 + b"]",  # deeper than MAX_JSON_DEPTH
    b"[" + b"[" * 5_000 + b"]" * 5_000 + b"]",  # deeper than the C decoder goes
    b'[[1, 2, 3, 4, 5]]',  # more values than max_values=6
    b'["' + b"y" * 21 + b'"]', b'[{"' + b"y" * 21 + b'": 1}]',  # strings past max_string=20
    b'[1e400]', b'[NaN]', b'[Infinity]', b'["\\udc00"]', b'["\\ud83d\\ude00"]', b'[1' + b"0" * 5_000 + b"]",
    b'{"a": 1}', b'"x"', b"[1, 2", b"[1] [2]", b"", b"[1,]",
]


@pytest.mark.parametrize("data", PLAIN)
def test_the_whole_text_decoder_reads_what_the_event_reader_reads(data):
    whole, events = _both(data, max_values=300, max_string=20 if b"yyy" in data else limits.MAX_STRING_CHARS)
    assert whole is not None, "plain JSON should not need the event reader"
    assert [(i.value, i.dropped, i.notes) for i in whole] == [(i.value, i.dropped, i.notes) for i in events]
    assert [type(x) for i in whole for x in (i.value if isinstance(i.value, list) else [])] == \
           [type(x) for i in events for x in (i.value if isinstance(i.value, list) else [])]  # 1e5 a float both ways


@pytest.mark.parametrize("data", LEFT_TO_EVENTS)
def test_what_the_caps_change_or_the_parsers_may_read_differently_is_left_to_the_events(data):
    whole, _ = _both(data, max_values=6, max_string=20)
    assert whole is None


def test_a_text_past_the_whole_size_or_cut_short_is_left_to_the_events(tmp_path):
    import io

    big = b"[" + b",".join([b'"' + b"x" * 1000 + b'"'] * 9_000) + b"]"
    assert len(big) > limits.MAX_WHOLE_JSON_BYTES
    assert jsonread._whole(io.BytesIO(big), 10, 10_000, jsonread.Notes()) is None
    assert sum(1 for _ in jsonread.iter_array(lambda: io.BytesIO(big), 10, 10_000)) == 9_000
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(b'[{"a": 1}, {"b": 2}]')[:-12])  # a gzip file cut short
    assert jsonread._whole(limits.bounded_stream(path, 1 << 20, "list"), 10, 10, jsonread.Notes()) is None
    with pytest.raises(limits.GZIP_ERRORS):
        list(jsonread.array_file(path, 1 << 20, "list"))


def test_a_number_of_more_digits_than_python_converts_is_one_line_not_a_crash():
    # ijson's C parser fails on it with a SystemError, or crashes the process
    for text in (b"[1" + b"0" * 5_000 + b"]", b'[{"a": 1}, 2' + b"0" * 9_000 + b"]"):
        with pytest.raises(jsonread.BadJSON, match="not valid JSON") as caught:
            items(text)
        assert len(str(caught.value)) < 300
    assert items(b'["1' + b"0" * 5_000 + b'", 7]')[1].value == 7  # digits in a string are text
    with pytest.raises(jsonread.BadJSON):
        jsonread.loads(b'{"n": ' + b"9" * 4_301 + b"}", 100)
    assert jsonread.loads(b'{"n": ' + b"9" * 4_300 + b"}", 100)[0] == {"n": int("9" * 4_300)}
