"""Tool sources in the domain: merging drawn tools with a prompt's own (namespaced on a clash),
and agents drawing them at the start of every call, sync and async, with fake sources."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from lllm_domain import Agent, AgentConfig, Prompt, Runtime, SystemConfig, ToolSource
from lllm_domain.errors import ConfigError
from lllm_domain.function import Function, tool
from lllm_domain.registry import PromptRegistry
from lllm_domain.system import System
from lllm_domain.testing import ScriptedCaller, call, tool_calls
from lllm_domain.tool_source import merge_tools, namespaced


def _named(name: str, reply: str) -> Function:
    def run() -> str:
        return reply

    return Function(name, f"returns {reply}", callable=run)


class FakeSource:
    """A tool source with fixed tools; counts how often it is asked."""

    def __init__(self, name: str, *functions: Function) -> None:
        self._name = name
        self._functions = functions
        self.asked = 0
        self.aasked = 0

    @property
    def name(self) -> str:
        return self._name

    def functions(self) -> Sequence[Function]:
        self.asked += 1
        return self._functions

    async def afunctions(self) -> Sequence[Function]:
        self.aasked += 1
        return self._functions


def test_a_fake_source_is_a_tool_source() -> None:
    assert isinstance(FakeSource("x"), ToolSource)


def test_merge_keeps_unique_names_and_namespaces_clashes() -> None:
    local = (_named("echo", "local"),)
    drawn = [
        ("files", (_named("read", "a"), _named("echo", "files"))),
        ("web", (_named("read", "b"), _named("fetch", "c"))),
    ]
    merged = merge_tools(local, drawn)
    assert [f.name for f in merged] == ["echo", "files__read", "files__echo", "web__read", "fetch"]
    # A renamed tool still runs its own callable.
    assert merged[3].callable is not None and merged[3].callable() == "b"


def test_namespaced_names_stay_valid_tool_names() -> None:
    name = namespaced("my server!", "t" * 80)
    assert name.startswith("my_server___")
    assert len(name) == 64
    Function(name)  # a valid name: no PromptError


def test_two_sources_of_one_name_keep_the_first_tool() -> None:
    merged = merge_tools((), [("a", (_named("x", "1"),)), ("a", (_named("x", "2"),))])
    assert [f.name for f in merged] == ["a__x"]


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_an_agent_offers_drawn_tools_and_runs_them_sync_and_async() -> None:
    files = FakeSource("files", _named("read", "file text"), _named("add", "files add"))
    prompt = Prompt("task", "Do it.", functions=(add,), tool_sources=(files,))
    script = [tool_calls(call("read"), call("add", a=1, b=2), call("files__add")), "ok"]

    model = ScriptedCaller(list(script))
    agent = Agent("a", "sys", model="scripted", caller=model)
    result = agent.call(agent.init_dialog(), prompt)
    assert [f.name for f in model.requests[0].tools] == ["add", "read", "files__add"]
    assert [c.result_text for c in result.function_calls] == ["file text", "3", "files add"]
    assert result.dialog.top_prompt is prompt  # the dialog keeps the prompt as written
    assert files.asked == 1

    amodel = ScriptedCaller(list(script))
    aagent = Agent("a", "sys", model="scripted", caller=amodel)
    aresult = asyncio.run(aagent.acall(aagent.init_dialog(), prompt))
    assert [f.name for f in amodel.requests[0].tools] == ["add", "read", "files__add"]
    assert [c.result_text for c in aresult.function_calls] == ["file text", "3", "files add"]
    assert files.aasked == 1


def test_agent_sources_join_every_prompt_but_not_plain_text_turns() -> None:
    web = FakeSource("web", _named("fetch", "page"))
    model = ScriptedCaller(["plain", tool_calls(call("fetch")), "done", "again"])
    agent = Agent("a", "sys", model="scripted", caller=model, tool_sources=(web,))
    dialog = agent.init_dialog()

    agent.call(dialog, "just text")  # a plain-text turn offers no tools
    assert model.requests[0].tools == ()
    assert web.asked == 0

    prompt = Prompt("task", "Fetch it.")
    result = agent.call(dialog, prompt)
    assert [f.name for f in model.requests[1].tools] == ["fetch"]
    assert result.function_calls[0].result_text == "page"
    # A follow-up call on the dialog's prompt draws the tools again.
    agent.call(dialog)
    assert [f.name for f in model.requests[-1].tools] == ["fetch"]
    assert web.asked == 2


def test_a_system_gives_agents_the_sources_their_config_names() -> None:
    prompts = PromptRegistry()
    prompts.register("sys", Prompt("sys", "You help."))
    config = SystemConfig(
        name="s",
        agent_configs={
            "helper": AgentConfig("scripted", "sys", mcp_servers=("files",)),
            "plain": AgentConfig("scripted", "sys"),
        },
    )
    files = FakeSource("files")

    def callers(_config: AgentConfig) -> ScriptedCaller:
        return ScriptedCaller([])

    system = System(config, runtime=Runtime(callers, prompts, tool_sources={"files": files}))
    assert system.agents["helper"].tool_sources == (files,)
    assert system.agents["plain"].tool_sources == ()

    with pytest.raises(ConfigError, match=r"agent_configs\.helper\.mcp_servers.*'files'"):
        System(config, runtime=Runtime(callers, prompts))
