"""The composition root's wiring: recording callers, replay, proxies as Runtime.tools."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_cli.composition import ModelChoice, make_runtime, open_replay, open_tools, recording
from lllm_cli.project import Project
from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.errors import LLLMError
from lllm_domain.log_writer import writer_for
from lllm_domain.message import user_message
from lllm_domain.recording import RecordingCaller, ReplayCaller
from lllm_domain.request import LLMRequest
from lllm_domain.testing import ScriptedCaller

from tests.support.memory_log import MemoryLogStore


def _request(text: str) -> LLMRequest:
    return LLMRequest(
        messages=(user_message(text),), model="m", agent_name="assistant", session="s"
    )


def _config(**changes: object) -> SystemConfig:
    return SystemConfig(
        name="demo",
        agent_configs={"assistant": AgentConfig(model_name="m", system_prompt_path="p")},
        **changes,  # type: ignore[arg-type]
    )


def test_recording_wraps_each_caller_once_and_records_under_the_session() -> None:
    store = MemoryLogStore()
    inner = ScriptedCaller(["hello"])
    factory = recording(lambda config: inner, store, "run-1")
    cfg = AgentConfig(model_name="m", system_prompt_path="p")

    first, second = factory(cfg), factory(cfg)

    assert isinstance(first, RecordingCaller) and first is second
    assert first.call(_request("hi")).content == "hello"
    writer_for(store).flush()  # recorders hand their records to the store's writer
    assert [r.data["reply"]["content"] for r in store.read("calls", "run-1")] == ["hello"]


def test_a_replay_runtime_answers_from_the_recording_and_records_again(tmp_path: Path) -> None:
    store = MemoryLogStore()
    recorder = RecordingCaller(ScriptedCaller(["hello"]), store, session="old")
    recorder.call(_request("hi"))
    store.append("sessions", "old", {"event": "start"})
    replay = open_replay(store, "old")
    project = Project(tmp_path, tmp_path / "lllm.toml", {})

    runtime = make_runtime(
        project,
        _config(),
        ModelChoice(scripted=False),  # would need OPENAI_API_KEY: the replay must not ask
        want_async=False,
        log_store=store,
        frontend=None,  # type: ignore[arg-type]
        session="new",
        replay=replay,
    )
    caller = runtime.callers(AgentConfig(model_name="m", system_prompt_path="p"))

    assert isinstance(caller, RecordingCaller) and isinstance(caller.inner, ReplayCaller)
    assert caller.call(_request("hi")).content == "hello"
    writer_for(store).flush()
    assert len(store.read("calls", "new")) == 1
    assert runtime.tools is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "log_type: none"),
        ("unknown", "no logged session 'old'"),
        ("no-calls", "has no recorded model calls"),
    ],
)
def test_open_replay_says_what_is_missing(setup: str, message: str) -> None:
    store = MemoryLogStore()
    if setup == "no-calls":
        store.append("sessions", "old", {"event": "start"})
    with pytest.raises(LLLMError, match=message):
        open_replay(None if setup == "none" else store, "old")


def test_no_activated_proxies_means_no_tool_runtime(tmp_path: Path) -> None:
    project = Project(tmp_path, tmp_path / "lllm.toml", {})
    assert open_tools(project, _config()) is None


def test_activated_proxies_open_an_http_runtime_over_the_projects_registry(
    tmp_path: Path,
) -> None:
    from lllm_domain.proxy import Proxy, endpoint

    class Echo(Proxy):
        path = "test/echo"
        base_url = "http://127.0.0.1:9"

        @endpoint("a", "b", "An endpoint.")
        def b(self, params: dict[str, object]) -> None:
            return None

    project = Project(tmp_path, tmp_path / "lllm.toml", {})
    project.proxies.register("test/echo", Echo)

    tools = open_tools(project, _config(activate_proxies=("test/echo", "test/missing")))

    assert tools is not None
    try:
        assert tools.paths() == ["test/echo/a/b"]
        assert list(tools.missing) == ["test/missing"]
        assert [f.name for f in tools.functions()] == ["test__echo__a__b"]
    finally:
        tools.close()


def test_the_runtime_gives_agents_a_tiktoken_provider_for_classification(tmp_path: Path) -> None:
    from lllm_adapters.tokenizer import TiktokenProvider

    project = Project(tmp_path, tmp_path / "lllm.toml", {})
    runtime = make_runtime(
        project,
        _config(),
        ModelChoice(scripted=True),
        want_async=False,
        log_store=None,
        frontend=None,  # type: ignore[arg-type]
        session="s",
    )
    assert isinstance(runtime.tokenizers, TiktokenProvider)


def test_the_model_name_picks_the_provider(tmp_path: Path) -> None:
    from lllm_adapters.anthropic import AnthropicCaller
    from lllm_adapters.openai import OpenAICaller
    from lllm_cli.composition import model_callers

    project = Project(tmp_path, tmp_path / "lllm.toml", {})
    env = {"ANTHROPIC_API_KEY": "sk-ant-x", "OPENAI_API_KEY": "sk-x"}
    factory, cards = model_callers(
        project,
        ModelChoice(scripted=False),
        want_async=False,
        environ=env,
        models=["claude-haiku-4-5", "gpt-4o"],
    )
    claude = factory(AgentConfig(model_name="claude-haiku-4-5", system_prompt_path="p"))
    sonnet = factory(AgentConfig(model_name="claude-sonnet-4-5", system_prompt_path="p"))
    gpt = factory(AgentConfig(model_name="gpt-4o", system_prompt_path="p"))
    assert isinstance(claude, AnthropicCaller) and sonnet is claude  # one caller per provider
    assert isinstance(gpt, OpenAICaller)
    assert cards("claude-haiku-4-5").provider == "anthropic"


def test_a_claude_run_needs_the_anthropic_key_and_not_the_openai_one(tmp_path: Path) -> None:
    from lllm_cli.composition import model_callers
    from lllm_cli.errors import CommandError

    project = Project(tmp_path, tmp_path / "lllm.toml", {})
    # Only Claude models: no OPENAI_API_KEY is asked for.
    model_callers(
        project,
        ModelChoice(scripted=False),
        want_async=True,
        environ={"ANTHROPIC_API_KEY": "sk-ant-x"},
        models=["claude-haiku-4-5"],
    )
    with pytest.raises(CommandError, match="ANTHROPIC_API_KEY") as info:
        model_callers(
            project,
            ModelChoice.from_option("claude-sonnet-4-5"),
            want_async=False,
            environ={"OPENAI_API_KEY": "sk-x"},
        )
    assert "--model 'claude-sonnet-4-5' is an Anthropic model" in str(info.value)
    # A key-less gateway is fine.
    model_callers(
        project,
        ModelChoice.from_option("claude-sonnet-4-5"),
        want_async=False,
        environ={"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"},
    )


def test_a_project_card_can_make_any_name_a_claude_model(tmp_path: Path) -> None:
    from lllm_adapters.anthropic import AnthropicCaller
    from lllm_cli.composition import model_callers

    project = Project(
        tmp_path,
        tmp_path / "lllm.toml",
        {},
        models={"house-model": {"provider": "anthropic", "snapshots": ["claude-opus-5"]}},
    )
    factory, _ = model_callers(
        project,
        ModelChoice.from_option("house-model"),
        want_async=False,
        environ={"ANTHROPIC_API_KEY": "sk-ant-x"},
    )
    assert isinstance(
        factory(AgentConfig(model_name="house-model", system_prompt_path="p")), AnthropicCaller
    )
