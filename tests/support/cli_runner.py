"""Running the `lllm` command in a subprocess, as a user would (helpers for CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

_MODEL_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "LLLM_CONFIG",
    "LLLM_DEBUG",
)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without model keys or LLLM settings (tests set what they need)."""
    env = {k: v for k, v in os.environ.items() if k not in _MODEL_ENV}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "100"
    env.update(extra or {})
    return env


def lllm(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lllm_cli ARGS`` in ``cwd`` with the test environment's Python."""
    return subprocess.run(
        [sys.executable, "-m", "lllm_cli", *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
