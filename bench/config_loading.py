"""Time to load (or refuse) hostile and large configuration files.

Run: uv run python bench/config_loading.py [--runs 5]

Each case is written to a temporary folder and loaded with ``load_system_config`` (system
configs) or ``load_project`` (``lllm.toml``); the table shows the median and slowest wall time
in milliseconds and what the loader answered (``ok`` or the ``ConfigError``'s first words).
Every hostile case should end well under a second; before the limits, the alias bomb never
ended and a 20,000-key TOML file took minutes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lllm_adapters.config import load_project, load_system_config
from lllm_domain.errors import ConfigError


def bomb() -> str:
    lines = ["name: bomb", "extra:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested(open_: str, close: str, depth: int) -> str:
    return open_ * depth + close * depth


CASES: list[tuple[str, str, str | bytes]] = [
    ("YAML alias bomb (9^9 values)", "c.yaml", bomb()),
    ("YAML '[' 10,000 deep", "c.yaml", "name: d\nextra:\n  x: " + nested("[", "]", 10_000)),
    (
        "YAML block nesting 3,000 deep",
        "c.yaml",
        "name: d\nextra:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3_000)),
    ),
    ("TOML array 10,000 deep", "c.toml", 'name = "d"\nx = ' + nested("[", "]", 10_000)),
    ("TOML inline table 10,000 deep", "c.toml", 'name = "d"\nx = ' + nested("{a=", "}", 10_000)),
    ("lllm.toml array 10,000 deep", "lllm.toml", "[project]\nx = " + nested("[", "]", 10_000)),
    ("YAML invalid UTF-8", "c.yaml", b"name: \xff\n"),
    ("YAML 5,000-digit integer", "c.yaml", "name: i\nrandom_seed: " + "9" * 5_000),
    ("TOML 5,000-digit integer", "c.toml", 'name = "i"\nrandom_seed = ' + "9" * 5_000),
    ("YAML date 2024-13-45", "c.yaml", "name: d\ncutoff_date: 2024-13-45\n"),
    ("YAML duplicate key", "c.yaml", "name: a\nname: b\n"),
    (
        "TOML 20,000 keys (well-formed)",
        "c.toml",
        'name = "big"\n[extra]\n' + "".join(f"k{i} = {i}\n" for i in range(20_000)),
    ),
    (
        "YAML 5,000 keys (well-formed)",
        "c.yaml",
        "name: big\nextra:\n" + "".join(f"  k{i}: {i}\n" for i in range(5_000)),
    ),
]


def loader(name: str) -> Callable[[Path], object]:
    if name == "lllm.toml":
        return load_project
    return lambda path: load_system_config(path, environ={})


def measure(path: Path, load: Callable[[Path], object], runs: int) -> tuple[list[float], str]:
    times = []
    outcome = ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            load(path)
            outcome = "ok"
        except ConfigError as exc:
            outcome = str(exc).removeprefix(f"{path}:").split(": ", 1)[-1][:48]
        times.append((time.perf_counter() - start) * 1000)
    return times, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print("| case | median ms | slowest ms | outcome |\n| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for label, name, content in CASES:
            path = Path(folder) / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            times, outcome = measure(path, loader(name), runs)
            print(f"| {label} | {statistics.median(times):.1f} | {max(times):.1f} | {outcome} |")


if __name__ == "__main__":
    main()
