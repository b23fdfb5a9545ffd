"""Systems: subclasses register by type, are built by type name from config, run sessions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.errors import ConfigError, RegistryError
from lllm_domain.limits import CallLimits
from lllm_domain.model_card import ModelCard
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry, SystemRegistry, default_systems
from lllm_domain.system import (
    AsyncSystem,
    Runtime,
    System,
    agent_configs_from_mapping,
    build_agent,
    build_system,
)
from lllm_domain.testing import CountingIds, FakeClock, ScriptedCaller

from tests.support.memory_log import MemoryLogStore

SYSTEMS = SystemRegistry()


class Solver(System, registry=SYSTEMS):
    """Asks its ``solver`` agent and returns the parsed answer."""

    def run(self, task: str, **kwargs: Any) -> Any:
        agent = self.agents["solver"]
        dialog = agent.init_dialog(session=self.session or "none")
        result = agent.call(dialog, TASK, {"task": task})
        return result.parsed["xml_tags"]["answer"][0]


class AsyncSolver(AsyncSystem, registry=SYSTEMS):
    """The async twin of :class:`Solver`."""

    system_type = "async-solver"

    async def arun(self, task: str, **kwargs: Any) -> Any:
        agent = self.agents["solver"]
        result = await agent.acall(agent.init_dialog(), TASK, {"task": task})
        return result.content


class Unregistered(System, register=False, registry=SYSTEMS):
    """Not in the registry."""


SYSTEM_PROMPT = Prompt("solver/system", "You solve tasks.")
TASK = Prompt("solver/task", "Task: {task}", xml_tags=("answer",), required_xml_tags=("answer",))


def make_runtime(
    callers: dict[str, ScriptedCaller], **kwargs: Any
) -> tuple[Runtime, list[AgentConfig]]:
    prompts = PromptRegistry()
    prompts.add(SYSTEM_PROMPT)
    prompts.add(TASK)
    seen: list[AgentConfig] = []

    def factory(config: AgentConfig) -> ScriptedCaller:
        seen.append(config)
        return callers[config.model_name]

    runtime = Runtime(
        callers=factory, prompts=prompts, clock=FakeClock(), ids=CountingIds("r"), **kwargs
    )
    return runtime, seen


def config(**agent: Any) -> SystemConfig:
    values = {"model_name": "m1", "system_prompt_path": "solver/system", **agent}
    return SystemConfig(
        name="demo",
        system_type="Solver",
        agent_configs={"solver": AgentConfig(**values)},
        max_exception_retry=4,
        random_seed=1,
    )


def test_subclasses_register_by_type_name() -> None:
    assert SYSTEMS.get("Solver") is Solver
    assert SYSTEMS.get("async-solver") is AsyncSolver
    assert Solver.system_type == "Solver"
    assert "Unregistered" not in SYSTEMS
    assert "AsyncSystem" not in default_systems
    assert "Solver" not in default_systems
    assert SYSTEMS.origin("Solver") == f"{__name__}.Solver"


def test_build_system_by_type_name_and_run_a_session() -> None:
    caller = ScriptedCaller(["<answer>42</answer>"])
    log = MemoryLogStore()
    runtime, seen = make_runtime({"m1": caller}, log_store=log)
    cfg = config(temperature=0.3, max_interrupt_times=2, model_args={"seed": 5})
    system = build_system(cfg, runtime=runtime, registry=SYSTEMS)
    assert type(system) is Solver
    assert build_agent is build_system
    assert system.ckpt_dir == "ckpt"
    agent = system.agents["solver"]
    assert seen == [cfg.agent_configs["solver"]]
    assert agent.name == "solver"
    assert agent.system_prompt is SYSTEM_PROMPT
    assert agent.caller is caller
    assert dict(agent.model_args) == {"seed": 5, "temperature": 0.3}
    # Agent overrides win; the rest come from the system config.
    assert agent.limits == CallLimits(
        max_exception_retry=4, max_interrupt_times=2, max_llm_recall=0
    )
    assert system.call("what is 6*7?") == "42"
    assert system.session == "demo-r-1"
    (start,) = [r.data for r in log.read("sessions", "demo-r-1")]
    assert start == {"event": "start", "system": "demo", "type": "Solver", "task": "what is 6*7?"}
    assert caller.requests[0].messages[-1].content == "Task: what is 6*7?"
    assert caller.requests[0].model_args == {"seed": 5, "temperature": 0.3}
    assert caller.requests[0].session == "demo-r-1"


def test_unknown_system_prompt_path_is_a_config_error_naming_the_closest() -> None:
    runtime, _ = make_runtime({"m1": ScriptedCaller()})
    with pytest.raises(ConfigError) as info:
        build_system(config(system_prompt_path="solver/sytem"), runtime=runtime, registry=SYSTEMS)
    message = str(info.value)
    assert message.startswith("agent_configs.solver.system_prompt_path: ")
    assert "did you mean 'solver/system'" in message


def test_unknown_system_type_is_a_config_error() -> None:
    runtime, _ = make_runtime({"m1": ScriptedCaller()})
    cfg = SystemConfig(name="demo", system_type="Solvr")
    with pytest.raises(ConfigError, match=r"system config 'demo'.*did you mean 'Solver'"):
        build_system(cfg, runtime=runtime, registry=SYSTEMS)


def test_empty_registry_is_used_not_replaced_by_the_default() -> None:
    """Regression: an empty registry is falsy; build_system must still use it."""

    class Default(System, registry=default_systems):
        pass

    try:
        runtime, _ = make_runtime({})
        with pytest.raises(ConfigError, match="no system type registered as 'Default'"):
            build_system(SystemConfig(name="Default"), runtime=runtime, registry=SystemRegistry())
        assert type(build_system(SystemConfig(name="Default"), runtime=runtime)) is Default
    finally:
        default_systems.unregister("Default")


def test_model_cards_check_agent_args_when_the_system_is_built() -> None:
    card = ModelCard("m1", allowed_args=("temperature",))
    caller = ScriptedCaller()
    runtime, _ = make_runtime({"m1": caller}, model_cards=lambda name: card)
    with pytest.raises(ConfigError, match=r"does not accept argument.*'seed'"):
        build_system(config(model_args={"seed": 1}), runtime=runtime, registry=SYSTEMS)
    system = build_system(config(temperature=1.0), runtime=runtime, registry=SYSTEMS)
    assert system.agents["solver"].model_card is card
    assert caller.requests == []


def test_agents_get_the_runtimes_tokenizer_provider() -> None:
    provider = object()  # any TokenizerProvider; the agent only holds it
    runtime, _ = make_runtime({"m1": ScriptedCaller()}, tokenizers=provider)
    system = build_system(config(), runtime=runtime, registry=SYSTEMS)
    assert system.agents["solver"].tokenizers is provider


def test_async_system_runs_through_acall() -> None:
    caller = ScriptedCaller(["<answer>ok</answer>"])
    runtime, _ = make_runtime({"m1": caller})
    cfg = SystemConfig(
        name="demo-async",
        system_type="async-solver",
        agent_configs=agent_configs_from_mapping(
            {"solver": {"model_name": "m1", "system_prompt_path": "solver/system"}}
        ),
    )
    system = build_system(cfg, runtime=runtime, registry=SYSTEMS)
    assert isinstance(system, AsyncSolver)
    assert asyncio.run(system.acall("t", session="named")) == "<answer>ok</answer>"
    assert system.session == "named"


def test_run_must_be_implemented() -> None:
    runtime, _ = make_runtime({})
    with pytest.raises(NotImplementedError, match="Unregistered must implement run"):
        Unregistered(SystemConfig(name="u"), runtime=runtime).call("t")
    with pytest.raises(NotImplementedError, match="must implement arun"):
        asyncio.run(AsyncSystem(SystemConfig(name="a"), runtime=runtime).acall("t"))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"api_type": "chat"}, "api_type"),
        ({"temperature": 3.0}, "temperature"),
    ],
)
def test_agent_config_validation(values: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        AgentConfig(model_name="m", system_prompt_path="p", **values)


def test_system_config_validation_and_type_name() -> None:
    with pytest.raises(ConfigError, match="max_llm_recall must be >= 0"):
        SystemConfig(name="x", max_llm_recall=-1)
    with pytest.raises(ConfigError, match="log_type"):
        SystemConfig(name="x", log_type="s3")  # type: ignore[arg-type]
    assert SystemConfig(name="x").type_name == "x"
    assert SystemConfig(name="x", system_type="Y").type_name == "Y"


def test_a_different_class_claiming_a_registered_type_name_is_an_error() -> None:
    registry = SystemRegistry()

    class First(System, registry=registry):
        system_type = "shared-name"

    with pytest.raises(RegistryError, match=r"shared-name.*already registered"):

        class Second(System, registry=registry):
            system_type = "shared-name"

    assert registry.get("shared-name") is First


def test_an_unknown_agent_name_is_a_config_error_naming_the_defined_agents() -> None:
    runtime, _ = make_runtime({"m1": ScriptedCaller()})
    system = build_system(config(), runtime=runtime, registry=SYSTEMS)
    assert isinstance(system.agents, dict)
    assert system.agents.get("solvr") is None
    with pytest.raises(ConfigError) as info:
        system.agents["solvr"]
    assert str(info.value) == (
        "no agent 'solvr' in agent_configs of system 'demo'; defined: solver "
        "(did you mean 'solver'?)"
    )
    with pytest.raises(ConfigError, match=r"defined: solver$"):
        system.agents["assistant"]
