"""`lllm logs show S | head`: a reader that goes away early ends the command quietly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from lllm_cli.app import PIPE_CLOSED_EXIT, run_cli

from tests.support.cli_runner import clean_env


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.mark.parametrize("command", [["logs", "show"], ["logs", "list"]])
def test_a_closed_pipe_ends_the_command_without_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert run_cli(["create", "pipe_demo", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "pipe_demo"
    assert run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)]) == 0
    match = re.search(r"^session (\S+) ·", capsys.readouterr().out, re.MULTILINE)
    assert match
    args = [*command, match.group(1)] if command == ["logs", "show"] else command

    child = subprocess.Popen(
        [sys.executable, "-m", "lllm_cli", *args],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before the first line is written
    err = child.stderr.read().decode()
    code = child.wait(timeout=120)

    assert err == ""
    assert code == PIPE_CLOSED_EXIT
