"""The composition root: wires adapters (callers, log stores, frontends, proxies) into the
domain's :class:`~lllm_domain.system.Runtime` for one run of a project's system.

Every run with a log store records its model calls
(:class:`~lllm_domain.recording.RecordingCaller`), so any session can later be replayed offline
with ``lllm run --replay SESSION``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import define, evolve, field
from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.errors import ReplayError
from lllm_domain.ports import AsyncLLMCaller, Frontend, LLMCaller, LogStore, ToolRuntime
from lllm_domain.recording import RecordingCaller, ReplayCaller
from lllm_domain.system import CallerFactory, Runtime
from lllm_domain.tracing import Tracer

from lllm_cli.errors import CommandError
from lllm_cli.project import Project
from lllm_cli.scripted_model import SCRIPTED, scripted_caller

if TYPE_CHECKING:
    from lllm_adapters.mcp import MCPClient
    from lllm_adapters.openai import ModelCatalog
    from lllm_adapters.proxies import HttpProxyRuntime
    from lllm_adapters.tracing import OtelTracer

    from lllm_cli.stream_view import StreamView

ANTHROPIC = "anthropic"
"""The provider name of Claude model cards."""

MISSING_KEY_MESSAGE = (
    "no model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL to use an "
    "OpenAI-compatible server such as vLLM, Ollama or llama.cpp), or pass --model scripted to "
    "run offline with LLLM's built-in scripted model"
)


def missing_key_message(model: str | None) -> str:
    """What to do when a real model is asked for without a key: for ``--model NAME`` the
    message names the model, and a near miss of ``scripted`` (``scriptd``) is called out as
    the typo it most likely is."""
    import difflib

    if model is None:
        return MISSING_KEY_MESSAGE
    if difflib.get_close_matches(model.lower(), [SCRIPTED], n=1):
        return (
            f"unknown model {model!r}; did you mean {SCRIPTED!r}? (--model {SCRIPTED} runs "
            "offline with LLLM's built-in scripted model; any other name is a real model that "
            "needs OPENAI_API_KEY)"
        )
    return (
        f"--model {model!r} is a real model and needs a key: set OPENAI_API_KEY (and "
        "OPENAI_BASE_URL to use an OpenAI-compatible server such as vLLM, Ollama or llama.cpp), "
        "or pass --model scripted to run offline with LLLM's built-in scripted model"
    )


@define(frozen=True, slots=True)
class ModelChoice:
    """Which model a run uses: ``scripted`` (offline) or a real endpoint (optionally
    overriding every agent's model name)."""

    scripted: bool
    override: str | None = None

    @classmethod
    def from_option(cls, model: str | None) -> ModelChoice:
        """From the ``--model`` option."""
        if model == SCRIPTED:
            return cls(scripted=True)
        return cls(scripted=False, override=model)


def with_model(config: SystemConfig, model: str | None) -> SystemConfig:
    """``config`` with every agent's model replaced by ``model`` (unchanged when ``None``)."""
    if not model:
        return config
    agents = {name: evolve(agent, model_name=model) for name, agent in config.agent_configs.items()}
    return evolve(config, agent_configs=agents)


def with_limits(
    config: SystemConfig,
    *,
    budget: Mapping[str, float | int | None],
    retry: Mapping[str, float | int | None],
) -> SystemConfig:
    """``config`` with the budget and retry settings given on the command line (``None``
    values keep the config's own). A value the domain refuses is a :class:`CommandError`
    naming the setting."""
    from lllm_domain.errors import ConfigError

    chosen_budget: dict[str, Any] = {k: v for k, v in budget.items() if v is not None}
    chosen_retry: dict[str, Any] = {k: v for k, v in retry.items() if v is not None}
    if not chosen_budget and not chosen_retry:
        return config
    try:
        return evolve(
            config,
            budget=evolve(config.budget, **chosen_budget),
            retry=evolve(config.retry, **chosen_retry),
        )
    except ConfigError as exc:
        raise CommandError(f"{exc} (from the command line)") from None


def configure_cli_logging(environ: Mapping[str, str] | None = None) -> None:
    """Send LLLM's framework log lines (proxy calls, warnings) to stderr, away from the
    command's output: warnings and errors only unless ``LLLM_LOG_LEVEL`` says otherwise.

    The command line is for people, so lines are rendered for reading (structlog's console
    renderer: ``2025-01-01T12:00:00Z [warning ] proxy.not_registered proxy=...``), even when
    stderr is not a terminal; colours only on a terminal."""
    from lllm_adapters.observability import configure_logging

    env = os.environ if environ is None else environ
    level = env.get("LLLM_LOG_LEVEL", "").strip().upper() or "WARNING"
    try:
        configure_logging(level=level, renderer="console")
    except ValueError as exc:
        raise CommandError(f"LLLM_LOG_LEVEL: {exc}") from None


def log_dir(project: Project, config: SystemConfig) -> Path:
    """The folder the system's logs go to (relative paths are relative to the project)."""
    path = Path(config.log_dir)
    return path if path.is_absolute() else project.root / path


def open_logs(project: Project, config: SystemConfig) -> LogStore | None:
    """The log store ``config.log_type`` names (``None`` for ``none``)."""
    if config.log_type == "none":
        return None
    from lllm_adapters.logs import open_log_store

    return open_log_store(config.log_type, log_dir(project, config), dsn=config.log_dsn)


def find_logs(project: Project, config: SystemConfig | None) -> LogStore:
    """The log store to read sessions from (the system config's, else whatever store
    ``<project>/logs`` holds: SQLite when its database file is there, local files otherwise)."""
    from lllm_adapters.logs import SQLITE_FILE, open_log_store

    if config is None:
        folder = project.root / "logs"
        kind = "sqlite" if (folder / SQLITE_FILE).is_file() else "localfile"
        return open_log_store(kind, folder)
    store = open_logs(project, config)
    if store is None:
        raise CommandError(
            f"the system config of {config.name!r} turns logging off (log_type: none); there "
            "are no sessions to read"
        )
    return store


def anthropic_key_message(model: str | None) -> str:
    """What to do when a Claude model is asked for without ``ANTHROPIC_API_KEY``."""
    which = f"--model {model!r} is an Anthropic model" if model else "a Claude model is chosen"
    return (
        f"{which} and needs a key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL to use a "
        "gateway), or pass --model scripted to run offline with LLLM's built-in scripted model"
    )


def project_catalog(project: Project) -> ModelCatalog:
    """The model cards a project's runs use: the built-in ones, with the project's ``[models]``
    cards added or overriding them."""
    from lllm_adapters.openai import ModelCatalog

    catalog = ModelCatalog.builtin()
    if project.models:
        catalog = catalog.extended(project.models, source=str(project.config_file))
    return catalog


def model_callers(
    project: Project,
    choice: ModelChoice,
    *,
    want_async: bool,
    environ: Mapping[str, str] | None = None,
    models: Iterable[str] = (),
) -> tuple[Any, Any]:
    """The caller factory and the model-card lookup for ``choice``.

    The model name picks the provider: a card with ``provider = "anthropic"`` (the built-in
    Claude cards, or a project's own) goes to the Anthropic caller, every other name to the
    OpenAI(-compatible) caller; one shared caller per provider. The providers of ``--model``
    (else of ``models``, the system config's agent models) are checked up front: OpenAI needs
    ``OPENAI_API_KEY`` (a key-less compatible server is fine when ``OPENAI_BASE_URL`` points
    away from api.openai.com), Anthropic ``ANTHROPIC_API_KEY`` (or ``ANTHROPIC_BASE_URL``);
    a missing key raises a :class:`CommandError` that says exactly what to set.
    """
    if choice.scripted:
        caller = scripted_caller(project.prompts, project.hook("scripted"))

        def scripted_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
            return caller

        return scripted_factory, None

    env = os.environ if environ is None else environ
    from lllm_adapters.openai import OpenAISettings
    from lllm_adapters.openai.settings import is_official_url

    settings = OpenAISettings.from_env(env)
    catalog = project_catalog(project)

    def provider_of(model: str) -> str:
        if model in catalog and catalog.card(model).provider == ANTHROPIC:
            return ANTHROPIC
        return "openai"

    def make(provider: str, model: str | None) -> LLMCaller | AsyncLLMCaller:
        if provider == ANTHROPIC:
            from lllm_adapters.anthropic import (
                AnthropicCaller,
                AnthropicSettings,
                AsyncAnthropicCaller,
            )

            anthropic = AnthropicSettings.from_env(env)
            if not anthropic.api_key and anthropic.is_official:
                raise CommandError(anthropic_key_message(model))
            if want_async:
                return AsyncAnthropicCaller(anthropic, catalog)
            return AnthropicCaller(anthropic, catalog)
        from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller

        if not settings.api_key and is_official_url(settings.base_url):
            raise CommandError(missing_key_message(choice.override))
        return (
            AsyncOpenAICaller(settings, catalog) if want_async else OpenAICaller(settings, catalog)
        )

    shared: dict[str, LLMCaller | AsyncLLMCaller] = {}

    def caller_for(model: str) -> LLMCaller | AsyncLLMCaller:
        provider = provider_of(model)
        found = shared.get(provider)
        if found is None:
            found = shared[provider] = make(provider, choice.override or model)
        return found

    # Fail before anything runs when a chosen model's provider has no key.
    chosen: list[str | None] = [choice.override] if choice.override else [*models]
    for model in chosen or [None]:
        if model is None:
            shared["openai"] = make("openai", None)
        else:
            caller_for(model)

    def provider_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
        return caller_for(config.model_name)

    def cards(model: str) -> Any:
        if model in catalog:
            return catalog.card(model)
        return catalog.card(model, base_url=settings.base_url)

    return provider_factory, cards


def has_session(store: LogStore, session: str) -> bool:
    """Whether ``store`` holds ``session``: by the name it lists, or by the real name of a
    session it lists redacted (a name that held a secret; stores look names up by a hash of
    the real name, so both work)."""
    if session in store.sessions():
        return True
    from lllm_domain.replay import ReplaySession

    return bool(ReplaySession(store, session).activities())


def unknown_session(store: LogStore, session: str) -> CommandError:
    """The error for a session name ``store`` does not know, suggesting the closest names."""
    import difflib

    known = store.sessions()
    close = difflib.get_close_matches(session, known, n=3, cutoff=0.4)
    if not close:
        close = [s for s in known if s.startswith(session)][:3]
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return CommandError(f"no logged session {session!r}{hint} (list them with `lllm logs list`)")


def open_replay(store: LogStore | None, session: str) -> ReplayCaller:
    """The replay caller answering from the model calls recorded in ``session``.

    Raises a :class:`CommandError` when there is no log store, no such session, or the session
    recorded no model calls.
    """
    if store is None:
        raise CommandError(
            "--replay reads the recording from the log store, but the system config turns "
            "logging off (log_type: none); use the config the session was recorded with"
        )
    if not has_session(store, session):
        raise unknown_session(store, session)
    try:
        return ReplayCaller.from_store(store, session)
    except ReplayError:
        raise CommandError(
            f"session {session!r} has no recorded model calls to replay (it made no model "
            "call, or was logged before lllm run recorded calls); record it again with "
            "`lllm run TASK`"
        ) from None


def recording(callers: CallerFactory, store: LogStore, session: str) -> CallerFactory:
    """``callers`` with every caller wrapped in a :class:`RecordingCaller` that records each
    model call to ``store`` under ``session`` (one wrapper per distinct caller)."""
    wrapped: dict[int, RecordingCaller] = {}

    def recording_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
        inner = callers(config)
        key = id(inner)
        if key not in wrapped:
            wrapped[key] = RecordingCaller(inner, store, session=session)
        return wrapped[key]

    return recording_factory


def announcing(callers: CallerFactory, view: StreamView) -> CallerFactory:
    """``callers`` with every caller wrapped so ``view`` knows where each streamed reply
    begins and ends (one wrapper per distinct caller)."""
    from lllm_cli.stream_view import AnnouncingCaller

    wrapped: dict[int, AnnouncingCaller] = {}

    def announcing_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
        inner = callers(config)
        key = id(inner)
        if key not in wrapped:
            wrapped[key] = AnnouncingCaller(inner, view)
        return wrapped[key]

    return announcing_factory


def open_tools(
    project: Project,
    config: SystemConfig,
    *,
    propagate: Callable[[dict[str, str]], None] | None = None,
) -> HttpProxyRuntime | None:
    """The HTTP proxy runtime for ``config.activate_proxies`` (``None`` when it activates
    none), over the project's discovered proxies. Names that are not registered are skipped
    with the runtime's ``proxy.not_registered`` warning. ``propagate`` adds trace context to
    its requests (:attr:`Tracing.propagate`). Close it after the run."""
    if not config.activate_proxies:
        return None
    from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings

    return HttpProxyRuntime(
        ProxySettings.from_system_config(config), registry=project.proxies, propagate=propagate
    )


CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""The environment variable OpenTelemetry's GenAI instrumentations read to record message
contents; ``true`` turns :attr:`Tracing.capture_content` on, like ``[tracing]
capture_content``."""


@define(slots=True)
class Tracing:
    """OpenTelemetry tracing of one command (``lllm run --otel``; a batch run can use the
    same): the tracer for :func:`make_runtime`, the ``propagate`` hook for :func:`open_tools`,
    a ``workflow`` span per system run, and :meth:`shutdown`, which sends what is still queued.
    Make it with :func:`open_tracing`."""

    tracer: OtelTracer
    provider: Any = field(repr=False)
    """The OpenTelemetry SDK tracer provider (OTLP/HTTP export)."""
    endpoint: str = ""
    """Where the spans go (for the user: the OTLP endpoint the environment names)."""
    trace_ids: list[str] = field(factory=list)
    """The trace id of each :meth:`workflow` so far, as 32 hex digits."""

    @property
    def propagate(self) -> Callable[[dict[str, str]], None]:
        """Adds ``traceparent`` (of the current span) to outgoing HTTP headers."""
        from lllm_adapters.tracing import inject_trace_context

        return inject_trace_context

    @property
    def capture_content(self) -> bool:
        """Whether message contents are recorded on the spans (redacted)."""
        return self.tracer.capture_content

    @contextmanager
    def workflow(self, system: str, *, session: str) -> Iterator[str]:
        """Run a system inside an ``invoke_workflow {system}`` span carrying LLLM's
        ``session`` id; its agent calls are the span's children. Yields the trace id."""
        with self.tracer.workflow(system, session=session) as span:
            trace_id = f"{span.get_span_context().trace_id:032x}"
            self.trace_ids.append(trace_id)
            yield trace_id

    def shutdown(self) -> None:
        """Send the spans still queued and stop exporting."""
        self.provider.shutdown()


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def open_tracing(
    project: Project,
    enabled: bool | None,
    *,
    choice: ModelChoice | None = None,
    environ: Mapping[str, str] | None = None,
) -> Tracing | None:
    """The tracing of one command, or ``None`` when it is off.

    ``enabled`` is the command's ``--otel`` / ``--no-otel`` (``None``: ``lllm.toml``'s
    ``[tracing] otel``, default off). ``OTEL_SDK_DISABLED=true`` turns it off whatever the
    rest says. Spans are exported with OTLP/HTTP to the endpoint the standard ``OTEL_*``
    variables name (``OTEL_EXPORTER_OTLP_ENDPOINT``, default ``http://localhost:4318``;
    ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_SERVICE_NAME``, ...). Message contents are recorded
    (redacted) with ``[tracing] capture_content = true`` or
    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``. The tracer provider also
    becomes OpenTelemetry's global one when none was set, so spans of the project's own
    code join the run's trace.
    """
    env = os.environ if environ is None else environ
    wanted = project.tracing.get("otel", False) if enabled is None else enabled
    if not wanted:
        return None
    from lllm_adapters.tracing import OtelTracer, otlp_tracer_provider, sdk_disabled
    from lllm_domain.errors import ConfigError

    if sdk_disabled(env):
        return None
    try:
        provider = otlp_tracer_provider(env)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    from opentelemetry import trace

    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    capture = bool(project.tracing.get("capture_content", False)) or _true(
        env.get(CAPTURE_CONTENT_ENV)
    )
    if choice is not None and choice.scripted:
        provider_of: str | Callable[[str], str] = "lllm.scripted"
    else:
        catalog = project_catalog(project)

        def provider_of(model: str) -> str:
            return catalog.card(model).provider if model in catalog else "openai"

    tracer = OtelTracer(provider, provider=provider_of, capture_content=capture)
    endpoint = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or "http://localhost:4318"
    )
    return Tracing(tracer, provider, endpoint)


