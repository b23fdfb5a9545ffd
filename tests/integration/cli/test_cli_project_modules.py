"""A project's own modules (``[project] system_module``, ``scripted``) as `lllm` imports them:
never shared between two projects in one process, and a module that fails to import is
reported at its own file and line (run in-process, as a test or a notebook would)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lllm_cli.app import run_cli


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _create(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    assert run_cli(["create", name, "--dir", str(parent)]) == 0
    return parent / name


def _run(project: Path, task: str = "What is 17 + 25?") -> int:
    return run_cli(["run", task, "--model", "scripted", "--project", str(project)])


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_two_projects_in_one_process_each_run_their_own_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alpha = _create(tmp_path, "alpha")
    beta = _create(tmp_path, "beta")
    path_before = list(sys.path)

    assert _run(alpha) == 0
    assert "system alpha (alpha)" in capsys.readouterr().out
    assert _run(beta) == 0
    out = capsys.readouterr().out
    assert "system beta (beta)" in out
    assert '"answer": "42.0"' in out  # beta's own scripted hook answered

    assert sys.path == path_before  # the project folders are not left on sys.path
    leaked = [
        name
        for name, module in list(sys.modules.items())
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path))
        and not name.startswith("_lllm_")
    ]
    assert leaked == []


def test_same_named_projects_in_two_folders_run_one_after_the_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _create(tmp_path / "one", "gamma")
    second = _create(tmp_path / "two", "gamma")
    (second / "system" / "system.py").write_text(
        (second / "system" / "system.py")
        .read_text(encoding="utf-8")
        .replace('return {"answer": answer,', 'return {"answer": answer, "from": "two",'),
        encoding="utf-8",
    )

    assert _run(first) == 0
    assert '"from": "two"' not in capsys.readouterr().out
    assert _run(second) == 0
    assert '"from": "two"' in capsys.readouterr().out


def test_relative_and_sibling_imports_inside_the_project_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _create(tmp_path, "delta")
    (project / "system" / "labels.py").write_text('PREFIX = "relative"\n', encoding="utf-8")
    (project / "siblings.py").write_text('SUFFIX = "absolute"\n', encoding="utf-8")
    system = project / "system" / "system.py"
    system.write_text(
        system.read_text(encoding="utf-8")
        .replace(
            "from lllm_domain import Function, System\n",
            "from lllm_domain import Function, System\nfrom siblings import SUFFIX\n\n"
            "from .labels import PREFIX\n",
        )
        .replace('return {"answer": answer,', 'return {"answer": answer, "via": PREFIX + SUFFIX,'),
        encoding="utf-8",
    )

    assert _run(project) == 0
    assert '"via": "relativeabsolute"' in capsys.readouterr().out


def test_a_system_module_that_raises_is_reported_at_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _create(tmp_path, "eps")
    system = project / "system" / "system.py"
    lines = system.read_text(encoding="utf-8").splitlines()
    lines.insert(12, 'raise ValueError("no database configured")')
    system.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()

    assert _run(project) == 2
    line = _error_line(capsys)
    assert f"{system}:13: " in line
    assert "ValueError: no database configured" in line
    assert "lllm.toml" not in line


def test_a_failure_in_a_module_the_system_imports_points_at_that_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _create(tmp_path, "zeta")
    (project / "system" / "helpers.py").write_text('X = 1\nY = {}["missing"]\n', "utf-8")
    system = project / "system" / "system.py"
    system.write_text(
        system.read_text(encoding="utf-8").replace(
            "from lllm_domain import Function, System\n",
            "from lllm_domain import Function, System\n\nfrom .helpers import X\n",
        ),
        encoding="utf-8",
    )
    capsys.readouterr()

    assert _run(project) == 2
    line = _error_line(capsys)
    assert f"{project / 'system' / 'helpers.py'}:2: " in line
    assert "KeyError: 'missing'" in line


def test_sys_exit_while_importing_the_system_module_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _create(tmp_path, "eta")
    system = project / "system" / "system.py"
    system.write_text("import sys\n\nsys.exit(3)\n", encoding="utf-8")
    capsys.readouterr()

    assert _run(project) == 2
    line = _error_line(capsys)
    assert f"{system}:3: " in line
    assert "sys.exit(3)" in line


def test_a_broken_scripted_hook_is_reported_at_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _create(tmp_path, "theta")
    scripted = project / "scripted.py"
    scripted.write_text("import sys\n\nx = 1 / 0\n", encoding="utf-8")
    capsys.readouterr()

    assert _run(project) == 2
    line = _error_line(capsys)
    assert f"{scripted}:3: " in line
    assert "ZeroDivisionError" in line

    scripted.write_text("import sys\n\nsys.exit(4)\n", encoding="utf-8")
    assert _run(project) == 2
    assert "sys.exit(4)" in _error_line(capsys)


def test_a_missing_system_module_points_at_its_setting_in_lllm_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _create(tmp_path, "iota")
    toml = project / "lllm.toml"
    text = toml.read_text(encoding="utf-8").replace('"system.system"', '"system.nowhere"')
    toml.write_text(text, encoding="utf-8")
    line_no = next(
        i for i, line in enumerate(text.splitlines(), 1) if line.startswith("system_module")
    )
    capsys.readouterr()

    assert _run(project) == 2
    line = _error_line(capsys)
    assert f"{toml}:{line_no}: " in line
    assert "cannot find [project] system_module 'system.nowhere'" in line
