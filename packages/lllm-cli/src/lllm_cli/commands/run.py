"""`lllm run`: build the project's system from its config and run it on a task."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from cyclopts import Parameter

from lllm_cli.errors import CommandError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from lllm_domain.config import SystemConfig
    from lllm_domain.errors import BudgetExceededError
    from lllm_domain.ports import LogStore

    from lllm_cli.composition import Tracing


def run(
    task: str,
    *,
    project: Annotated[Path | None, Parameter(name=["--project", "-p"])] = None,
    config: Annotated[Path | None, Parameter(name=["--config", "-c"])] = None,
    model: Annotated[str | None, Parameter(name=["--model", "-m"])] = None,
    stream: bool = False,
    session: str | None = None,
    replay: str | None = None,
    max_requests: int | None = None,
    max_tokens: int | None = None,
    max_cost: float | None = None,
    max_retries: int | None = None,
    max_retry_wait: float | None = None,
    otel: bool | None = None,
) -> int:
    """Run the project's system on a task: show its events, print the result and its cost.

    Parameters
    ----------
    task
        What to ask the system, e.g. "What is 17 + 25?".
    project
        The project folder (default: found from the current folder upwards).
    config
        The system config file (default: [project] config in lllm.toml).
    model
        A model name for every agent, or "scripted" for LLLM's offline scripted model.
        A real model needs OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server).
    stream
        Stream the model's text as it arrives.
    session
        The session name to log under (default: the experiment or system name, the time and a
        random suffix).
    replay
        Re-run the task offline with the model answers recorded in this session (no API key,
        no network); exits 2 with where the run diverged when it no longer matches.
    max_requests
        Budget: model requests per agent call (default: budget.max_requests in the system
        config, else no limit).
    max_tokens
        Budget: tokens (input + output) per agent call (default: budget.max_tokens).
    max_cost
        Budget: US dollars per agent call (default: budget.max_cost_usd).
    max_retries
        Retries of a transient API failure (rate limit, 5xx, timeout) per request (default:
        retry.max_attempts in the system config, else 6).
    max_retry_wait
        Seconds an agent call may sleep between such retries in all (default:
        retry.max_total_wait, else 300).
    otel
        Export OpenTelemetry traces (GenAI conventions) with OTLP/HTTP to the endpoint the
        OTEL_* variables name (default: [tracing] otel in lllm.toml, else off).
    """
    from lllm_domain.errors import BudgetExceededError, RegistryError
    from lllm_domain.registry import default_systems
    from lllm_domain.replay import ReplaySession
    from lllm_domain.system import AsyncSystem, build_system

    from lllm_cli.composition import (
        ModelChoice,
        configure_cli_logging,
        log_dir,
        make_runtime,
        open_logs,
        open_mcp,
        open_replay,
        open_tools,
        open_tracing,
        with_limits,
        with_model,
    )
    from lllm_cli.hints import command_hint
    from lllm_cli.project import open_project
    from lllm_cli.scripted_model import LABEL
    from lllm_cli.stream_view import StreamView
    from lllm_cli.terminal import make_frontend

    if not task.strip():
        raise CommandError('the task is empty; pass what to ask, e.g. lllm run "What is 2+3?"')
    if replay is not None and model is not None:
        raise CommandError(
            "--replay answers every model call from the recording; drop --model (or drop "
            "--replay to call a model)"
        )
    if replay is not None and session == replay:
        raise CommandError(
            f"--session {session!r} is the session being replayed; the replay is logged as a "
            "new session, so pick another name (or drop --session)"
        )
    choice = ModelChoice.from_option(model)
    configure_cli_logging()
    opened = open_project(project)
    opened.import_system_module()
    system_config = with_model(opened.load_system_config(config), choice.override)
    system_config = with_limits(
        system_config,
        budget={"max_requests": max_requests, "max_tokens": max_tokens, "max_cost_usd": max_cost},
        retry={"max_attempts": max_retries, "max_total_wait": max_retry_wait},
    )
    try:
        system_cls = default_systems.get(system_config.type_name)
    except RegistryError as exc:
        # Point at the setting that names the type (system_type, else the config's name).
        key = "system_type" if system_config.system_type else "name"
        raise opened.system_config_error(key, str(exc), config) from None
    is_async = isinstance(system_cls, type) and issubclass(system_cls, AsyncSystem)

    name = session or _session_name(system_config.extra.get("experiment_id") or system_config.name)
    store = open_logs(opened, system_config)
    recorded = open_replay(store, replay) if replay is not None else None
    label = _replay_label(replay) if replay is not None else (LABEL if choice.scripted else None)
    frontend = make_frontend(store, name)
    view = StreamView() if stream else None
    tracing = open_tracing(opened, otel, choice=choice)
    tools = open_tools(
        opened, system_config, propagate=tracing.propagate if tracing is not None else None
    )
    mcp = open_mcp(system_config)
    try:
        runtime = make_runtime(
            opened,
            system_config,
            choice,
            want_async=is_async,
            log_store=store,
            frontend=frontend,
            session=name,
            replay=recorded,
            tools=tools,
            stream_view=view,
            tracer=tracing.tracer if tracing is not None else None,
            mcp=mcp,
        )
        ckpt = Path(system_config.ckpt_dir)
        system = build_system(
            system_config, str(ckpt if ckpt.is_absolute() else opened.root / ckpt), runtime=runtime
        )

        if label:
            print(label)
        print(f"session {name} · system {system_config.name} ({system_config.type_name})")
        kwargs: dict[str, Any] = {}
        if view is not None:
            kwargs["on_delta"] = view
        try:
            with _traced(tracing, system_config.name, name):
                if is_async:
                    import asyncio

                    assert isinstance(system, AsyncSystem)
                    result = asyncio.run(system.acall(task, session=name, **kwargs))
                else:
                    result = system.call(task, session=name, **kwargs)
        except BudgetExceededError as exc:
            show = command_hint(["logs", "show", name], project=opened.root, config=config)
            raise CommandError(_budget_message(exc, store, name, show, system_config)) from None
    finally:
        if view is not None:
            view.end()
        if tools is not None:
            tools.close()
        if tracing is not None:
            tracing.shutdown()
        if mcp is not None:
            mcp.close()

    print("result:")
    print(_show(result))
    if store is not None:
        costs = ReplaySession(store, name).costs().session
        usage = costs.usage
        print(
            f"cost: ${costs.cost.total_usd:.6f} ({costs.replies} model replies, "
            f"{usage.input_tokens} input + {usage.output_tokens} output tokens)"
            + (" — scripted model, no money spent" if choice.scripted and recorded is None else "")
            + (" — as recorded; the replay spent nothing" if recorded is not None else "")
        )
        show = command_hint(["logs", "show", name], project=opened.root, config=config)
        print(f"logs: {log_dir(opened, system_config)} — see them with: {show}")
        if recorded is None:
            again = command_hint(
                ["run", task, "--replay", name], project=opened.root, config=config
            )
            print(f"replay it offline with: {again}")
    if recorded is not None and recorded.remaining:
        print(
            f"note: {recorded.remaining} recorded model call(s) were not replayed: this run "
            "asked the model less than the recording did"
        )
    if tracing is not None:
        print(f"trace: {' '.join(tracing.trace_ids)} (OTLP/HTTP to {tracing.endpoint})")
    if label:
        print(label)
    return 0


def _traced(tracing: Tracing | None, system: str, session: str) -> AbstractContextManager[object]:
    """The run's ``invoke_workflow`` span when tracing is on."""
    if tracing is None:
        from contextlib import nullcontext

        return nullcontext()
    return tracing.workflow(system, session=session)


