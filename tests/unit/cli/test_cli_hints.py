"""Printed follow-up commands work where they are printed: the bare `lllm` only when the
user's shell finds this same script, `--project` unless run from inside the project."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lllm_cli.hints import command_hint, lllm_program


def _script(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "lllm"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_the_bare_name_when_the_shell_finds_this_lllm(tmp_path: Path) -> None:
    script = _script(tmp_path / "bin")
    env = {"PATH": str(script.parent)}
    assert lllm_program(str(script), env) == ("lllm", True)
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    hint = command_hint(
        ["logs", "show", "s-1"],
        project=project,
        cwd=project / "sub",
        argv0=str(script),
        environ=env,
    )
    assert hint == "lllm logs show s-1"


def test_the_full_path_under_uv_run_or_off_path(tmp_path: Path) -> None:
    script = _script(tmp_path / "venv bin")
    under_uv = {"PATH": str(script.parent), "UV_RUN_RECURSION_DEPTH": "1"}
    assert lllm_program(str(script), under_uv) == (f"'{script}'", False)
    elsewhere = _script(tmp_path / "other")
    assert lllm_program(str(script), {"PATH": str(elsewhere.parent)})[0] == f"'{script}'"
    assert lllm_program(str(script), {"PATH": ""})[1] is False


def test_python_dash_m_and_the_project_and_config_are_named(tmp_path: Path) -> None:
    project = tmp_path / "my proj"
    project.mkdir()
    hint = command_hint(
        ["run", "What's 2+3?", "--replay", "s-1"],
        project=project,
        config=project / "c.yaml",
        cwd=project,
        argv0="/x/lllm_cli/__main__.py",
        environ={"PATH": os.defpath},
    )
    assert hint == (
        f"{sys.executable} -m lllm_cli run 'What'\"'\"'s 2+3?' --replay s-1 "
        f"--project '{project.resolve()}' --config '{(project / 'c.yaml').resolve()}'"
    )
