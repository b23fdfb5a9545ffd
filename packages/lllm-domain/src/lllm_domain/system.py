"""Systems: groups of named sub-agents built from configuration, registered by type name.

Subclass :class:`System` (or :class:`AsyncSystem`) and implement :meth:`System.run`. Subclasses
register themselves under ``system_type`` (default: the class name) in the system registry, so a
configuration can name the type and :func:`build_system` builds it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from attrs import define, field

from lllm_domain.agent import Agent
from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.errors import ConfigError, RegistryError
from lllm_domain.limits import CallLimits
from lllm_domain.log_writer import writer_for
from lllm_domain.model_card import ModelCard
from lllm_domain.ports import (
    AsyncLLMCaller,
    Clock,
    Frontend,
    IdGenerator,
    LLMCaller,
    LogEntry,
    LogStore,
    NullFrontend,
    SystemClock,
    TokenizerProvider,
    ToolRuntime,
    uuid_ids,
)
from lllm_domain.registry import PromptRegistry, SystemRegistry, default_prompts, default_systems
from lllm_domain.tool_source import ToolSource
from lllm_domain.tracing import Tracer


class CallerFactory(Protocol):
    """Makes the LLM caller for one agent config (the composition root supplies it)."""

    def __call__(self, config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
        """A caller for ``config``'s model and API type."""
        ...


@define(slots=True)
class Runtime:
    """The ports a system is built with: callers, prompts, logs, clock, frontend, tools."""

    callers: CallerFactory
    prompts: PromptRegistry = field(default=default_prompts)
    log_store: LogStore | None = None
    clock: Clock = field(factory=SystemClock)
    ids: IdGenerator = uuid_ids
    frontend: Frontend = field(factory=NullFrontend)
    model_cards: Callable[[str], ModelCard | None] | None = None
    """Looks up a model's card (for argument checks and costs)."""
    tools: ToolRuntime | None = None
    """The activated proxies (external APIs by ``proxy/category/endpoint`` path), or ``None``
    when the run activates none. A system decides what to offer its agents: e.g. the
    endpoints as tools (``ProxyCatalog.functions`` / ``HttpProxyRuntime.functions``) or their
    documentation in a prompt. The composition root that opens it also closes it."""
    tokenizers: TokenizerProvider | None = None
    """Finds each agent's tokenizer (used by classification when none is passed)."""
    tracer: Tracer | None = None
    """Traces every agent call of the system (``None``: no tracing)."""
    tool_sources: Mapping[str, ToolSource] = field(factory=dict)
    """The system config's MCP servers (or any tool sources) by name: an agent whose config
    lists a name in ``mcp_servers`` offers that source's tools. The composition root that opens
    them also closes them."""


class AgentTable(dict[str, Agent]):
    """A system's agents by name (a plain dict), whose lookup of an unknown name raises a
    :class:`ConfigError` naming the defined agents and the closest one, instead of a bare
    ``KeyError``: the name usually comes from a typo in the config or the system's code."""

    def __init__(self, agents: Mapping[str, Agent], *, system: str) -> None:
        super().__init__(agents)
        self.system = system
        """The system's name (for messages)."""

    def __missing__(self, name: str) -> Agent:
        import difflib

        defined = ", ".join(sorted(self)) or "(none)"
        close = difflib.get_close_matches(str(name), list(self), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"no agent {name!r} in agent_configs of system {self.system!r}; defined: "
            f"{defined}{hint}"
        )


