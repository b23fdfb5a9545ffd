"""`OPENAI_BASE_URL=<nothing listening> lllm run ...` shows each retry as it happens (what
failed, the wait, attempt k of n) and gives up after the connection retries, in seconds."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.support.cli_runner import lllm


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("stream", [[], ["--stream"]], ids=["whole", "stream"])
def test_a_dead_endpoint_shows_its_retries_and_fails_fast(
    tmp_path: Path, stream: list[str]
) -> None:
    assert lllm("create", "dead", cwd=tmp_path).returncode == 0
    project = tmp_path / "dead"
    url = _dead_url()
    env = {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "sk-test-dead-endpoint-0000"}
    started = time.monotonic()
    result = lllm("run", "What is 2 + 3?", *stream, cwd=project, env=env, timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    retries = [line for line in lines if "model.retry" in line]
    assert len(retries) == 2, result.stderr
    for k, line in enumerate(retries, start=1):
        assert "[warning" in line
        assert f"attempt={k}" in line and "max_attempts=6" in line
        assert "wait=" in line and url in line and "could not connect" in line
    assert lines[-1].startswith("lllm: error: agent 'assistant': the model request failed")
    assert "nothing answers there" in lines[-1]
    assert "sk-test-dead-endpoint" not in result.stdout + result.stderr
    assert took < 30  # a generous guard: the retries wait about 1.5 s in all


def test_max_retries_bounds_the_retries_from_the_command_line(tmp_path: Path) -> None:
    assert lllm("create", "dead", cwd=tmp_path).returncode == 0
    env = {"OPENAI_BASE_URL": _dead_url(), "OPENAI_API_KEY": "sk-test-dead-endpoint-0000"}
    result = lllm("run", "2 + 3?", "--max-retries", "1", cwd=tmp_path / "dead", env=env)
    assert result.returncode == 2, result.stderr
    retries = [line for line in result.stderr.splitlines() if "model.retry" in line]
    assert len(retries) == 1 and "max_attempts=1" in retries[0]
    assert "kept failing" in result.stderr.splitlines()[-1]
