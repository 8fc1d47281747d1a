"""Data never drives the terminal: control characters in names, titles and affiliations
are not printed by any command, to a pipe or to a terminal."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import query

pytestmark = pytest.mark.fast

EXE = shutil.which("talent-tracker", path=str(Path(sys.executable).parent))
# set the window title, clear the screen, write the clipboard, ring the bell, reverse the text
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07\x9b31m\u202e"


def _terminal(*args: str) -> bytes:
    """What the command writes to a terminal (a pseudo-terminal it sees as one)."""
    controller, terminal = pty.openpty()
    ran = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, timeout=300,
                         env={**os.environ, "COLUMNS": "120", "TERM": "xterm-256color"})
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal's other side is closed: all is read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert ran.returncode == 0, b"".join(chunks)
    return b"".join(chunks)


def _clean(output: bytes) -> bool:
    """No byte the data sent: rich's own colour codes (CSI ... m) and cursor moves stay."""
    text = output.decode("utf-8", "replace")
    return not any(bad in text for bad in ("\x1b]", "\x07", "\x1b[2J", "\x9b", "\u202e"))


def test_no_command_prints_the_datas_control_characters(tmp_path):
    lists = tmp_path / "paperlists" / "nips"
    lists.mkdir(parents=True)
    (lists / "nips2018.json").write_text(json.dumps([
        {"id": "1", "title": f"Good {HOSTILE}paper", "status": "Poster", "track": "main",
         "author": f"Ada {HOSTILE}Lovelace; Alan Turing", "aff": f"Stanford University{HOSTILE}; University of Oxford"},
        {"id": "2", "title": "Odd", "status": f"Weird{HOSTILE}", "track": "main", "author": "Ada Lovelace",
         "aff": "Stanford University"},
    ]))
    db = tmp_path / "e.duckdb"
    built = subprocess.run([EXE, "build", "--data", str(tmp_path / "paperlists"), "--db", str(db)],
                           capture_output=True, timeout=300)
    assert built.returncode == 0, built.stderr
    assert _clean(built.stdout + built.stderr) and "unknown status" in built.stdout.decode()
    assert _clean(_terminal(EXE, "build", "--data", str(tmp_path / "paperlists"), "--db", str(db)))
    rows = query(db, "SELECT person_id, display_name FROM persons")
    ids = [person for person, _ in rows]
    hostile = [person for person, name in rows if "\x1b" in name]
    assert hostile, "the names keep their control characters in the database: the test would prove nothing"
    for person in ids:
        piped = subprocess.run([EXE, "person", person, "--db", str(db)], capture_output=True, timeout=300)
        assert piped.returncode == 0 and _clean(piped.stdout + piped.stderr), piped.stdout
        assert person.encode() in piped.stdout
    shown = _terminal(EXE, "person", hostile[0], "--db", str(db))
    assert _clean(shown) and b"pwned" in shown
