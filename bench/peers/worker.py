"""One measurement of one implementation, in a fresh interpreter; prints one JSON line.

``python bench/peers/worker.py IMPL import`` — seconds to import the implementation's agent
module (the framework's agent, model and tool classes);
``... IMPL seq URL RUNS`` — seconds per sequential run (after a warm-up);
``... IMPL conc URL N WARM`` — wall seconds of N concurrent runs (after WARM concurrent warm-up
runs that fill the pool), the resident set before them and its peak during them (the peak is
reset just before the runs through /proc/self/clear_refs; where that is refused it is the
process's ru_maxrss).

Every run's final answer is checked, and so is the number of times the tool ran.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_task import ToolCounter, check_answer, forbid_non_loopback

SEQ_WARMUP = 20


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux >= 4.0), so the peak read later is the runs' own."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def _peak_kib() -> int:
    try:
        return _status_kib("VmHWM")
    except (OSError, LookupError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _rss_kib() -> int:
    try:
        return _status_kib("VmRSS")
    except (OSError, LookupError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _import(name: str) -> Any:
    return importlib.import_module(f"impl_{name}")


def measure_import(name: str) -> dict[str, Any]:
    start = time.perf_counter()
    _import(name)
    return {"seconds": time.perf_counter() - start}


def measure_seq(name: str, url: str, runs: int) -> dict[str, Any]:
    run, close = _import(name).sync_runner(url)
    try:
        for _ in range(SEQ_WARMUP):
            check_answer(run())
        before = ToolCounter.calls
        answers = []
        start = time.perf_counter()
        for _ in range(runs):
            answers.append(run())
        elapsed = time.perf_counter() - start
    finally:
        close()
    for answer in answers:
        check_answer(answer)
    if ToolCounter.calls - before != runs:
        raise AssertionError(f"the tool ran {ToolCounter.calls - before} times in {runs} runs")
    return {"seconds_per_run": elapsed / runs}


async def _concurrent(name: str, url: str, n: int, warm: int) -> dict[str, Any]:
    run, close = _import(name).async_runner(url)
    try:
        for answer in await asyncio.gather(*(run() for _ in range(warm))):
            check_answer(answer)
        reset = _reset_peak()
        rss_before = _rss_kib()
        before = ToolCounter.calls
        start = time.perf_counter()
        answers = await asyncio.gather(*(run() for _ in range(n)))
        wall = time.perf_counter() - start
        peak = _peak_kib()
    finally:
        await close()
    for answer in answers:
        check_answer(answer)
    if ToolCounter.calls - before != n:
        raise AssertionError(f"the tool ran {ToolCounter.calls - before} times in {n} runs")
    return {
        "wall": wall,
        "rss_before_kib": rss_before,
        "peak_rss_kib": peak,
        "peak_is_runs_own": reset,
    }


def main(argv: list[str]) -> None:
    forbid_non_loopback()
    name, mode, *rest = argv
    if mode == "import":
        out = measure_import(name)
    elif mode == "seq":
        out = measure_seq(name, rest[0], int(rest[1]))
    elif mode == "conc":
        out = asyncio.run(_concurrent(name, rest[0], int(rest[1]), int(rest[2])))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
