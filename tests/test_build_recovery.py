"""A build that is killed, or meets a full disk, leaves nothing behind that stops the next.

Real processes throughout: the build is the installed command, killed with SIGKILL or run
under a file size limit; the lock is held by a real other process.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import one
from minidata import write

EXE = shutil.which("talent-tracker", path=str(Path(sys.executable).parent))


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _leftovers(folder: Path) -> list[str]:
    """What a build leaves beside the database besides the database, its workspace and its lock."""
    kept = {"t.duckdb", "t.workspace.sqlite", ".t.duckdb.lock", ".t.duckdb.lock-takeover"}
    return sorted(p.name for p in folder.iterdir() if p.name not in kept and not p.name.startswith("t.workspace"))


@pytest.mark.realdata
def test_a_build_killed_at_any_moment_leaves_no_process_and_the_next_build_succeeds(tmp_path, shared):
    db = tmp_path / "t.duckdb"
    command = [EXE, "build", "--data", str(shared), "--venue", "neurips", "--db", str(db)]
    workers_seen = 0
    for after in (0.5, 1.5, 2.5, 3.5, 5.0, 7.0):
        build = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen, started = set(), time.monotonic()
        while time.monotonic() - started < after and build.poll() is None:
            seen |= _children(build.pid)
            time.sleep(0.02)
        build.kill()
        build.wait()
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in seen if _running(pid)], f"workers outlived a build killed after {after} s"
        workers_seen += len(seen)
    assert workers_seen >= 4  # the kills did land in the parallel stage
    ran = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    assert "another build" not in ran.stderr
    assert one(db, "SELECT count(*) FROM papers") > 10_000
    assert _leftovers(tmp_path) == []


def _hold_lock(db: Path, pid_in_file: str) -> subprocess.Popen:
    """Another process holding the database's build lock, its file naming `pid_in_file`."""
    code = ("import fcntl, os, sys, time\n"
            "f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); f.write(sys.argv[2]); f.flush()\n"
            "print('held', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(db.with_name(f".{db.name}.lock")), pid_in_file],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.fast
def test_a_lock_held_by_processes_a_dead_build_left_is_taken_over_saying_so(tmp_path):
    data, db = write(tmp_path / "data"), tmp_path / "t.duckdb"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    holder = _hold_lock(db, gone.stdout.strip())  # as a worker orphaned by a killed build would
    try:
        ran = subprocess.run([EXE, "build", "--data", str(data), "--db", str(db)], capture_output=True, text=True,
                             timeout=300)
        assert ran.returncode == 0, ran.stderr
        assert f"(process {gone.stdout.strip()}) is gone" in ran.stderr and "taken over" in ran.stderr
        assert one(db, "SELECT count(*) FROM papers") > 0
        # the next build takes the new lock as usual, saying nothing of it
        again = subprocess.run([EXE, "build", "--data", str(data), "--db", str(db)], capture_output=True, text=True,
                               timeout=300)
        assert again.returncode == 0 and "taken over" not in again.stderr, again.stderr
    finally:
        holder.kill()
        holder.wait()
    assert _leftovers(tmp_path) == ["data"]


@pytest.mark.fast
def test_a_lock_its_live_owner_holds_refuses_the_build_naming_it(tmp_path):
    data, db = write(tmp_path / "data"), tmp_path / "t.duckdb"
    holder = _hold_lock(db, "")
    try:
        # the holder names itself, as a build does
        Path(tmp_path / ".t.duckdb.lock").write_text(str(holder.pid))
        ran = subprocess.run([EXE, "build", "--data", str(data), "--db", str(db)], capture_output=True, text=True,
                             timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert ran.returncode == 2 and ran.stderr.count("\n") == 1, ran.stderr
    assert f"another build of this database is running (process {holder.pid})" in ran.stderr
    assert not db.exists()


@pytest.mark.fast
@pytest.mark.parametrize("room", [1_000, 150_000, 400_000])
def test_a_build_that_runs_out_of_room_is_one_line_and_leaves_no_file(tmp_path, room):
    """Files may not grow past `room` bytes (as on a full disk): the workspace, or the
    database's first or a later write, fails; the command says so in one line and leaves
    the previous database and no temporary file."""
    data, db = write(tmp_path / "data"), tmp_path / "t.duckdb"
    first = subprocess.run([EXE, "build", "--data", str(data), "--db", str(db)], capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    before = db.read_bytes()
    os.remove(tmp_path / "t.workspace.sqlite") if room == 1_000 else None  # the workspace must be made anew

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, resource.RLIM_INFINITY))

    ran = subprocess.run([EXE, "build", "--data", str(data), "--db", str(db)], capture_output=True, text=True,
                         preexec_fn=limited, timeout=300)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert "could not be written" in ran.stderr or "cannot create the workspace" in ran.stderr, ran.stderr
    assert "File too large" in ran.stderr or "disk" in ran.stderr, ran.stderr
    assert db.read_bytes() == before
    assert _leftovers(tmp_path) == ["data"]
