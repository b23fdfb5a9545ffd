"""`lllm run` with a system config in the original LLLM's form (agent_type, model arguments
beside model_name): it runs, and an unknown agent_type points at its own line (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_cli.app import run_cli


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _original_form(tmp_path: Path, agent_type: str) -> tuple[Path, Path]:
    """A created project whose config is rewritten in the original's form."""
    assert run_cli(["create", "porter", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "porter"
    config = project / "config" / "porter" / "default.yaml"
    text = config.read_text(encoding="utf-8")
    assert "system_type: porter\n" in text and "    max_completion_tokens: 800\n" in text
    text = text.replace(
        "system_type: porter\n", f"agent_type: {agent_type}\nsystem_type: basic\n"
    ).replace("    max_completion_tokens: 800\n", "    max_completion_tokens: 800\n    seed: 3\n")
    config.write_text(text + "max_query_retry: 5\n", encoding="utf-8")
    return project, config


def test_a_project_runs_with_its_config_in_the_original_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, _ = _original_form(tmp_path, "porter")
    capsys.readouterr()
    code = run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Answer:" in captured.out


def test_an_unknown_agent_type_names_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, config = _original_form(tmp_path, "portr")
    line = config.read_text(encoding="utf-8").splitlines().index("agent_type: portr") + 1
    capsys.readouterr()
    code = run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(
        f"lllm: error: {config}:{line}: no system type registered as 'portr'; did you mean "
        "'porter'?"
    ), err
    assert len(err.splitlines()) == 1
