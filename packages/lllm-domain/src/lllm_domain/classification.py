"""Classification from log-probabilities: ask for one token, read the top candidates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.agent import Agent
from lllm_domain.dialog import Dialog
from lllm_domain.errors import ClassificationError, PromptError
from lllm_domain.message import Message
from lllm_domain.ports import Tokenizer
from lllm_domain.prompt import Prompt


def class_token_ids(classes: Sequence[str], tokenizer: Tokenizer) -> dict[str, int]:
    """Each class's single token id; a class that is not exactly one token is an error."""
    if len(set(classes)) != len(classes) or len(classes) < 2:
        raise PromptError(f"classify needs at least two distinct classes, got {list(classes)}")
    ids: dict[str, int] = {}
    for cls in classes:
        tokens = tokenizer.encode(cls)
        if len(tokens) != 1:
            raise PromptError(
                f"class {cls!r} is {len(tokens)} tokens in encoding {tokenizer.name!r}; "
                "classification needs single-token class names (e.g. 'A', 'B', 'True')"
            )
        ids[cls] = tokens[0]
    return ids


def classification_args(token_ids: Mapping[str, int], top_logprobs: int = 20) -> dict[str, Any]:
    """Request arguments that restrict the reply to one of the class tokens."""
    return {
        "logprobs": True,
        "top_logprobs": top_logprobs,
        "max_completion_tokens": 1,
        "logit_bias": {str(t): 100 for t in token_ids.values()},
    }


def probabilities_from_reply(message: Message, classes: Sequence[str]) -> dict[str, float]:
    """A probability per class from the reply's first-token top log-probabilities.

    Raises :class:`ClassificationError` (retried like a parse error) when none of the classes is
    among the candidates.
    """
    if not message.logprobs:
        raise ClassificationError(
            "The reply carries no log-probabilities; answer with exactly one of: "
            + ", ".join(classes)
        )
    first = message.logprobs[0]
    candidates = {first.token.strip(): first.logprob}
    for top in first.top:
        token = top.token.strip()
        candidates[token] = max(candidates.get(token, -math.inf), top.logprob)
    found = {c: math.exp(candidates[c]) for c in classes if c in candidates}
    if not found:
        raise ClassificationError(
            f"None of the classes {list(classes)} is among the reply's top tokens "
            f"{sorted(candidates)}; answer with exactly one of: {', '.join(classes)}"
        )
    total = sum(found.values())
    return {c: found.get(c, 0.0) / total for c in classes}


def _parser(classes: Sequence[str]) -> Any:
    def parse(message: Message, prompt: Prompt) -> dict[str, float]:
        return probabilities_from_reply(message, classes)

    return parse


def classify(
    agent: Agent,
    dialog: Dialog,
    classes: Sequence[str],
    *,
    tokenizer: Tokenizer,
    prompt: Prompt | None = None,
    args: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Ask ``agent`` for one token restricted to ``classes`` and return a probability per class.

    The dialog's last user turn should ask the question (or pass ``prompt`` and ``args``).
    """
    token_ids = class_token_ids(classes, tokenizer)
    result = agent.call(
        dialog,
        prompt,
        args or {},
        reply_parser=_parser(classes),
        model_args=classification_args(token_ids),
    )
    probs: dict[str, float] = result.parsed
    return probs


async def aclassify(
    agent: Agent,
    dialog: Dialog,
    classes: Sequence[str],
    *,
    tokenizer: Tokenizer,
    prompt: Prompt | None = None,
    args: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """The async form of :func:`classify`."""
    token_ids = class_token_ids(classes, tokenizer)
    result = await agent.acall(
        dialog,
        prompt,
        args or {},
        reply_parser=_parser(classes),
        model_args=classification_args(token_ids),
    )
    probs: dict[str, float] = result.parsed
    return probs


def binary_classify(
    agent: Agent,
    dialog: Dialog,
    *,
    tokenizer: Tokenizer,
    prompt: Prompt | None = None,
    args: Mapping[str, Any] | None = None,
) -> float:
    """p(True), normalised over True/False."""
    return classify(
        agent, dialog, ("True", "False"), tokenizer=tokenizer, prompt=prompt, args=args
    )["True"]


async def abinary_classify(
    agent: Agent,
    dialog: Dialog,
    *,
    tokenizer: Tokenizer,
    prompt: Prompt | None = None,
    args: Mapping[str, Any] | None = None,
) -> float:
    """The async form of :func:`binary_classify`."""
    probs = await aclassify(
        agent, dialog, ("True", "False"), tokenizer=tokenizer, prompt=prompt, args=args
    )
    return probs["True"]
