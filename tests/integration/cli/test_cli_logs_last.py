"""`lllm logs show|cost|export` take `last` or no session: the most recent one; export writes
`<session>.html` in the current folder by default (run in-process)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lllm_cli.app import run_cli


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def two_sessions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[str]]:
    assert run_cli(["create", "last_demo", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "last_demo"
    names = []
    for task, session in (("What is 2 + 3?", "first-one"), ("What is 4 + 5?", "zz-second")):
        args = ["run", task, "--model", "scripted", "--project", str(project)]
        assert run_cli([*args, "--session", session]) == 0
        names.append(session)
    capsys.readouterr()
    return project, names


@pytest.mark.parametrize("how", [[], ["last"]], ids=["omitted", "last"])
def test_show_defaults_to_the_most_recent_session(
    two_sessions: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str], how: list[str]
) -> None:
    project, (first, second) = two_sessions
    assert run_cli(["logs", "show", *how, "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"session {second}\n")
    assert "4 + 5" in out
    assert run_cli(["logs", "show", first, "--project", str(project)]) == 0
    assert capsys.readouterr().out.startswith(f"session {first}\n")


def test_cost_of_the_last_session(
    two_sessions: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    project, _ = two_sessions
    assert run_cli(["logs", "cost", "--project", str(project)]) == 0
    assert "model scripted" in capsys.readouterr().out


def test_export_defaults_to_the_last_session_as_session_html_here(
    two_sessions: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, (_, second) = two_sessions
    here = tmp_path / "out"
    here.mkdir()
    monkeypatch.chdir(here)
    assert run_cli(["logs", "export", "last", "--project", str(project)]) == 0
    page = here / f"{second}.html"
    assert page.is_file()
    assert second in page.read_text(encoding="utf-8")
    assert re.search(rf"Wrote {re.escape(page.name)} \(\d+ bytes\)", capsys.readouterr().out)


def test_last_without_sessions_says_to_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "logs").mkdir()
    assert run_cli(["logs", "show", "--log-dir", str(tmp_path / "logs")]) == 2
    assert capsys.readouterr().err.strip() == (
        "lllm: error: no logged sessions yet; run `lllm run TASK` first"
    )


def test_export_reports_the_file_size_in_bytes_not_characters(
    two_sessions: tuple[Path, list[str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    project, (_, second) = two_sessions
    # The page holds non-ASCII characters (the transcript's arrows, "·"), so characters and
    # bytes differ: the message must give the size on disk.
    page = tmp_path / "page.html"
    assert run_cli(["logs", "export", second, "--html", str(page), "--project", str(project)]) == 0
    size = page.stat().st_size
    assert len(page.read_text(encoding="utf-8")) < size
    assert f"({size} bytes)" in capsys.readouterr().out