class System:
    """Base class of agent systems (the original's ``AgentBase``).

    ``self.agents`` holds one :class:`Agent` per entry of ``config.agent_configs`` (an
    :class:`AgentTable`: an unknown name raises a :class:`ConfigError`). Calling the
    system with a task opens a named session and returns what :meth:`run` returns.
    """

    system_type: ClassVar[str] = ""
    registry: ClassVar[SystemRegistry] = default_systems

    def __init_subclass__(
        cls, *, register: bool = True, registry: SystemRegistry | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if registry is not None:
            cls.registry = registry
        if "system_type" not in cls.__dict__:
            cls.system_type = cls.__name__
        if register:
            origin = f"{cls.__module__}.{cls.__qualname__}"
            # Re-importing the same module (discovery, reloads) may replace its own class; a
            # different class claiming the same type name is a real conflict.
            same_class = cls.registry.origin(cls.system_type) == origin
            cls.registry.register(cls.system_type, cls, replace=same_class, origin=origin)

    def __init__(
        self,
        config: SystemConfig,
        ckpt_dir: str | None = None,
        stream: Frontend | None = None,
        *,
        runtime: Runtime,
    ) -> None:
        self.config = config
        self.ckpt_dir = ckpt_dir or config.ckpt_dir
        self.runtime = runtime
        self.stream: Frontend = stream or runtime.frontend
        self.rng = random.Random(config.random_seed)
        self.session: str | None = None
        self.agents: dict[str, Agent] = AgentTable(
            {
                name: self._build_agent(name, agent_config)
                for name, agent_config in config.agent_configs.items()
            },
            system=config.name,
        )

    def _build_agent(self, name: str, cfg: AgentConfig) -> Agent:
        runtime = self.runtime
        try:
            system_prompt = runtime.prompts.get(cfg.system_prompt_path)
        except RegistryError as exc:
            raise ConfigError(f"agent_configs.{name}.system_prompt_path: {exc}") from None
        config = self.config
        limits = CallLimits(
            max_exception_retry=_pick(cfg.max_exception_retry, config.max_exception_retry),
            max_interrupt_times=_pick(cfg.max_interrupt_times, config.max_interrupt_times),
            max_llm_recall=_pick(cfg.max_llm_recall, config.max_llm_recall),
            retry=config.retry,
            budget=config.budget,
        )
        card = runtime.model_cards(cfg.model_name) if runtime.model_cards else None
        return Agent(
            name=name,
            system_prompt=system_prompt,
            model=cfg.model_name,
            caller=runtime.callers(cfg),
            model_args=cfg.request_args(),
            api_type=cfg.api_type,
            limits=limits,
            log_store=runtime.log_store,
            clock=runtime.clock,
            rng=random.Random(self.rng.random()),
            ids=runtime.ids,
            model_card=card,
            tokenizers=runtime.tokenizers,
            tracer=runtime.tracer,
            tool_sources=self._tool_sources(name, cfg),
        )

    def _tool_sources(self, name: str, cfg: AgentConfig) -> tuple[ToolSource, ...]:
        sources = self.runtime.tool_sources
        missing = [server for server in cfg.mcp_servers if server not in sources]
        if missing:
            raise ConfigError(
                f"agent_configs.{name}.mcp_servers: no tool source named {missing} was opened "
                f"(open: {sorted(sources) or 'none'}); declare them under mcp_servers"
            )
        return tuple(sources[server] for server in cfg.mcp_servers)

    def open_session(self, task: str, session: str | None = None) -> str:
        """Name the session for ``task`` and log its start (handed to the store's log writer:
        written off this thread, before any later record of the session)."""
        self.session = session or f"{self.config.name}-{self.runtime.ids()[:12]}"
        if self.runtime.log_store is not None:
            start = {
                "event": "start",
                "system": self.config.name,
                "type": self.system_type,
                "task": task,
            }
            writer_for(self.runtime.log_store).submit([LogEntry("sessions", self.session, start)])
        return self.session

    def call(self, task: str, *, session: str | None = None, **kwargs: Any) -> Any:
        """Run the system on ``task`` in a new session and return its report."""
        self.open_session(task, session)
        return self.run(task, **kwargs)

    def run(self, task: str, **kwargs: Any) -> Any:
        """The system's work. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement run(task)")


class AsyncSystem(System, register=False):
    """A system whose work is async: implement :meth:`arun` and await :meth:`acall`."""

    async def acall(self, task: str, *, session: str | None = None, **kwargs: Any) -> Any:
        """Run the system on ``task`` in a new session and return its report."""
        self.open_session(task, session)
        return await self.arun(task, **kwargs)

    async def arun(self, task: str, **kwargs: Any) -> Any:
        """The system's async work. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement arun(task)")


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def build_system(
    config: SystemConfig,
    ckpt_dir: str | None = None,
    stream: Frontend | None = None,
    *,
    runtime: Runtime,
    registry: SystemRegistry | None = None,
) -> System:
    """Build the system whose registered type ``config`` names."""
    # An empty registry is falsy (it has __len__), so test for None, not truthiness.
    systems = registry if registry is not None else default_systems
    try:
        cls = systems.get(config.type_name)
    except RegistryError as exc:
        raise ConfigError(f"system config {config.name!r}: {exc}") from None
    system: System = cls(config, ckpt_dir, stream, runtime=runtime)
    return system


build_agent = build_system
"""The original framework's name for :func:`build_system`."""


def agent_configs_from_mapping(data: Mapping[str, Mapping[str, Any]]) -> dict[str, AgentConfig]:
    """Agent configs from plain data (a convenience for code and tests)."""
    return {name: AgentConfig(**dict(values)) for name, values in data.items()}
