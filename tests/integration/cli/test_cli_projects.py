"""Created projects as a user meets them: their own tests pass, they lint clean, `lllm run`
works offline with the scripted model, and the inspection commands read what it logged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli_runner import clean_env, lllm

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def _create(tmp_path: Path, template: str, name: str = "demo") -> Path:
    result = lllm("create", name, "--template", template, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / name


def _session(output: str) -> str:
    match = re.search(r"^session (\S+) ·", output, re.MULTILINE)
    assert match, output
    return match.group(1)


@pytest.mark.parametrize("template", ["init_template", "example"])
def test_a_created_project_passes_its_own_tests_and_lints_clean(
    tmp_path: Path, template: str
) -> None:
    project = _create(tmp_path, template)

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout

    lint = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_run_offline_then_inspect_the_logs(tmp_path: Path) -> None:
    project = _create(tmp_path, "init_template")

    run = lllm("run", "What is 17 + 25?", "--model", "scripted", cwd=project)

    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith("[scripted model: offline replies")
    assert "tool add({'a': 17.0, 'b': 25.0}) -> 42.0" in out
    assert '"answer": "42.0"' in out
    assert re.search(r"cost: \$0\.000000 \(3 model replies", out)
    session = _session(out)

    listed = lllm("logs", "list", cwd=project)
    assert listed.returncode == 0
    assert session in listed.stdout
    assert "What is 17 + 25?" in listed.stdout

    shown = lllm("logs", "show", session, cwd=project)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "→ calls add(a=17.0, b=25.0)" in text
    assert "tool result" in text
    assert "↻ retry: attempt 1 failed: 'The sum is 42.0.'" in text
    assert "prompt demo/task::exception" in text
    assert "<answer>42.0</answer>" in text
    assert "total: $0.000000 · 3 model replies" in text

    cost = lllm("logs", "cost", session, cwd=project)
    assert cost.returncode == 0
    assert "agent assistant" in cost.stdout
    assert "model scripted" in cost.stdout  # never passed off as the configured model's work
    assert "gpt-4o-mini" not in cost.stdout

    page = tmp_path / "session.html"
    exported = lllm("logs", "export", session, "--html", str(page), cwd=project)
    assert exported.returncode == 0, exported.stderr
    html = page.read_text(encoding="utf-8")
    assert "&lt;answer&gt;42.0&lt;/answer&gt;" in html
    assert "<answer>" not in html
    assert "http://" not in html and "https://" not in html  # self-contained

    # From outside the project, --project and --log-dir find the same session.
    elsewhere = lllm("logs", "show", session, "--project", str(project), cwd=tmp_path)
    assert elsewhere.returncode == 0
    direct = lllm("logs", "list", "--log-dir", str(project / "logs"), cwd=tmp_path)
    assert session in direct.stdout


def test_the_example_streams_and_names_sessions_after_the_experiment(tmp_path: Path) -> None:
    project = _create(tmp_path, "example", "ex")

    run = lllm("run", "count these four words", "--model", "scripted", "--stream", cwd=project)

    assert run.returncode == 0, run.stderr
    assert "<analysis>The task has 4 words" in run.stdout
    assert '"title": "Scripted summary"' in run.stdout
    assert _session(run.stdout).startswith("ex-exp-001-")


def test_discovery_commands_show_prompts_and_proxies(tmp_path: Path) -> None:
    project = _create(tmp_path, "example", "ex")

    prompts = lllm("prompts", "list", cwd=project)
    assert prompts.returncode == 0, prompts.stderr
    assert "ex/analyze" in prompts.stdout
    assert "tools: word_count" in prompts.stdout
    assert "format: Summary" in prompts.stdout
    assert "tags: <analysis>, <answer> · required: analysis, answer" in prompts.stdout
    assert "signals: <CONFIDENT>" in prompts.stdout

    proxies = lllm("proxies", "list", cwd=project)
    assert proxies.returncode == 0, proxies.stderr
    assert "finance/frankfurter/rates/latest" in proxies.stdout
    assert "knowledge/wikipedia/pages/summary" in proxies.stdout

    catalog = lllm("proxies", "catalog", "--proxy", "finance/frankfurter", cwd=project)
    assert catalog.returncode == 0, catalog.stderr
    assert "finance/frankfurter" in catalog.stdout
    assert "wikipedia" not in catalog.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "a task"], "set OPENAI_API_KEY"),
        (["run", "   ", "--model", "scripted"], "the task is empty"),
        (["run", "x", "--config", "missing.yaml", "--model", "scripted"], "does not exist"),
        (["logs", "show", "no-such-session"], "no logged session 'no-such-session'"),
        (["proxies", "test"], "no proxies to test"),
        (["proxies", "catalog", "--proxy", "nope/nope"], "no proxy registered as 'nope/nope'"),
        (["run", "x", "--project", "/no/such/folder"], "does not exist"),
    ],
)
def test_user_errors_in_a_project_exit_2_with_one_clear_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    project = _create(tmp_path, "init_template")

    result = lllm(*args, cwd=project)

    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_missing_key_message_says_what_to_set(tmp_path: Path) -> None:
    project = _create(tmp_path, "init_template")
    result = lllm("run", "a task", cwd=project)
    assert result.returncode == 2
    for hint in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "--model scripted"):
        assert hint in result.stderr


def test_outside_a_project_run_says_how_to_get_one(tmp_path: Path) -> None:
    result = lllm("run", "a task", "--model", "scripted", cwd=tmp_path)
    assert result.returncode == 2
    assert "no lllm.toml" in result.stderr
    assert "lllm create" in result.stderr


def test_a_broken_project_file_is_reported_with_its_line(tmp_path: Path) -> None:
    project = _create(tmp_path, "init_template")
    toml = project / "lllm.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[promts]\nfolders = []\n", "utf-8")

    result = lllm("prompts", "list", cwd=project)

    assert result.returncode == 2
    assert "lllm.toml:" in result.stderr
    assert "promts" in result.stderr
    debug = lllm("--debug", "prompts", "list", cwd=project)
    assert "Traceback" in debug.stderr
