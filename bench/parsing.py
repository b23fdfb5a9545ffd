"""Default-parser time on well-formed and adversarial replies of 100 KB, 1 MB, 5 MB (and 25 MB).

Run: uv run python bench/parsing.py

Each reply goes through ``Prompt.parse`` of a prompt with an XML tag, a Markdown tag and a signal
tag (what the agent call does on every reply); a ParseError counts as a finished parse. Figures
are medians of several runs. Targets: 5 MB / 1 MB ratio <= 6 for every reply (linear means about
5) and every 5 MB adversarial reply <= 100 ms. The first parser took 18.8 s on 125 KB of
unclosed ``<answer>`` tags and did not finish on 5 MB.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable

from lllm_domain.errors import ParseError
from lllm_domain.parsing import MAX_FENCE_MARKERS
from lllm_domain.prompt import Prompt

RUNS = 9
SIZES = {"100 KB": 100_000, "1 MB": 1_000_000, "5 MB": 5_000_000, "25 MB": 25_000_000}
PROMPT = Prompt(
    "bench/parse",
    "Solve it.",
    xml_tags=("answer",),
    md_tags=("python",),
    signal_tags=("DONE",),
)


def repeat(unit: str, size: int) -> str:
    """``unit`` repeated to ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def well_formed(size: int) -> str:
    """Prose with a code block every ~4 KB, an answer and a signal: what a model writes."""
    section = (
        "Let us work through this step by step. " * 90
        + "\n```python\n"
        + "total = sum(range(10))\nprint(total)\n" * 8
        + "```\n"
    )
    return repeat(section, size - 40) + "<answer>45</answer> <DONE>"


def fences_at_the_limit(unit: str, closing: str = "") -> Callable[[int], str]:
    """As many fence markers as the parser reads (or as fit), padded with text to ``size``."""

    def build(size: int) -> str:
        count = min(MAX_FENCE_MARKERS // 2, size // (2 * len(unit)))
        head = unit * count
        tail = closing * count
        return head + repeat("x", size - len(head) - len(tail)) + tail

    return build


CASES: dict[str, Callable[[int], str]] = {
    "well-formed reply": well_formed,
    "unclosed <answer> tags, back to back": lambda n: repeat("<answer>", n),
    "unclosed <answer> tags, 1 per 100 chars": lambda n: repeat("<answer>" + "x" * 92, n),
    "many <answer>, one </answer> at the end": lambda n: repeat("<answer>", n - 12) + "4</answer>",
    "complete <answer>1</answer> blocks, back to back": lambda n: repeat("<answer>1</answer>", n),
    "<answer>```python<answer mix": lambda n: repeat("<answer>```python\n<answer", n),
    "fence markers past the limit": lambda n: repeat("```python\n", n),
    "unclosed fences at the limit": fences_at_the_limit("```python\n"),
    "nested fences at the limit": fences_at_the_limit("```python\n", "```\n"),
    "signal-tag-like noise": lambda n: repeat("<DONE <DON> <DONE/> </DONE> <done> ", n),
}
ADVERSARIAL = [name for name in CASES if name != "well-formed reply"]


def parse_once(reply: str) -> float:
    """Seconds for one ``PROMPT.parse(reply)`` (a ParseError is a finished parse)."""
    start = time.perf_counter()
    with contextlib.suppress(ParseError):
        PROMPT.parse(reply)
    return time.perf_counter() - start


def measure(build: Callable[[int], str]) -> dict[str, tuple[float, float]]:
    """Median and best seconds per size; the sizes take turns, so a busy machine slows them
    alike."""
    replies = {label: build(size) for label, size in SIZES.items()}
    times: dict[str, list[float]] = {label: [] for label in SIZES}
    for _ in range(RUNS):
        for label, reply in replies.items():
            times[label].append(parse_once(reply))
    return {label: (statistics.median(t), min(t)) for label, t in times.items()}


def main() -> None:
    """Print the table and the targets."""
    print(f"default parser, median of {RUNS} runs (fence marker limit {MAX_FENCE_MARKERS:,})\n")
    header = ["reply", *SIZES, "5 MB / 1 MB", "(best runs)", "25 MB / 5 MB"]
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    worst_ratio = worst_best_ratio = worst_5mb = 0.0
    for name, build in CASES.items():
        figures = measure(build)
        ratio = figures["5 MB"][0] / figures["1 MB"][0]
        best_ratio = figures["5 MB"][1] / figures["1 MB"][1]
        beyond = figures["25 MB"][0] / figures["5 MB"][0]
        worst_ratio = max(worst_ratio, ratio)
        worst_best_ratio = max(worst_best_ratio, best_ratio)
        if name in ADVERSARIAL:
            worst_5mb = max(worst_5mb, figures["5 MB"][0])
        cells = [f"{median * 1000:.1f} ms" for median, _ in figures.values()]
        print(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {ratio:.1f} | {best_ratio:.1f} | {beyond:.1f} |"
        )
    print(
        f"\nworst 5 MB / 1 MB ratio: {worst_ratio:.1f} of medians, {worst_best_ratio:.1f} of best"
        " runs (target <= 6). On a busy machine the few-ms scans of a 1 MB reply, which fits a"
        " core's cache, can inflate it; 25 MB / 5 MB shows the growth past the cache."
    )
    print(f"slowest 5 MB adversarial reply (median): {worst_5mb * 1000:.1f} ms (target <= 100 ms)")


if __name__ == "__main__":
    main()
