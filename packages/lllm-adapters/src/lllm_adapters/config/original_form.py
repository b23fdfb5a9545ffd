"""The original LLLM's form of a system config, mapped onto ours.

The original framework's templates wrote system configs that our strict schema would reject:

- ``agent_type`` (top level) chose the agent class that ``build_agent`` built; ours builds the
  :class:`~lllm_domain.system.System` registered under ``system_type``, so ``agent_type`` sets
  ``system_type``. The original's own ``system_type`` chose an outer runner (``basic``) that has
  no counterpart here; when both are given it is kept as ``extra["system_type"]``.
- settings the original wrote but never read (``max_query_retry``) go to ``extra``.
- inside ``agent_configs``, every key beside ``model_name``, ``system_prompt_path`` and
  ``api_type`` was a request argument; ours keeps them under ``model_args``. Known model
  arguments (:data:`MODEL_ARGUMENTS`) written beside ``model_name`` are moved there;
  ``temperature`` and ``max_completion_tokens`` are fields of our agent config already.

Anything else is still an unknown key, reported with the nearest valid name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import attrs
from lllm_domain.config import AgentConfig
from lllm_domain.errors import ConfigError

from lllm_adapters.config.source import KeyPath, suggest

MODEL_ARGUMENTS = frozenset(
    {
        # OpenAI Chat Completions and Responses
        "audio",
        "extra_body",
        "frequency_penalty",
        "include",
        "instructions",
        "logit_bias",
        "logprobs",
        "max_output_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "previous_response_id",
        "prompt_cache_key",
        "reasoning",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "text",
        "tool_choice",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
        "verbosity",
        "web_search_options",
        # Anthropic Messages
        "stop_sequences",
        "thinking",
        "top_k",
    }
)
"""Request arguments an agent config may give beside ``model_name`` (the original's form);
they are moved under ``model_args``. Others must be written under ``model_args`` directly."""

ORIGINAL_TOP_LEVEL_EXTRAS = ("max_query_retry",)
"""Top-level settings of the original's configs that go to ``extra``."""

ORIGINAL_TOP_LEVEL_KEYS = ("agent_type", *ORIGINAL_TOP_LEVEL_EXTRAS)
"""Every top-level key of the original's form that is not one of ours (for suggestions)."""

ErrorAt = Callable[[str, KeyPath], ConfigError]


def from_original_form(
    data: Mapping[str, Any], lines: MutableMapping[KeyPath, int], error: ErrorAt
) -> dict[str, Any]:
    """``data`` with the original's form mapped onto ours (see the module docstring).

    ``lines`` (key path → line) gains the moved keys' new paths, so later errors still point at
    the line written; ``error(message, path)`` builds the error for a key given twice or an
    unknown agent key.
    """
    result = dict(data)
    extra = result.get("extra")
    if extra is not None and not isinstance(extra, Mapping):
        return result  # the schema reports the wrong type of extra
    merged = dict(extra or {})
    to_extra = [key for key in ORIGINAL_TOP_LEVEL_EXTRAS if key in result]
    if "agent_type" in result and "system_type" in result:
        to_extra.append("system_type")
    for key in to_extra:
        if key in merged:
            raise error(f"given twice: here and as extra.{key}; keep one of them", (key,))
        merged[key] = result.pop(key)
        _relocate(lines, (key,), ("extra", key))
    if to_extra:
        result["extra"] = merged
    if "agent_type" in result:
        result["system_type"] = result.pop("agent_type")
        _relocate(lines, ("agent_type",), ("system_type",))
    agents = result.get("agent_configs")
    if isinstance(agents, Mapping):
        result["agent_configs"] = {
            name: _agent(agent, ("agent_configs", str(name)), lines, error)
            if isinstance(agent, Mapping)
            else agent
            for name, agent in agents.items()
        }
    return result


_AGENT_FIELDS = tuple(a.name for a in attrs.fields(AgentConfig) if a.init)


def _agent(
    agent: Mapping[str, Any], path: KeyPath, lines: MutableMapping[KeyPath, int], error: ErrorAt
) -> Mapping[str, Any]:
    loose = [key for key in agent if key not in _AGENT_FIELDS]
    if not loose:
        return agent
    result = dict(agent)
    model_args = result.get("model_args")
    if model_args is not None and not isinstance(model_args, Mapping):
        return result  # the schema reports the wrong type of model_args
    merged = dict(model_args or {})
    for key in loose:
        where = (*path, str(key))
        if key not in MODEL_ARGUMENTS:
            raise error(
                f"unknown key {key!r}{suggest(str(key), (*_AGENT_FIELDS, *MODEL_ARGUMENTS))}; "
                f"valid keys are {', '.join(_AGENT_FIELDS)} and known model arguments "
                "(reasoning_effort, top_p, seed, ...); put any other model argument under "
                "model_args",
                where,
            )
        if key in merged:
            raise error("given twice: here and under model_args; keep one of them", where)
        merged[key] = result.pop(key)
        _relocate(lines, where, (*path, "model_args", str(key)))
    result["model_args"] = merged
    return result


def _relocate(lines: MutableMapping[KeyPath, int], old: KeyPath, new: KeyPath) -> None:
    line = lines.get(old)
    if line is not None:
        lines[new] = line