_LIMIT_SETTINGS = {
    "requests": ("max_requests", "--max-requests"),
    "tokens": ("max_tokens", "--max-tokens"),
    "cost": ("max_cost_usd", "--max-cost"),
}


def _budget_message(
    exc: BudgetExceededError,
    store: LogStore | None,
    session: str,
    show: str,
    config: SystemConfig,
) -> str:
    """One line: which agent stopped, at which limit, what the run spent, how to go on."""
    from lllm_domain.replay import ReplaySession

    key, option = _LIMIT_SETTINGS.get(exc.limit, (exc.limit, "--max-" + exc.limit))
    agent = exc.dialog.agent_name if exc.dialog is not None else None
    who = f"agent {agent!r}" if agent else "an agent call"
    if store is not None:
        costs = ReplaySession(store, session).costs().session
        spent = (
            f"spent ${costs.cost.total_usd:.6f} on {costs.replies} model replies "
            f"({costs.usage.input_tokens} input + {costs.usage.output_tokens} output tokens)"
        )
    elif exc.dialog is not None:  # no log store: what the stopped call's dialog holds
        dialog = exc.dialog
        spent = (
            f"spent ${dialog.cost.total_usd:.6f} in this call's dialog "
            f"({dialog.usage.input_tokens} input + {dialog.usage.output_tokens} output tokens)"
        )
    else:
        spent = "spent an unknown amount (no log store)"
    logs = f"; the session so far: {show}" if store is not None else ""
    return (
        f"budget reached: {who} stopped before its next model request "
        f"({key}={getattr(config.budget, key, '?')}); this run {spent}; raise {option} or "
        f"budget.{key} in the system config{logs}"
    )


def _replay_label(session: str) -> str:
    return f"[replay of session {session}: answers come from the recording]"


def _session_name(prefix: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    return f"{prefix}-{stamp}-{os.urandom(3).hex()}"


def _show(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(result)
