"""Start-up time of the `lllm` command: wall time of `lllm --help` and friends.

Run: uv run python bench/cli_startup.py [--runs 21]

Each command runs in a fresh process (the installed `lllm` entry point of this environment);
the table shows the median, fastest and slowest wall time in milliseconds. The target for
`lllm --help` is a median of at most 250 ms. `python -c pass` is the interpreter's own floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
LLLM = str(BIN / "lllm")

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("python -c 'import cyclopts'", [sys.executable, "-c", "import cyclopts"]),
    ("lllm --version", [LLLM, "--version"]),
    ("lllm --help", [LLLM, "--help"]),
    ("lllm logs --help", [LLLM, "logs", "--help"]),
    ("lllm run --help", [LLLM, "run", "--help"]),
]


def measure(args: list[str], runs: int) -> list[float]:
    """Wall times (ms) of ``runs`` fresh runs of ``args`` (after one warm-up run)."""
    subprocess.run(args, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    print(f"{'command':32} {'median ms':>10} {'min ms':>8} {'max ms':>8}   ({runs} runs)")
    for label, args in COMMANDS:
        times = measure(args, runs)
        print(f"{label:32} {statistics.median(times):>10.1f} {min(times):>8.1f} {max(times):>8.1f}")


if __name__ == "__main__":
    main()
