"""`lllm run` with a real (local) OpenAI-compatible endpoint: model cards from the project's
``[models]`` table, and an explicit ``--config`` file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_runner import lllm
from tests.support.openai_server import OpenAIServer, RecordedRequest, chat_completion


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    def answer(request: RecordedRequest) -> dict[str, object]:
        return chat_completion("<answer>42</answer>", usage=(1000, 500, 0, 0))

    with OpenAIServer(handler=answer) as running:
        yield running


def _project(tmp_path: Path) -> Path:
    created = lllm("create", "--name", "cards", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    return tmp_path / "cards"


def test_a_model_card_from_lllm_toml_routes_prices_and_keys_its_model(
    tmp_path: Path, server: OpenAIServer
) -> None:
    project = _project(tmp_path)
    with (project / "lllm.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            '\n[models."house-model"]\n'
            'provider = "house"\n'
            f'base_url = "{server.url}"\n'
            'api_key_env = "HOUSE_KEY"\n'
            "pricing = { input = 2.0, output = 4.0 }\n"
        )
    env = {"OPENAI_API_KEY": "sk-official-key-never-sent-elsewhere", "HOUSE_KEY": "house-secret"}

    run = lllm("run", "What is 40 + 2?", "--model", "house-model", cwd=project, env=env)

    assert run.returncode == 0, run.stderr
    (request,) = server.requests
    assert request.json["model"] == "house-model"
    assert request.headers["authorization"] == "Bearer house-secret"
    # 1000 input tokens at $2/M + 500 output tokens at $4/M = $0.004, from the project's card.
    assert re.search(r"cost: \$0\.004000 ", run.stdout), run.stdout


def test_an_unknown_model_on_openai_itself_points_at_the_models_table(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = lllm(
        "run",
        "What is 40 + 2?",
        "--model",
        "no-such-model",
        cwd=project,
        env={"OPENAI_API_KEY": "sk-official-key"},
    )
    assert run.returncode == 2
    assert "[models.'no-such-model']" in run.stderr


def test_run_with_another_config_file(tmp_path: Path, server: OpenAIServer) -> None:
    project = _project(tmp_path)
    default = project / "config" / "cards" / "default.yaml"
    other = project / "config" / "cards" / "big.yaml"
    other.write_text(
        default.read_text(encoding="utf-8").replace("gpt-4o-mini", "gpt-4o"), encoding="utf-8"
    )
    env = {"OPENAI_API_KEY": "sk-test-key", "OPENAI_BASE_URL": server.url}

    run = lllm("run", "What is 40 + 2?", "--config", str(other), cwd=project, env=env)

    assert run.returncode == 0, run.stderr
    assert [r.json["model"] for r in server.requests] == ["gpt-4o-2024-08-06"]
    assert '"answer": "42"' in run.stdout
