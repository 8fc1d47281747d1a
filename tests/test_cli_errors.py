"""The error promise: every error in arguments, inputs or outputs, of every command, is
one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from conftest import PAPERLISTS, cli


@pytest.fixture(scope="module")
def files(tmp_path_factory, full_db) -> dict:
    root = tmp_path_factory.mktemp("errors")
    (root / "text.txt").write_text("not what any command wants\n")
    (root / "binary.csv").write_bytes(b"\xff\xfe\x00\x01" * 100)
    os.mkfifo(root / "pipe")
    (root / "loop").symlink_to("loop")
    return {"root": root, "db": full_db}


def commands(f: dict) -> list[list]:
    root, db = f["root"], f["db"]
    return [
        ["build", "--data", root / "nowhere", "--db", root / "x.duckdb"],
        ["build", "--data", PAPERLISTS, "--db", root / "x.duckdb", "--venues", root / "pipe"],
        ["build", "--data", PAPERLISTS, "--db", root / "x.duckdb", "--universities", root / "loop"],
        ["build", "--data", PAPERLISTS, "--db", root / "x.duckdb", "--people-overrides", root / "binary.csv"],
        ["build", "--data", PAPERLISTS, "--db", root / "x.duckdb", "--years", "99999"],
        ["build", "--data", PAPERLISTS, "--db", root / "text.txt"],
        ["build"],
        ["build", "--data"],
        ["export", "papers", "--db", db, "--output", root / "pipe"],
        ["export", "papers", "--db", root / "text.txt", "--output", root / "out.csv"],
        ["export", "nope", "--db", db, "--output", root / "out.csv"],
        ["summary", "--db", root / "missing.duckdb"],
        ["summary", "--db", root / "pipe"],
        ["venues", "--venues", root / "text.txt"],
        ["resolve"],
        ["resolve", "--file", root / "binary.csv"],
        ["fetch", "--years", "2019-2010"],
        ["users", "add", "a b", "--db", db],
        ["users", "add", "alice", "--role", "king", "--db", db],
        ["careers", "import", root / "pipe", "--db", db],
        ["careers", "import", root / "text.txt", "--db", db],
        ["people", "overrides", "import", root / "binary.csv", "--db", db],
        ["person", "~Nobody1", "--db", db],
        ["sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "0", "--output", root / "s.csv"],
        ["sample", "--db", db, "--venue", "neurips", "--years", "2018", "--size", "many"],
        ["sample", "--db", db, "--venue", "neurips", "--years", "2018", "--output", root / "text.txt"],
        ["estimate", "--db", db, "--venue", "neurips", "--years", "2018", "--by", "shoe size"],
        ["estimate", "--db", db, "--venue", "neurips", "--years", "2018", "--level", "1.5"],
        ["serve", "--db", root / "missing.duckdb"],
        ["serve", "--db", db, "--port", "70000"],
        ["publish", "--db", db, "--output", root],
        ["report", "--db", db, "--tier", "top5"],
        ["evaluate-people", "--db", root / "text.txt"],
        ["no-such-command"],
    ]


@pytest.mark.realdata
def test_every_error_is_one_line_and_exit_2(files):
    for args in commands(files):
        result = cli(*args)
        shown = " ".join(map(str, args))
        assert result.returncode == 2, (shown, result.returncode, result.stdout[-300:], result.stderr)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), (shown, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, shown
    # the outputs given were left as they were
    assert (files["root"] / "text.txt").read_text() == "not what any command wants\n"
    assert Path(files["root"] / "pipe").is_fifo()


@pytest.mark.realdata
def test_a_port_in_use_is_one_line(files):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cli("serve", "--db", files["db"], "--port", busy.getsockname()[1])
    assert result.returncode == 2 and "cannot listen on" in result.stderr and result.stderr.count("\n") == 1
