"""A failure in the project's own code is the user's error (file:line, exit 2), not LLLM's
internal error; an unknown agent name says which agents are defined (run in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_cli.app import run_cli


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _project(tmp_path: Path, name: str) -> Path:
    assert run_cli(["create", name, "--dir", str(tmp_path)]) == 0
    return tmp_path / name


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` in ``path`` by ``new``; return the 1-based line of the change."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def test_a_key_error_in_the_projects_system_is_a_user_error_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "user_bug")
    line = _edit(project / "system" / "system.py", 'parsed["xml_tags"]', 'parsed["xml_tag"]')
    capsys.readouterr()
    code = run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        f"lllm: error: system/system.py:{line}: KeyError: 'xml_tag' (in your project's code; "
        "--debug shows the traceback)"
    )
    assert "internal error" not in err


def test_a_failure_inside_lllm_is_still_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lllm_cli.commands import create

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(create, "create_project", broken)
    assert run_cli(["create", "whatever", "--dir", "/tmp"]) == 1
    err = capsys.readouterr().err
    assert "lllm: internal error: KeyError: 'oops'" in err
    assert "please report it" in err


def test_an_unknown_agent_name_names_the_defined_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "agent_typo")
    _edit(project / "config" / "agent_typo" / "default.yaml", "  assistant:", "  asistant:")
    capsys.readouterr()
    code = run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        "lllm: error: no agent 'assistant' in agent_configs of system 'agent_typo'; defined: "
        "asistant (did you mean 'asistant'?)"
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("scriptd", "unknown model 'scriptd'; did you mean 'scripted'?"),
        ("Scripte", "unknown model 'Scripte'; did you mean 'scripted'?"),
        (
            "gpt-4o-mini",
            "--model 'gpt-4o-mini' is a real model and needs a key: set OPENAI_API_KEY",
        ),
    ],
)
def test_a_model_without_a_key_is_named_and_a_scripted_typo_is_caught(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, expected: str
) -> None:
    project = _project(tmp_path, "model_typo")
    capsys.readouterr()
    code = run_cli(["run", "What is 2 + 3?", "--model", model, "--project", str(project)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"lllm: error: {expected}"), err
    assert len(err.splitlines()) == 1


def test_an_unknown_system_type_names_the_config_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "my_agent")
    config = project / "config" / "my_agent" / "default.yaml"
    line = _edit(config, "system_type: my_agent", "system_type: my_agnet")
    capsys.readouterr()
    code = run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(
        f"lllm: error: {config}:{line}: no system type registered as 'my_agnet'; did you mean "
        "'my_agent'?"
    ), err
