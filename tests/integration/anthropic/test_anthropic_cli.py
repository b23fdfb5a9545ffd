"""`lllm run` on a Claude model: the model name (``--model`` or the system config's
``model_name``) picks the Anthropic caller; its key, and only its key, is asked for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.anthropic_server import AnthropicServer, RecordedRequest, message
from tests.support.cli_runner import lllm

KEY = "sk-ant-cli-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[AnthropicServer]:
    def answer(request: RecordedRequest) -> dict[str, object]:
        return message("<answer>42</answer>", usage=(1000, 500, 0, 0))

    with AnthropicServer(handler=answer) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("claude")
    created = lllm("create", "--name", "claude", cwd=root)
    assert created.returncode == 0, created.stderr
    return root / "claude"


def test_model_option_runs_a_claude_model_without_an_openai_key(
    project: Path, server: AnthropicServer
) -> None:
    server.requests.clear()
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.url}
    run = lllm("run", "What is 40 + 2?", "--model", "claude-haiku-4-5", cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    (request,) = server.requests
    assert request.path == "/v1/messages" and request.headers["x-api-key"] == KEY
    body = request.json
    assert body["model"] == "claude-haiku-4-5-20251001"
    # The scaffold's max_completion_tokens: 800 and temperature: 0.2, in Anthropic's terms.
    assert (body["max_tokens"], body["temperature"]) == (800, 0.2)
    # 1000 input tokens at $1/M + 500 output tokens at $5/M = $0.0035, from the Claude card.
    assert re.search(r"cost: \$0\.003500 ", run.stdout), run.stdout
    assert KEY not in run.stdout + run.stderr


def test_a_system_config_model_name_picks_anthropic_too(
    project: Path, server: AnthropicServer
) -> None:
    server.requests.clear()
    config = project / "config" / "claude" / "default.yaml"
    other = config.with_name("claude.yaml")
    other.write_text(
        config.read_text(encoding="utf-8").replace("gpt-4o-mini", "claude-sonnet-4-5"),
        encoding="utf-8",
    )
    env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": server.url}
    run = lllm("run", "What is 40 + 2?", "--config", str(other), cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    assert server.requests[0].json["model"] == "claude-sonnet-4-5-20250929"


def test_a_missing_anthropic_key_is_one_line_naming_the_variable(project: Path) -> None:
    run = lllm(
        "run",
        "What is 40 + 2?",
        "--model",
        "claude-sonnet-4-5",
        cwd=project,
        env={"OPENAI_API_KEY": "sk-openai-only-key-0000000000"},
    )
    assert run.returncode == 2
    assert "ANTHROPIC_API_KEY" in run.stderr and "claude-sonnet-4-5" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
