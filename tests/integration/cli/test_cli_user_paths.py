"""Paths the user names that cannot be written are user errors: one line naming the path, exit
status 2, never an internal error (run in-process)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from lllm_cli.app import run_cli
from lllm_cli.errors import CommandError
from lllm_cli.scaffold import create_project


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "internal error" not in err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def logged_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    assert run_cli(["create", "paths_demo", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "paths_demo"
    assert run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)]) == 0
    match = re.search(r"^session (\S+) ·", capsys.readouterr().out, re.MULTILINE)
    assert match
    return project, match.group(1)


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_export_to_an_unwritable_path_is_a_one_line_user_error(
    logged_session: tuple[Path, str], capsys: pytest.CaptureFixture[str], where: str
) -> None:
    project, session = logged_session
    if where == "proc":
        if not Path("/proc").is_dir() or sys.platform != "linux":
            pytest.skip("needs Linux /proc")
        target = Path("/proc/x.html")
    else:
        blocker = project / "not_a_folder"
        blocker.write_text("a file, not a folder\n", encoding="utf-8")
        target = blocker / "x.html"

    code = run_cli(["logs", "export", session, "--html", str(target), "--project", str(project)])

    assert code == 2
    line = _one_error_line(capsys)
    assert line.startswith("lllm: error: cannot write --html")
    assert str(target) in line


def test_create_in_an_unwritable_folder_is_a_one_line_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/proc").is_dir() or sys.platform != "linux":
        pytest.skip("needs Linux /proc")

    assert run_cli(["create", "nowhere", "--dir", "/proc"]) == 2

    line = _one_error_line(capsys)
    assert "cannot create '/proc/nowhere'" in line


def test_a_write_failing_halfway_through_create_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = Path.write_bytes
    written: list[Path] = []

    def flaky_write(self: Path, data: bytes) -> int:  # type: ignore[override]
        if len(written) == 2:
            raise OSError(28, "No space left on device", str(self))
        written.append(self)
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky_write)

    with pytest.raises(CommandError, match="No space left on device; nothing was created"):
        create_project("half", "init_template", tmp_path)
    assert not (tmp_path / "half").exists()


def test_completion_to_an_unwritable_output_is_a_one_line_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file\n", encoding="utf-8")
    target = blocker / "lllm.bash"

    code = run_cli(
        [
            "--install-completion",
            "--shell",
            "bash",
            "--output",
            str(target),
            "--no-add-to-startup",
        ]
    )

    assert code == 2
    line = _one_error_line(capsys)
    assert "cannot write" in line
    assert str(blocker) in line
