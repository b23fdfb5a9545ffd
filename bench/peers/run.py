"""LLLM against peer frameworks on the same agent task and the same local server.

The task: an agent with one tool ``add(a: int, b: int)``; the server (bench/peers/server.py, in
its own process on 127.0.0.1) asks for the tool with a=2, b=3, then answers
``<answer>5</answer>``. Every implementation checks the answer and that the tool ran once per
run. Implementations: LLLM, pydantic-ai, the OpenAI Agents SDK, LangChain (``create_agent``),
a plain OpenAI SDK loop and a hand-written raw httpx2 loop (the floor).

Figures (medians over repeats; every sample in a fresh subprocess, implementations interleaved
so machine noise hits them alike):
- sequential time per run against a zero-latency server;
- wall time of 500 concurrent runs against a 100 ms-latency server (async APIs, one pooled
  client of 100 connections per implementation, after 100 warm-up runs that fill the pool);
- cold import time of each implementation's agent module (fresh interpreter per sample);
- peak memory of the 500 concurrent runs: the peak resident set (VmHWM, reset through
  /proc/self/clear_refs just before the runs, so it is the runs' own peak and not an import-time
  spike) of the subprocess that ran them, framework and interpreter included; in brackets what
  the runs added to the resident set they started from.

Run: ``uv run --group bench python bench/peers/run.py`` (``--quick`` for a short pass).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.ports import wait_for_port  # noqa: E402

IMPLS = {
    "lllm": "LLLM",
    "raw": "raw httpx2 loop",
    "openai_sdk": "OpenAI SDK loop",
    "pydantic_ai": "pydantic-ai",
    "agents_sdk": "OpenAI Agents SDK",
    "langchain": "LangChain create_agent",
}
TARGETS = {"seq": 1.35, "conc": 1.2}
"""LLLM's targets, as ratios to the raw httpx2 loop."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH", "LANGCHAIN"))}
    env.update(
        OPENAI_BASE_URL=base_url,
        OPENAI_API_KEY="sk-bench-not-a-real-key",
        OPENAI_AGENTS_DISABLE_TRACING="1",
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        LOGFIRE_SEND_TO_LOGFIRE="false",
        DO_NOT_TRACK="1",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    return env


class Server:
    """The scripted server in its own process."""

    def __init__(self, latency: float) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "server.py"),
                "--port",
                str(self.port),
                "--latency",
                str(latency),
            ],
            cwd=ROOT,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _worker(name: str, args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(HERE / "worker.py"), name, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["(no output)"]
        return {"error": lines[-1][:160]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value * 1e3:.2f} ms" if value < 0.01 else f"{value * 1e3:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value / 1024:.1f} MiB"


def _ratio(value: float | None, ref: float | None) -> str:
    if value is None or not ref:
        return "—"
    return f"{value / ref:.2f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and repeats")
    parser.add_argument("--only", nargs="*", choices=list(IMPLS), help="a subset (LLLM is kept)")
    parser.add_argument("--repeats", type=int, help="samples per figure (default 5; quick 3)")
    opts = parser.parse_args()
    names = list(IMPLS) if not opts.only else ["lllm", *[n for n in opts.only if n != "lllm"]]
    repeats = opts.repeats or (3 if opts.quick else 5)
    seq_runs = 100 if opts.quick else 300
    concurrent, warm = 500, 100
    import_samples = 3 if opts.quick else 7

    samples: dict[str, dict[str, list[float]]] = {
        n: {"seq": [], "conc": [], "imp": [], "rss": [], "rss_runs": []} for n in names
    }
    errors: dict[str, str] = {}
    fast, slow = Server(0.0), Server(0.1)
    started = time.perf_counter()
    try:
        env_fast, env_slow = _env(fast.url), _env(slow.url)
        for rep in range(repeats):
            for name in names:
                if name in errors:
                    continue
                out = _worker(name, ["seq", fast.url, str(seq_runs)], env_fast, 600)
                if "error" in out:
                    errors[name] = out["error"]
                    continue
                samples[name]["seq"].append(out["seconds_per_run"])
                out = _worker(name, ["conc", slow.url, str(concurrent), str(warm)], env_slow, 600)
                if "error" in out:
                    errors[name] = out["error"]
                    continue
                samples[name]["conc"].append(out["wall"])
                samples[name]["rss"].append(out["peak_rss_kib"])
                samples[name]["rss_runs"].append(out["peak_rss_kib"] - out["rss_before_kib"])
            print(
                f"  repeat {rep + 1}/{repeats} done ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
        for _ in range(import_samples):
            for name in names:
                if name in errors:
                    continue
                out = _worker(name, ["import"], env_fast, 120)
                if "error" in out:
                    errors[name] = out["error"]
                    continue
                samples[name]["imp"].append(out["seconds"])
    finally:
        fast.stop()
        slow.stop()

    med = {
        n: {k: (statistics.median(v) if v and n not in errors else None) for k, v in s.items()}
        for n, s in samples.items()
    }
    ref = med["lllm"]
    print(
        f"\n{repeats} repeats × {seq_runs} sequential runs; {concurrent} concurrent runs "
        f"(pool 100) against a 100 ms server; {import_samples} import samples; medians\n"
    )
    header = (
        "| implementation | sequential / run | × LLLM | 500 concurrent (wall) | × LLLM "
        "| cold import | × LLLM | peak RSS of the runs (added by them) | × LLLM |"
    )
    print(header)
    print("|" + " --- |" * 9)
    for name in names:
        m = med[name]
        if name in errors:
            print(f"| {IMPLS[name]} | not measured: {errors[name]} |" + " |" * 8)
            continue
        rss = f"{_fmt(m['rss'], 'MiB')} ({_fmt(m['rss_runs'], 'MiB')})"
        print(
            f"| {IMPLS[name]} | {_fmt(m['seq'], 'ms')} | {_ratio(m['seq'], ref['seq'])} "
            f"| {_fmt(m['conc'], 's')} | {_ratio(m['conc'], ref['conc'])} "
            f"| {_fmt(m['imp'], 'ms')} | {_ratio(m['imp'], ref['imp'])} "
            f"| {rss} | {_ratio(m['rss'], ref['rss'])} |"
        )
    raw = med.get("raw")
    if raw and "lllm" not in errors and "raw" not in errors:
        print("\nLLLM against the raw httpx2 floor (targets from issue 8):")
        for key, label in (("seq", "sequential per run"), ("conc", "500 concurrent wall")):
            ratio = ref[key] / raw[key]  # type: ignore[operator]
            verdict = "meets" if ratio <= TARGETS[key] else "MISSES"
            print(f"  {label}: {ratio:.2f}× raw (target ≤ {TARGETS[key]}×) — {verdict}")


if __name__ == "__main__":
    main()
