"""FileLogStore under repeated SIGKILLs: a batch appears whole or not at all, and the leftovers
of killed writers are cleaned when a store opens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from lllm_adapters.logs import FileLogStore
from lllm_adapters.observability import Redactor

REPO = Path(__file__).resolve().parents[2]
SESSION = "crash: batches"
BATCH = 5

# One driver process imports the store once and then forks writers, killing each with SIGKILL
# after a random few milliseconds: a hundred kills cost seconds, not a hundred interpreter
# start-ups. Each writer appends batches of BATCH records and, once append_many has returned,
# writes "<writer> <batch>" to the pipe: those batches are acknowledged.
_DRIVER = r"""
import os, random, signal, sys, time
from lllm_adapters.logs import FileLogStore
from lllm_adapters.observability import Redactor

root, kills, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
payload = "x" * 3000
random.seed(kills)
acks = []
for writer in range(kills):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            store = FileLogStore(root, redactor=Redactor())
            b = 0
            while True:
                store.append_many("messages", "crash: batches", [
                    {"writer": writer, "batch": b, "k": k, "payload": payload}
                    for k in range(batch)
                ])
                os.write(write_end, f"{writer} {b}\n".encode())
                b += 1
        finally:
            os._exit(1)
    os.close(write_end)
    time.sleep(random.uniform(0.002, 0.05))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)  # reaped: its pid is free again, as after any crash
    with os.fdopen(read_end, "rb") as pipe:
        acks.append(pipe.read().decode())
sys.stdout.write("".join(acks))
"""


def _kill_writers(root: Path, kills: int) -> set[tuple[int, int]]:
    """Run the driver; return the (writer, batch) pairs whose append_many had returned."""
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(root), str(kills), str(BATCH)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {(int(w), int(b)) for w, b in (line.split() for line in done.stdout.splitlines())}


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp")]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the driver forks its writers")
def test_a_hundred_sigkills_leave_no_partial_batch_no_lost_record_and_no_leftover(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    acknowledged = _kill_writers(tmp_path, 100)
    assert acknowledged, "the writers did not get going"

    store = FileLogStore(tmp_path, redactor=Redactor())  # reopening cleans the leftovers
    assert _leftovers(tmp_path) == []
    records = store.read("messages", SESSION)
    sizes = Counter((r.data["writer"], r.data["batch"]) for r in records)
    partial = {batch: n for batch, n in sizes.items() if n != BATCH}
    assert partial == {}, f"{len(partial)} half-written batches are visible"
    assert acknowledged <= set(sizes), "an acknowledged batch was lost"
    assert [r.seq for r in records] == list(range(len(records)))
    for r in records:  # every batch in order, its records in order
        assert r.data["k"] == r.seq % BATCH
    # The store keeps working after all that.
    store.append("messages", SESSION, {"writer": -1, "batch": 0, "k": 0})
    assert store.read("messages", SESSION)[-1].seq == len(records)
    assert time.monotonic() - started < 100  # a guard: the kills must not take minutes


def test_opening_a_store_removes_dead_writers_leftovers_only(tmp_path: Path) -> None:
    FileLogStore(tmp_path, redactor=Redactor()).append("messages", SESSION, {"n": 1})
    (folder,) = (tmp_path / "messages").iterdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    hex32 = "0123456789abcdef" * 2
    killed = folder / f".tmp-{dead_pid}-{hex32}"  # its writer is gone
    live = folder / f".tmp-{os.getpid()}-{hex32}"  # a writer still at work
    old = folder / f".tmp-{hex32}"  # an earlier version's, long abandoned
    recent = folder / f".tmp-{'f' * 32}"  # an earlier version's, maybe still in use
    for path in (killed, live, old, recent):
        path.write_bytes(b'{"time": 0, "da')
    os.utime(old, (time.time() - 3600, time.time() - 3600))

    store = FileLogStore(tmp_path, redactor=Redactor())
    assert sorted(p.name for p in _leftovers(tmp_path)) == sorted([live.name, recent.name])
    assert [r.data for r in store.read("messages", SESSION)] == [{"n": 1}]
