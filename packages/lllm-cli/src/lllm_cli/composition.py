"""The composition root: wires adapters (callers, log stores, frontends) into the domain's
:class:`~lllm_domain.system.Runtime` for one run of a project's system."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import define, evolve
from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.ports import AsyncLLMCaller, Frontend, LLMCaller, LogStore
from lllm_domain.system import Runtime

from lllm_cli.errors import CommandError
from lllm_cli.project import Project
from lllm_cli.scripted_model import SCRIPTED, scripted_caller

MISSING_KEY_MESSAGE = (
    "no model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL to use an "
    "OpenAI-compatible server such as vLLM, Ollama or llama.cpp), or pass --model scripted to "
    "run offline with LLLM's built-in scripted model"
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


def log_dir(project: Project, config: SystemConfig) -> Path:
    """The folder the system's logs go to (relative paths are relative to the project)."""
    path = Path(config.log_dir)
    return path if path.is_absolute() else project.root / path


def open_logs(project: Project, config: SystemConfig) -> LogStore | None:
    """The log store ``config.log_type`` names (``None`` for ``none``)."""
    if config.log_type == "none":
        return None
    from lllm_adapters.logs import open_log_store

    return open_log_store(config.log_type, log_dir(project, config))


def find_logs(project: Project, config: SystemConfig | None) -> LogStore:
    """The log store to read sessions from (the system config's, else local files in
    ``<project>/logs``)."""
    from lllm_adapters.logs import open_log_store

    if config is None:
        return open_log_store("localfile", project.root / "logs")
    store = open_logs(project, config)
    if store is None:
        raise CommandError(
            f"the system config of {config.name!r} turns logging off (log_type: none); there "
            "are no sessions to read"
        )
    return store


def model_callers(
    project: Project,
    choice: ModelChoice,
    *,
    want_async: bool,
    environ: Mapping[str, str] | None = None,
) -> tuple[Any, Any]:
    """The caller factory and the model-card lookup for ``choice``.

    A real model needs ``OPENAI_API_KEY`` (a key-less compatible server is fine when
    ``OPENAI_BASE_URL`` points away from api.openai.com); otherwise this raises a
    :class:`CommandError` that says exactly what to set.
    """
    if choice.scripted:
        caller = scripted_caller(project.prompts, project.hook("scripted"))

        def scripted_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
            return caller

        return scripted_factory, None

    env = os.environ if environ is None else environ
    from lllm_adapters.openai import (
        AsyncOpenAICaller,
        ModelCatalog,
        OpenAICaller,
        OpenAISettings,
    )
    from lllm_adapters.openai.settings import is_official_url

    settings = OpenAISettings.from_env(env)
    if not settings.api_key and is_official_url(settings.base_url):
        raise CommandError(MISSING_KEY_MESSAGE)
    catalog = ModelCatalog.builtin()
    shared: LLMCaller | AsyncLLMCaller = (
        AsyncOpenAICaller(settings, catalog) if want_async else OpenAICaller(settings, catalog)
    )

    def openai_factory(config: AgentConfig) -> LLMCaller | AsyncLLMCaller:
        return shared

    def cards(model: str) -> Any:
        return catalog.card(model, base_url=settings.base_url)

    return openai_factory, cards


def make_runtime(
    project: Project,
    config: SystemConfig,
    choice: ModelChoice,
    *,
    want_async: bool,
    log_store: LogStore | None,
    frontend: Frontend,
) -> Runtime:
    """The runtime a project's system is built with."""
    callers, cards = model_callers(project, choice, want_async=want_async)
    return Runtime(
        callers=callers,
        prompts=project.prompts,
        log_store=log_store,
        frontend=frontend,
        model_cards=cards,
    )
