"""The built-in offline scripted model that `lllm run --model scripted` uses.

It is not an LLM. A project can give it a scenario with ``[project] scripted =
"module:function"`` (a function of the :class:`~lllm_domain.request.LLMRequest` returning a
reply, as :class:`~lllm_domain.testing.ScriptedCaller` accepts). Without one, it answers every
request with a reply that satisfies the prompt's required tags, so any project runs end to end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lllm_domain.errors import RegistryError
from lllm_domain.registry import PromptRegistry
from lllm_domain.request import LLMRequest
from lllm_domain.testing import ScriptedCaller

SCRIPTED = "scripted"
"""The ``--model`` value that selects the scripted model."""

LABEL = "[scripted model: offline replies from LLLM's built-in scripted model, not a real LLM]"
"""Printed before and after a scripted run so nobody mistakes it for a model's work."""


def default_reply(prompts: PromptRegistry) -> Callable[[LLMRequest], Any]:
    """A reply function that fills the required tags of each request's prompt."""

    def reply(request: LLMRequest) -> Any:
        path = request.prompt_path or ""
        try:
            prompt = prompts.resolve(path) if path else None
        except RegistryError:
            prompt = None
        if prompt is None or prompt.tag_spec_is_empty:
            if prompt is not None and prompt.format is not None:
                return "{}"
            return "(scripted reply)"
        spec = prompt.tag_spec
        parts = [f"<{tag}>scripted {tag}</{tag}>" for tag in spec.mandatory_xml_tags]
        parts += [f"```{tag}\nscripted {tag}\n```" for tag in spec.mandatory_md_tags]
        return "\n".join(parts) or "(scripted reply)"

    return reply


def scripted_caller(
    prompts: PromptRegistry, hook: Callable[[LLMRequest], Any] | None = None
) -> ScriptedCaller:
    """The scripted caller: the project's hook when given, else :func:`default_reply`."""
    # Replies name the scripted model, so logs and cost reports never pass them off as the
    # configured model's work.
    return ScriptedCaller(respond=hook or default_reply(prompts), model=SCRIPTED)
