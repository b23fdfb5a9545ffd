"""File names made from user input must stay where they belong and never crash the command.

A session name is data: ``lllm logs export SESSION`` must not write ``SESSION.html`` wherever the
name points (``../../x``, ``/abs/path``), and names too long for the file system (an export, a
project) end with one line and exit status 2, never "internal error: OSError".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from lllm_cli.app import USER_ERROR_EXIT, run_cli

LONG = "n" * 300


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`lllm run` in-process points structlog at this test's captured stderr, which closes with
    the test: put the previous configuration back so later tests do not log into it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def project_with_session(tmp_path: Path, session: str, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run_cli(["create", "files_demo", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "files_demo"
    args = ["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)]
    assert run_cli([*args, "--session", session]) == 0
    capsys.readouterr()
    return project


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("session", ["../../escaped", "sub/../../../escaped", "a/b/c"])
def test_export_by_default_writes_a_plain_file_in_the_current_folder(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    session: str,
) -> None:
    project = project_with_session(tmp_path, session, capsys)
    here = project / "one" / "two"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    before = files_under(tmp_path)

    code = run_cli(["logs", "export", session, "--project", str(project)])

    out, err = capsys.readouterr()
    assert code == 0, err
    new = files_under(tmp_path) - before
    assert len(new) == 1, new
    (written,) = new
    assert written.parent == here and written.suffix == ".html"
    assert "/" not in written.name and not written.name.startswith(".")
    assert written.name in out


def test_export_of_an_absolute_session_name_stays_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "pwned"
    target.parent.mkdir()
    project = project_with_session(tmp_path, str(target), capsys)
    monkeypatch.chdir(project)

    code = run_cli(["logs", "export", str(target), "--project", str(project)])

    assert code == 0, capsys.readouterr().err
    assert list(target.parent.iterdir()) == []
    assert len(list(project.glob("*.html"))) == 1


def test_a_plain_session_name_keeps_its_own_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_with_session(tmp_path, "plain-name_1.2", capsys)
    monkeypatch.chdir(tmp_path)
    assert run_cli(["logs", "export", "plain-name_1.2", "--project", str(project)]) == 0
    assert (tmp_path / "plain-name_1.2.html").is_file()


def test_export_of_a_300_character_session_name_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_with_session(tmp_path, LONG, capsys)
    monkeypatch.chdir(tmp_path)

    code = run_cli(["logs", "export", LONG, "--project", str(project)])

    assert code == 0, capsys.readouterr().err
    (written,) = tmp_path.glob("*.html")
    assert len(written.name) < 100


@pytest.mark.parametrize("html", [f"{LONG}.html", f"{LONG}/x.html"], ids=["file", "folder"])
def test_a_too_long_html_path_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    html: str,
) -> None:
    project = project_with_session(tmp_path, "short", capsys)
    monkeypatch.chdir(tmp_path)

    code = run_cli(["logs", "export", "short", "--html", html, "--project", str(project)])

    err = capsys.readouterr().err
    assert code == USER_ERROR_EXIT
    line = one_error_line(err)
    assert "--html" in line and "too long" in line.lower()


def test_create_with_a_300_character_name_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["create", "--name", LONG, "--dir", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == USER_ERROR_EXIT
    line = one_error_line(err)
    assert "characters" in line and "--name" in line
    assert list(tmp_path.iterdir()) == []


def test_create_in_a_too_long_folder_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(["create", "--name", "ok_name", "--dir", str(tmp_path / LONG)])

    assert code == USER_ERROR_EXIT
    one_error_line(capsys.readouterr().err)
