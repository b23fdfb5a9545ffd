"""The composition root of a batch worker: builds a project's runtime once and runs rows on it.

:class:`ProjectRunnerFactory` is plain, picklable data (a cluster engine ships it to workers);
calling it opens the project and builds what every row shares — the callers with their pooled
connections (each wrapped in one shared-backoff :class:`~lllm_domain.batch.ThrottledCaller`),
the log store, the proxies. Each row then gets a fresh system (cheap: agents are values) whose
callers record to the row's own session and count what the row spends.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from attrs import define
from lllm_domain.batch import (
    TASK_FIELD,
    BatchRow,
    EndpointThrottle,
    MeteredCaller,
    RowMeter,
    RowOutcome,
    ThrottledCaller,
)
from lllm_domain.config import AgentConfig
from lllm_domain.errors import AgentCallError, LLLMError
from lllm_domain.ports import AsyncLLMCaller, LLMCaller, NullFrontend
from lllm_domain.recording import RecordingCaller
from lllm_domain.system import AsyncSystem, Runtime, build_system

from lllm_cli.errors import CommandError


@define(frozen=True, slots=True)
class ProjectRunnerFactory:
    """What a worker needs to run rows of a project's system (or of one of its agents).

    With ``agent`` and ``prompt``, each row calls that agent of the system config with that
    prompt, the row's fields as the prompt's variables; otherwise each row calls the system,
    its ``task`` field as the task and its other fields (but ``id``) as keyword arguments.
    """

    project: str
    config: str | None = None
    model: str | None = None
    agent: str | None = None
    prompt: str | None = None
    threads: int = 16
    """Threads for a sync system's rows (one per concurrent row)."""
    otel: bool | None = None
    """Trace every row with OpenTelemetry (``--otel``; ``None``: ``lllm.toml``'s ``[tracing]
    otel``), each row an ``invoke_workflow`` span with its session id."""

    def __call__(self) -> ProjectRowRunner:
        """Open the project and build the shared runtime."""
        return ProjectRowRunner(self)


