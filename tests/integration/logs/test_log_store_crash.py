"""A writer killed with SIGKILL mid-run leaves every completed record intact and no partial one;
several processes appending to one session lose nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from tests.support.logs_stores import PERSISTENT_KINDS, make_store, share_with_subprocesses
from tests.support.logs_writer import PAYLOAD

REPO = Path(__file__).resolve().parents[3]


def _writer(
    kind: str, root: Path, session: str, count: int, tag: str = "w"
) -> subprocess.Popen[str]:
    share_with_subprocesses(kind)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.logs_writer",
            kind,
            str(root),
            session,
            str(count),
            tag,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_sigkill_mid_run_keeps_completed_records_and_no_partial_one(
    kind: str, tmp_path: Path
) -> None:
    proc = _writer(kind, tmp_path, "crash ../ session", 0)
    assert proc.stdout is not None
    completed: list[int] = []
    deadline = time.monotonic() + 30
    while len(completed) < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        completed.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    completed.extend(int(line) for line in proc.stdout.read().split())
    assert len(completed) >= 300, "the writer did not get going"

    store = make_store(kind, tmp_path)
    records = store.read("messages", "crash ../ session")
    got = [r.data["i"] for r in records]
    # Every record the writer saw completed is there, in order, whole; nothing else but
    # possibly the batch or record that was in flight.
    assert got[: len(completed)] == completed
    assert got == list(range(len(got)))
    assert len(got) - len(completed) <= 3
    assert all(r.data["payload"] == PAYLOAD for r in records)

    if kind == "local":
        for path in tmp_path.rglob("*.json"):
            msgspec.json.decode(path.read_bytes())  # every published file is whole JSON
    elif kind == "sqlite":
        db = sqlite3.connect(tmp_path / "logs.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
    # The store keeps working after the crash.
    store.append("messages", "crash ../ session", {"i": len(got), "payload": PAYLOAD})
    assert [r.data["i"] for r in store.read("messages", "crash ../ session")][-1] == len(got)


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_several_processes_appending_to_one_session_lose_nothing(kind: str, tmp_path: Path) -> None:
    make_store(kind, tmp_path)  # create the database / folder before the race
    procs = [_writer(kind, tmp_path, "shared", 60, tag) for tag in ("p0", "p1", "p2")]
    for proc in procs:
        proc.communicate(timeout=60)
        assert proc.returncode == 0
    records = make_store(kind, tmp_path).read("messages", "shared")
    assert [r.seq for r in records] == list(range(180))
    for tag in ("p0", "p1", "p2"):
        assert [r.data["i"] for r in records if r.data["tag"] == tag] == list(range(60))
