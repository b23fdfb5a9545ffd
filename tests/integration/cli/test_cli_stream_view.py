"""`lllm run --stream`: each streamed reply on its own labelled line — a rejected attempt, the
answer and the events that follow never run together (run in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_cli.app import run_cli


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _streamed(tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str) -> list[str]:
    assert run_cli(["create", "streamy", "--template", template, "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    project = str(tmp_path / "streamy")
    args = ["run", "What is 17 + 25?", "--model", "scripted", "--stream", "--project", project]
    assert run_cli(args) == 0
    return [line.rstrip() for line in capsys.readouterr().out.splitlines()]


def test_a_rejected_attempt_the_answer_and_the_next_event_are_separate_and_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The init_template's scenario: a tool call, "The sum is 42.0." (no <answer> tag: rejected),
    # then "<answer>42.0</answer>", then the system writes the tool event.
    lines = _streamed(tmp_path, capsys, "init_template")
    rejected = lines.index("assistant (after tool results) › The sum is 42.0.")
    assert lines[rejected + 1].startswith("↻ not accepted (")
    assert "answer" in lines[rejected + 1] and lines[rejected + 1].endswith("asking again")
    assert lines[rejected + 2] == "assistant (retry) › <answer>42.0</answer>"
    assert lines[rejected + 3].startswith("tool add(")
    assert not any("42.0.<answer>" in line or "</answer>tool" in line for line in lines)


def test_the_example_template_streams_each_reply_on_its_own_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _streamed(tmp_path, capsys, "example")
    labelled = [line for line in lines if " › " in line]
    assert labelled and all(line.startswith("analyst") for line in labelled)
    # The system's own "\n" after the stream adds no blank line.
    after = lines.index(labelled[-1]) + 1
    assert lines[after].strip() != ""