def open_mcp(config: SystemConfig) -> MCPClient | None:
    """An MCP client over ``config.mcp_servers`` (``None`` when it declares none), started
    (every server opened and listed at once; one that fails is logged and tried again on first
    use). Close it after the run: that ends the servers' processes."""
    if not config.mcp_servers:
        return None
    from lllm_adapters.mcp import MCPClient

    client = MCPClient(config.mcp_servers)
    used = {name for agent in config.agent_configs.values() for name in agent.mcp_servers}
    if used:
        client.start()
    return client


def make_runtime(
    project: Project,
    config: SystemConfig,
    choice: ModelChoice,
    *,
    want_async: bool,
    log_store: LogStore | None,
    frontend: Frontend,
    session: str = "",
    replay: ReplayCaller | None = None,
    tools: ToolRuntime | None = None,
    stream_view: StreamView | None = None,
    tracer: Tracer | None = None,
    mcp: MCPClient | None = None,
) -> Runtime:
    """The runtime a project's system is built with.

    With ``replay``, that recording is the only caller (no model, no network, no key).
    With a ``log_store``, every model call is recorded under ``session`` so the run can be
    replayed later. With a ``tracer`` (:attr:`Tracing.tracer`) every agent call is traced.
    """
    callers: CallerFactory
    cards: Any
    if replay is not None:
        replay_caller = replay

        def replay_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
            return replay_caller

        callers, cards = replay_factory, None
    else:
        models = [agent.model_name for agent in config.agent_configs.values()]
        callers, cards = model_callers(project, choice, want_async=want_async, models=models)
    if log_store is not None:
        callers = recording(callers, log_store, session)
    if stream_view is not None:
        callers = announcing(callers, stream_view)
    # Imports tiktoken only when a tokenizer is first asked for (classification).
    from lllm_adapters.tokenizer import TiktokenProvider

    return Runtime(
        callers=callers,
        prompts=project.prompts,
        log_store=log_store,
        frontend=frontend,
        model_cards=cards,
        tools=tools,
        tokenizers=TiktokenProvider(),
        tracer=tracer,
        tool_sources={source.name: source for source in mcp.sources} if mcp else {},
    )
