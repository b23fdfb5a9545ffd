"""The `lllm` application: help everywhere, version, exit codes, --debug, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lllm_cli import __version__
from lllm_cli.app import run_cli
from lllm_domain.errors import ConfigError

from tests.support.cli_runner import clean_env, lllm

COMMANDS = [
    [],
    ["create"],
    ["run"],
    ["logs"],
    ["logs", "list"],
    ["logs", "show"],
    ["logs", "cost"],
    ["logs", "export"],
    ["batch"],
    ["batch", "run"],
    ["batch", "status"],
    ["batch", "report"],
    ["prompts"],
    ["prompts", "list"],
    ["proxies"],
    ["proxies", "list"],
    ["proxies", "catalog"],
    ["proxies", "test"],
    ["--install-completion"],
]

HEAVY = (
    "httpx2",
    "httpx",
    "httpcore",
    "jupyter_client",
    "nbformat",
    "tiktoken",
    "structlog",
    "yaml",
    "streamlit",
    "lllm_adapters",
    "lllm_templates",
    "rich.markdown",
    "markdown_it",
    "msgspec",
)
"""Modules `lllm --help` must not import. (rich's core is imported by cyclopts itself to
render help; the markdown renderer is not, since our help is plain text.)"""

LIGHT_ADAPTERS = frozenset(
    {
        "lllm_adapters",
        "lllm_adapters.observability",
        "lllm_adapters.observability.redaction",
        "lllm_adapters.observability.redacting_stream",
    }
)
"""The exception: the redactor every printed line passes through (standard library only; the
packages' ``__init__`` modules load their names lazily)."""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "lllm")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: lllm" in out


def test_top_level_help_lists_every_command_and_the_debug_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_cli(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("create", "run", "logs", "prompts", "proxies", "--version", "--debug"):
        assert name in out
    assert "--install-completion" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lllm {__version__}"


@pytest.mark.parametrize(
    "args",
    [["create", "--bogus"], ["nonsense"], ["logs", "show"], ["run"], ["create", "a", "b", "c"]],
)
def test_bad_arguments_exit_2_without_a_traceback(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(args) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err


def test_user_errors_exit_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lllm_cli import scaffold

    def broken(name: str, template: str, parent: Path) -> Path:
        raise ConfigError("something is wrong", file="lllm.toml", line=3)

    monkeypatch.setattr(scaffold, "create_project", broken)
    monkeypatch.setattr("lllm_cli.commands.create.create_project", broken)
    assert run_cli(["create", "demo"]) == 2
    err = capsys.readouterr().err
    assert err == "lllm: error: lllm.toml:3: something is wrong\n"


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str, template: str, parent: Path) -> Path:
        raise ConfigError("something is wrong")

    monkeypatch.setattr("lllm_cli.commands.create.create_project", broken)
    with pytest.raises(ConfigError, match="something is wrong"):
        run_cli(["--debug", "create", "demo"])
    monkeypatch.setenv("LLLM_DEBUG", "1")
    with pytest.raises(ConfigError):
        run_cli(["create", "demo"])


def test_debug_turns_on_debug_log_lines_unless_a_level_is_chosen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Set, then delete: monkeypatch records the variable, so the DEBUG that run_cli sets is
    # undone after the test instead of leaking into later ones.
    monkeypatch.setenv("LLLM_LOG_LEVEL", "unset")
    monkeypatch.delenv("LLLM_LOG_LEVEL")
    assert run_cli(["--debug", "--version"]) == 0
    assert os.environ["LLLM_LOG_LEVEL"] == "DEBUG"
    monkeypatch.setenv("LLLM_LOG_LEVEL", "ERROR")
    assert run_cli(["--debug", "--version"]) == 0
    assert os.environ["LLLM_LOG_LEVEL"] == "ERROR"


def test_internal_errors_exit_1_and_point_at_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(name: str, template: str, parent: Path) -> Path:
        raise RuntimeError("boom")

    monkeypatch.setattr("lllm_cli.commands.create.create_project", broken)
    assert run_cli(["create", "demo"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err
    assert "--debug" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [[], ["logs"], ["run"], ["create"]], ids=str)
def test_help_imports_no_heavy_modules(command: list[str]) -> None:
    code = (
        "import sys, json, contextlib, io\n"
        "from lllm_cli.app import run_cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = run_cli({[*command, '--help']!r})\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), check=True
    )
    exit_code, modules = json.loads(result.stdout.strip().splitlines()[-1])
    assert exit_code == 0
    loaded = [
        m
        for m in modules
        if any(m == h or m.startswith(h + ".") for h in HEAVY) and m not in LIGHT_ADAPTERS
    ]
    assert loaded == []


def test_the_installed_entry_point_answers_help(tmp_path: Path) -> None:
    result = lllm("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "create" in result.stdout


def test_completion_script_can_be_generated(tmp_path: Path) -> None:
    out = tmp_path / "lllm.bash"
    result = lllm(
        "--install-completion",
        "--shell",
        "bash",
        "--output",
        str(out),
        "--no-add-to-startup",
        cwd=tmp_path,
        env={"HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    script = out.read_text(encoding="utf-8")
    assert "lllm" in script
    assert "create" in script


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["rnu", "x"], 'lllm: error: Unknown command "rnu". Did you mean "run"?'),
        (["run", "x", "--strem"], "lllm: error: Unknown option: --strem. Did you mean --stream?"),
        (["logs", "shw"], 'lllm: error: Unknown command "shw". Did you mean "show"?'),
        (["run"], "lllm: error: "),
        (["run", "x", "--max-cost", "lots"], "lllm: error: "),
    ],
)
def test_argument_errors_are_one_line_with_the_suggestion(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/cli.md: a bad argument prints one line `lllm: error: ...` (no box), exit 2.
    assert run_cli(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(expected)
    assert not any(ch in captured.err for ch in "╭│╰")


def test_a_bad_argument_under_debug_is_still_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing to trace in a typo: --debug changes nothing for argument errors.
    assert run_cli(["--debug", "rnu"]) == 2
    assert capsys.readouterr().err.startswith('lllm: error: Unknown command "rnu".')


GROUP_HELP = [[], ["--help"], ["-h"], ["logs", "--help"], ["prompts", "-h"], ["proxies", "--help"]]


@pytest.mark.parametrize("args", GROUP_HELP, ids=lambda a: " ".join(a) or "lllm")
def test_the_help_of_command_groups_needs_neither_cyclopts_nor_rich(args: list[str]) -> None:
    # Start-up: `lllm --help` is answered from the command table without importing cyclopts
    # (and the rich it renders with), which cost most of its time (bench/cli_startup.py).
    code = (
        "import sys, json, contextlib, io\n"
        "from lllm_cli.app import run_cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = run_cli({args!r})\n"
        "loaded = ['cyclopts' in sys.modules, 'rich' in sys.modules]\n"
        "print(json.dumps([code, out.getvalue(), *loaded]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), check=True
    )
    exit_code, out, cyclopts_loaded, rich_loaded = json.loads(result.stdout.splitlines()[-1])
    assert exit_code == 0
    assert out.startswith("Usage: lllm")
    assert not cyclopts_loaded and not rich_loaded


@pytest.mark.parametrize("group", [None, "logs", "prompts", "proxies"])
def test_the_quick_help_lists_what_cyclopts_would(
    group: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    from lllm_cli.app import build_app

    app = build_app()
    args = ["--help"] if group is None else [group, "--help"]
    app(args, exit_on_error=False, result_action="return_value")
    by_cyclopts = capsys.readouterr().out
    assert run_cli(args) == 0
    quick = capsys.readouterr().out
    words = lambda text: " ".join(text.replace("│", " ").replace("╭", " ").split())  # noqa: E731
    for line in by_cyclopts.splitlines():
        first = line.replace("│", " ").split()
        if first and (first[0].isidentifier() or first[0].startswith("--")):
            assert first[0] in quick, (first[0], quick)
    assert words(by_cyclopts).split("Commands")[0] == words(quick).split("Commands")[0]
