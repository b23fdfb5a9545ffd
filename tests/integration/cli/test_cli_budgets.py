"""`lllm run --max-requests/--max-tokens/--max-cost/--max-retries` and the config's `budget` and
`retry`: a budget error is one line saying what was spent (run in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_cli.app import run_cli


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run_cli(["create", "budgeted", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    return tmp_path / "budgeted"


def _run(project: Path, *options: str) -> int:
    return run_cli(
        ["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project), *options]
    )


def test_max_requests_stops_the_run_with_one_line_saying_what_was_spent(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The init_template's scripted scenario needs 3 requests (tool call, bad answer, answer).
    assert _run(project, "--max-requests", "2", "--session", "capped") == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("lllm: error: budget reached: agent 'assistant'")
    assert "max_requests=2" in line
    assert "spent $0.000000 on 2 model replies" in line
    assert "--max-requests" in line
    assert "logs show capped --project" in line
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "limit"),
    [("--max-tokens", "10", "max_tokens=10"), ("--max-cost", "0", "max_cost_usd=0.0")],
)
def test_token_and_cost_caps(
    project: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, limit: str
) -> None:
    assert _run(project, option, value) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert limit in err


def test_a_budget_in_the_system_config_applies_and_the_option_wins(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "config" / "budgeted" / "default.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "budget:\n  max_requests: 1\n", encoding="utf-8"
    )
    assert _run(project) == 2
    err = capsys.readouterr().err
    assert "max_requests=1" in err
    assert "budget.max_requests" in err
    assert _run(project, "--max-requests", "5") == 0


def test_a_bad_budget_option_is_a_one_line_argument_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(project, "--max-requests", "-1") == 2
    err = capsys.readouterr().err
    assert err.startswith("lllm: error: ") and len(err.splitlines()) == 1, err
    assert "Budget.max_requests must be >= 0" in err
    assert _run(project, "--max-retries", "-2") == 2
    assert "RetryPolicy.max_attempts must be >= 0, not -2" in capsys.readouterr().err
