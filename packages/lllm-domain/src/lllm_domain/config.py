"""Typed runtime configuration of systems and their agents.

Loading these from TOML/YAML files is an adapter's job (``lllm_adapters.config``); the domain
only defines their shape and validates values. Secrets never live here: they come from the
environment at the edge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from attrs import define, field

from lllm_domain.errors import ConfigError
from lllm_domain.limits import Budget, RetryPolicy
from lllm_domain.message import EMPTY_MAPPING


def as_date(value: Any) -> dt.date | None:
    """``value`` as a date — a date, a datetime's date, or a ``"YYYY-MM-DD"`` string — or
    ``None`` when it is none of these (the config loaders name the key at fault)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


ApiType = Literal["completion", "response"]
LogType = Literal["localfile", "sqlite", "postgres", "none"]


@define(frozen=True, slots=True)
class MCPServerConfig:
    """An MCP server whose tools agents may use: a local program spoken to over stdio
    (``command`` and ``args``) or a streamable-HTTP endpoint (``url`` and ``headers``).

    ``timeout`` bounds every tool call (seconds): a call that takes longer is cancelled and the
    model reads an error result. ``connect_timeout`` bounds starting the server and listing its
    tools. ``tools`` keeps only these tool names (all when empty). Header and environment values
    are secrets: they are never logged nor shown in errors.
    """

    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default=EMPTY_MAPPING, repr=False)
    """Extra environment variables for a stdio server (over a minimal safe environment)."""
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default=EMPTY_MAPPING, repr=False)
    timeout: float = 30.0
    connect_timeout: float = 30.0
    tools: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ConfigError(
                "an MCP server needs exactly one of command (a stdio server) or url (a "
                "streamable-HTTP server)"
            )
        if self.command is not None and not self.command.strip():
            raise ConfigError("an MCP server's command must not be empty")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"an MCP server's url must start with http:// or https://, not {self.url!r}"
            )
        for key in ("timeout", "connect_timeout"):
            if not getattr(self, key) > 0:
                raise ConfigError(
                    f"an MCP server's {key} must be a positive number of seconds, "
                    f"not {getattr(self, key)!r}"
                )

    @property
    def transport(self) -> Literal["stdio", "http"]:
        """``stdio`` for a command, ``http`` for a URL."""
        return "stdio" if self.command is not None else "http"


@define(frozen=True, slots=True)
class AgentConfig:
    """How to build one named sub-agent of a system."""

    model_name: str
    system_prompt_path: str
    api_type: ApiType = "completion"
    temperature: float | None = None
    max_completion_tokens: int | None = None
    model_args: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    """Further request arguments (checked against the model card before any request)."""
    max_exception_retry: int | None = None
    max_interrupt_times: int | None = None
    max_llm_recall: int | None = None
    mcp_servers: tuple[str, ...] = ()
    """Names of the system's ``mcp_servers`` whose tools this agent offers with every prompt."""

    def __attrs_post_init__(self) -> None:
        if self.api_type not in ("completion", "response"):
            raise ConfigError(
                f"agent api_type must be 'completion' or 'response', not {self.api_type!r}"
            )
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ConfigError(f"agent temperature must be between 0 and 2, not {self.temperature}")

    def request_args(self) -> dict[str, Any]:
        """The request arguments this config asks for."""
        args = dict(self.model_args)
        if self.temperature is not None:
            args["temperature"] = self.temperature
        if self.max_completion_tokens is not None:
            args["max_completion_tokens"] = self.max_completion_tokens
        return args


@define(frozen=True, slots=True)
class SystemConfig:
    """A system's runtime configuration (``config/<name>/default.yaml`` in a project)."""

    name: str
    system_type: str | None = None
    """The registered system type to build (defaults to ``name``)."""
    log_type: LogType = "sqlite"
    """Where logs go: ``sqlite`` (one WAL-mode file, the default), ``localfile`` (one JSON file
    per record), ``postgres`` (a PostgreSQL database: ``log_dsn``) or ``none``."""
    log_dir: str = "logs"
    log_dsn: str | None = field(default=None, repr=False)
    """The PostgreSQL connection string for ``log_type: postgres`` (a libpq ``key=value``
    string or a ``postgresql://`` URL); when omitted, the ``LLLM_POSTGRES_DSN`` environment
    variable. Write ``${LLLM_POSTGRES_DSN}`` rather than a password here. Never shown in a
    ``repr``."""
    ckpt_dir: str = "ckpt"
    random_seed: int | None = None
    agent_configs: Mapping[str, AgentConfig] = field(default=EMPTY_MAPPING)
    max_exception_retry: int = 3
    max_interrupt_times: int = 5
    max_llm_recall: int = 0
    budget: Budget = field(factory=Budget)
    """Spending limits of each agent call (``max_requests``, ``max_tokens``, ``max_cost_usd``;
    unlimited when omitted): reaching one ends the call with ``BudgetExceededError``."""
    retry: RetryPolicy = field(factory=RetryPolicy)
    """How each agent call retries transient API failures (``max_attempts``,
    ``max_total_wait``, ``base_delay``, ``max_delay``, ``jitter``)."""
    activate_proxies: tuple[str, ...] = ()
    cutoff_date: dt.date | None = None
    deploy_mode: bool = False
    mcp_servers: Mapping[str, MCPServerConfig] = field(default=EMPTY_MAPPING)
    """MCP servers by name, whose tools agents list in their ``mcp_servers`` (the project's
    ``[mcp_servers]`` in ``lllm.toml`` are added under these)."""
    extra: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    """System-specific settings, passed through untouched."""

    def __attrs_post_init__(self) -> None:
        for key in ("max_exception_retry", "max_interrupt_times", "max_llm_recall"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be >= 0, not {getattr(self, key)}")
        if self.log_type not in ("localfile", "sqlite", "postgres", "none"):
            raise ConfigError(
                "log_type must be 'localfile', 'sqlite', 'postgres' or 'none', not "
                f"{self.log_type!r}"
            )

    @property
    def type_name(self) -> str:
        """The system type to build."""
        return self.system_type or self.name
