"""System configs written in the original LLLM's form load, mapped onto ours; true typos are
still rejected with a suggestion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lllm_adapters.config import load_system_config
from lllm_domain.config import AgentConfig
from lllm_domain.errors import ConfigError
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry, SystemRegistry
from lllm_domain.system import Runtime, System, build_system
from lllm_domain.testing import CountingIds, FakeClock, ScriptedCaller

SYSTEMS = SystemRegistry()


class Vanilla(System, registry=SYSTEMS):
    """Asks its one agent the task and returns the reply."""

    system_type = "vanilla"

    def run(self, task: str, **kwargs: Any) -> Any:
        agent = self.agents["vanilla"]
        return agent.call(agent.init_dialog(), ASK, {"task": task}).content


ASK = Prompt("porter/ask", "{task}")

# The shape of the original templates' config/<name>/default.yaml: the agent class chosen by
# agent_type, the outer runner by system_type, request arguments beside model_name.
ORIGINAL_YAML = """\
name: porter
log_type: none
random_seed: 11
log_dir: ./logs
ckpt_dir: ./ckpt
agent_type: vanilla
system_type: basic
activate_proxies: []
max_exception_retry: 2
max_interrupt_times: 4
max_query_retry: 6
max_llm_recall: 0
agent_configs:
  vanilla:
    model_name: o4-mini
    system_prompt_path: porter/system
    temperature: 0.4
    max_completion_tokens: 12000
    reasoning_effort: high
    seed: 3
"""


def write(tmp_path: Path, text: str, name: str = "default.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_original_form_loads_mapped_onto_ours(tmp_path: Path) -> None:
    config = load_system_config(write(tmp_path, ORIGINAL_YAML), environ={})
    assert config.system_type == "vanilla"
    assert config.type_name == "vanilla"
    assert dict(config.extra) == {"system_type": "basic", "max_query_retry": 6}
    agent = config.agent_configs["vanilla"]
    assert agent.temperature == 0.4
    assert agent.max_completion_tokens == 12_000
    assert dict(agent.model_args) == {"reasoning_effort": "high", "seed": 3}


def test_the_original_forms_values_reach_the_agents(tmp_path: Path) -> None:
    config = load_system_config(write(tmp_path, ORIGINAL_YAML), environ={})
    caller = ScriptedCaller(["done"])
    prompts = PromptRegistry()
    prompts.add(Prompt("porter/system", "You port things."))
    prompts.add(ASK)
    built: list[AgentConfig] = []

    def callers(agent: AgentConfig) -> ScriptedCaller:
        built.append(agent)
        return caller

    runtime = Runtime(callers=callers, prompts=prompts, clock=FakeClock(), ids=CountingIds("p"))
    system = build_system(config, runtime=runtime, registry=SYSTEMS)
    assert type(system) is Vanilla
    assert system.agents["vanilla"].limits.max_exception_retry == 2
    assert system.call("port this") == "done"
    (request,) = caller.requests
    assert request.model == "o4-mini"
    assert dict(request.model_args) == {
        "reasoning_effort": "high",
        "seed": 3,
        "temperature": 0.4,
        "max_completion_tokens": 12_000,
    }
    assert built == [config.agent_configs["vanilla"]]


def test_agent_type_alone_names_the_system_type(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "porter"\nagent_type = "vanilla"\n', "default.toml")
    config = load_system_config(path, environ={})
    assert config.system_type == "vanilla"
    assert dict(config.extra) == {}


AGENT = """\
name: porter
agent_configs:
  vanilla:
    model_name: o4-mini
    system_prompt_path: porter/system
    {line}
"""


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("reasoning_efort: high", "did you mean 'reasoning_effort'?"),
        ("temprature: 0.2", "did you mean 'temperature'?"),
        ("flavour: vanilla", "put any other model argument under model_args"),
    ],
)
def test_a_typo_beside_model_name_is_still_rejected_with_a_suggestion(
    tmp_path: Path, line: str, said: str
) -> None:
    path = write(tmp_path, AGENT.format(line=line))
    with pytest.raises(ConfigError) as info:
        load_system_config(path, environ={})
    assert (info.value.file, info.value.line) == (str(path), 6)
    assert f"unknown key {line.partition(':')[0]!r}" in str(info.value)
    assert said in str(info.value)


def test_a_model_argument_given_beside_and_under_model_args_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, AGENT.format(line="seed: 1\n    model_args: {seed: 2}"))
    with pytest.raises(ConfigError, match=r":6: agent_configs.vanilla.seed: given twice"):
        load_system_config(path, environ={})


def test_a_moved_model_argument_keeps_its_line_in_later_errors(tmp_path: Path) -> None:
    path = write(tmp_path, AGENT.format(line="top_p: 0.5\n    temperature: hot"))
    with pytest.raises(ConfigError) as info:
        load_system_config(path, environ={})
    assert info.value.line == 7
    assert "temperature: expected a number" in str(info.value)
