"""Agent calls killed with SIGKILL: every call that returned has all its records in the store
(the log writer flushed them before the call returned), whichever driver ran it, and whether
this process or its log host wrote them (``concurrent``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.agent_writer import MESSAGES_PER_CALL
from tests.support.logs_stores import PERSISTENT_KINDS, make_store, share_with_subprocesses

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("mode", ["sync", "async", "concurrent"])
@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_every_returned_call_survives_sigkill_whole(kind: str, mode: str, tmp_path: Path) -> None:
    share_with_subprocesses(kind)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.agent_writer", kind, str(tmp_path), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acknowledged: list[str] = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    acknowledged.extend(proc.stdout.read().split())
    assert len(acknowledged) >= 40, "the agent process did not get going"

    store = make_store(kind, tmp_path)
    for session in acknowledged:
        messages = [r.data["index"] for r in store.read("messages", session)]
        assert messages == list(range(MESSAGES_PER_CALL)), session
        assert len(store.read("dialogs", session)) == 1, session