class ProjectRowRunner:
    """A :class:`~lllm_domain.batch.RowRunner` over one opened project."""

    def __init__(self, spec: ProjectRunnerFactory) -> None:
        from lllm_domain.registry import default_systems

        from lllm_cli.composition import (
            ModelChoice,
            model_callers,
            open_logs,
            open_tools,
            open_tracing,
            with_model,
        )
        from lllm_cli.project import open_project

        self.spec = spec
        choice = ModelChoice.from_option(spec.model)
        project = open_project(Path(spec.project))
        project.import_system_module()
        config_path = Path(spec.config) if spec.config else None
        config = with_model(project.load_system_config(config_path), choice.override)
        system_cls = default_systems.get(config.type_name)
        self.agent_mode = spec.agent is not None
        if self.agent_mode and spec.agent not in config.agent_configs:
            known = ", ".join(sorted(config.agent_configs)) or "(none)"
            raise CommandError(
                f"--agent {spec.agent!r} is not in agent_configs of system {config.name!r}; "
                f"defined: {known}"
            )
        self.prompt = project.prompts.get(spec.prompt) if spec.prompt else None
        if self.agent_mode and self.prompt is None:
            raise CommandError("--agent needs --prompt PATH: the prompt each row fills in")
        self.is_async = self.agent_mode or (
            isinstance(system_cls, type) and issubclass(system_cls, AsyncSystem)
        )
        self.project = project
        self.config = config
        self.store = open_logs(project, config)
        self.tracing = open_tracing(project, spec.otel, choice=choice)
        self.tools = open_tools(
            project,
            config,
            propagate=self.tracing.propagate if self.tracing is not None else None,
        )
        callers, self.cards = model_callers(project, choice, want_async=self.is_async)
        self._callers = callers
        self._throttled: dict[int, ThrottledCaller] = {}
        ckpt = Path(config.ckpt_dir)
        self.ckpt = str(ckpt if ckpt.is_absolute() else project.root / ckpt)
        self._threads = None if self.is_async else ThreadPoolExecutor(max(1, spec.threads))
        from lllm_adapters.tokenizer import TiktokenProvider

        self.tokenizers = TiktokenProvider()

    def _shared(self, config: AgentConfig) -> ThrottledCaller:
        inner = self._callers(config)
        key = id(inner)
        if key not in self._throttled:
            self._throttled[key] = ThrottledCaller(inner, EndpointThrottle())
        return self._throttled[key]

    def throttles(self) -> list[EndpointThrottle]:
        """The shared backoff of every endpoint called so far."""
        return [caller.throttle for caller in self._throttled.values()]

    def _runtime(self, session: str, meter: RowMeter) -> Runtime:
        store = self.store

        def row_callers(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
            caller: LLMCaller | AsyncLLMCaller = MeteredCaller(self._shared(config), meter)
            if store is not None:
                caller = RecordingCaller(caller, store, session=session)
            return caller

        return Runtime(
            callers=row_callers,
            prompts=self.project.prompts,
            log_store=store,
            frontend=NullFrontend(),
            model_cards=self.cards,
            tools=self.tools,
            tokenizers=self.tokenizers,
            tracer=self.tracing.tracer if self.tracing is not None else None,
        )

    async def run(self, row: BatchRow, session: str) -> RowOutcome:
        """Run ``row`` in ``session``; an error ends the row as a failed outcome."""
        meter = RowMeter()
        output: Any = None
        error: BaseException | None = None
        try:
            with self._traced(session):
                output = await self._run_row(row, session, meter)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
        return RowOutcome(
            output=output,
            error_type=type(error).__name__ if error is not None else None,
            error_message=_message(error) if error is not None else None,
            usage=meter.usage,
            cost_usd=meter.cost.total_usd,
            requests=meter.requests,
            agent=self.spec.agent or self.config.name,
        )

    def _traced(self, session: str) -> AbstractContextManager[object]:
        """The row's ``invoke_workflow`` span when tracing is on."""
        if self.tracing is None:
            return nullcontext()
        return self.tracing.workflow(self.config.name, session=session)

    async def _run_row(self, row: BatchRow, session: str, meter: RowMeter) -> Any:
        system = build_system(self.config, self.ckpt, runtime=self._runtime(session, meter))
        if self.agent_mode:
            return await self._call_agent(system, row, session)
        task, kwargs = _task_of(row)
        if self.is_async:
            assert isinstance(system, AsyncSystem)
            return await system.acall(task, session=session, **kwargs)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # the row's span, in the worker thread too
        return await loop.run_in_executor(
            self._threads, lambda: context.run(system.call, task, session=session, **kwargs)
        )

    async def _call_agent(self, system: Any, row: BatchRow, session: str) -> Any:
        assert self.prompt is not None and self.spec.agent is not None
        variables = row.variables
        system.open_session(str(variables.get(TASK_FIELD, row.key)), session)
        agent = system.agents[self.spec.agent]
        dialog = agent.init_dialog(session=session)
        result = await agent.acall(dialog, self.prompt, variables)
        return result.parsed if result.parsed else result.message.content

    async def aclose(self) -> None:
        """Close the callers' connections, the proxies and the store's writer."""
        for caller in self._throttled.values():
            closer = getattr(caller.inner, "aclose", None)
            if closer is not None:
                await closer()
            elif hasattr(caller.inner, "close"):
                caller.inner.close()
        if self.tools is not None:
            self.tools.close()
        if self._threads is not None:
            self._threads.shutdown(wait=False)
        if self.store is not None:
            from lllm_domain.log_writer import writer_for

            await asyncio.to_thread(writer_for(self.store).flush)
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.shutdown)


def _task_of(row: BatchRow) -> tuple[str, dict[str, Any]]:
    variables = row.variables
    task = variables.pop(TASK_FIELD, None)
    if task is None:
        raise CommandError(
            f"row {row.key!r} (line {row.line}) has no {TASK_FIELD!r} field: a system takes its "
            f"task from it (or run one agent on the row's fields with --agent and --prompt)"
        )
    return str(task), variables


def _message(error: BaseException) -> str:
    """The error's message, with any secret of the environment redacted."""
    from lllm_adapters.observability.redaction import Redactor

    text = str(error) or type(error).__name__
    if isinstance(error, AgentCallError) and error.api_errors:
        text += f" (last API error: {error.api_errors[-1]})"
    elif not isinstance(error, LLLMError) and error.__cause__ is not None:
        text += f" (caused by {type(error.__cause__).__name__}: {error.__cause__})"
    return Redactor.from_environment(os.environ).redact_text(text)


WORKER_ENVIRONMENT_PREFIXES = ("OPENAI_", "ANTHROPIC_", "LLLM_", "OTEL_")
"""The environment variables a batch worker on another machine gets from the shell that started
the batch: the providers' keys and endpoints, LLLM's own settings (the PostgreSQL log's
``LLLM_POSTGRES_DSN``) and OpenTelemetry's exporter settings."""


def environment_for_workers(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The model settings a worker on another machine needs from this shell's environment."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k.startswith(WORKER_ENVIRONMENT_PREFIXES)}
