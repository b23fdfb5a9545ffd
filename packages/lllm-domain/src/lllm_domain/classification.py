"""Classification from log-probabilities: ask for one token, read the top candidates.

As in the original LLLM, :func:`classify` appends an instruction turn that asks for exactly one
of the classes (:data:`CLASSIFICATION_INSTRUCTION`; :func:`binary_classify` uses
:data:`BINARY_INSTRUCTION`), biases the class tokens by ``strength`` (OpenAI's ``logit_bias``)
and, when no tokenizer is passed, finds the model's tokenizer from its model card through the
agent's :class:`~lllm_domain.ports.TokenizerProvider` (see :func:`model_tokenizer`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

from lllm_domain.agent import Agent
from lllm_domain.dialog import Dialog
from lllm_domain.errors import ClassificationError, ConfigError, PromptError
from lllm_domain.message import Message
from lllm_domain.ports import Tokenizer
from lllm_domain.prompt import Prompt

CLASSIFICATION_INSTRUCTION = (
    "Reply with exactly one of these options and nothing else: {classes}.\n"
    "If you are unsure, still choose the option that fits best; do not refuse."
)
"""The instruction turn :func:`classify` appends; ``{classes}`` becomes ``"A" or "B" ...``."""

BINARY_INSTRUCTION = (
    "Reply with exactly one word: {classes}.\n"
    "If you are unsure, still choose the more likely one; do not answer maybe, unsure or "
    "unknown, and do not refuse."
)
"""The instruction turn :func:`binary_classify` appends."""

DEFAULT_STRENGTH = 10.0
"""The logit bias added to each class token (the original's default)."""

BINARY_CLASSES = ("True", "False")


def model_tokenizer(agent: Agent) -> Tokenizer:
    """The tokenizer of ``agent``'s model: the encoding its model card names, else the one its
    provider knows for the model name, found through ``agent.tokenizers``.

    Raises :class:`ConfigError` when the agent has no tokenizer provider.
    """
    provider = agent.tokenizers
    if provider is None:
        raise ConfigError(
            f"classification needs the tokenizer of model {agent.model!r} (agent "
            f"{agent.name!r}): pass tokenizer=..., or build the agent with a tokenizer "
            "provider, e.g. Agent(..., tokenizers=lllm_adapters.tokenizer.TiktokenProvider()) "
            "or Runtime(..., tokenizers=...) (`lllm run` does this for you)"
        )
    card = agent.model_card
    if card is not None and card.encoding:
        return provider.for_encoding(card.encoding)
    return provider.for_model(agent.model)


def render_instruction(template: str, classes: Sequence[str]) -> str:
    """``template`` with ``{classes}`` replaced by the quoted classes joined by ``or``."""
    return template.replace("{classes}", " or ".join(f'"{c}"' for c in classes))


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


def classification_args(
    token_ids: Mapping[str, int], top_logprobs: int = 20, *, strength: float = DEFAULT_STRENGTH
) -> dict[str, Any]:
    """Request arguments that steer the reply to one of the class tokens: each gets a logit
    bias of ``strength`` (OpenAI accepts -100 to 100; 100 all but forces a class token)."""
    if isinstance(strength, bool) or not isinstance(strength, int | float):
        raise PromptError(f"classification strength must be a number, not {strength!r}")
    if not 0 < strength <= 100:
        raise PromptError(
            f"classification strength must be in (0, 100] (the logit_bias range), not {strength}"
        )
    bias = int(strength) if float(strength).is_integer() else strength
    return {
        "logprobs": True,
        "top_logprobs": top_logprobs,
        "max_completion_tokens": 1,
        "logit_bias": {str(t): bias for t in token_ids.values()},
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


class ClassifyOptions(TypedDict, total=False):
    """The keyword options of :func:`classify` and its siblings, all optional."""

    tokenizer: Tokenizer | None
    """Tokenizes the classes (default: the model's, see :func:`model_tokenizer`)."""
    prompt: Prompt | str | None
    """The question (rendered with ``args``; plain text is sent as it is); default: the
    dialog's last turn."""
    args: Mapping[str, Any] | None
    """The question prompt's variables."""
    instruction: str | None
    """Sent as a user turn after the question, ``{classes}`` filled in; ``None``: send none.
    Default: :data:`CLASSIFICATION_INSTRUCTION` (:data:`BINARY_INSTRUCTION` for the binary
    forms)."""
    strength: float
    """The logit bias given to the class tokens (default: :data:`DEFAULT_STRENGTH`)."""


def _binary(options: ClassifyOptions) -> ClassifyOptions:
    """``options`` with the binary forms' default instruction."""
    return {"instruction": BINARY_INSTRUCTION, **options}


def _parser(classes: Sequence[str]) -> Any:
    def parse(message: Message, prompt: Prompt) -> dict[str, float]:
        return probabilities_from_reply(message, classes)

    return parse


def _prepare(
    agent: Agent, dialog: Dialog, classes: Sequence[str], options: ClassifyOptions
) -> tuple[Prompt | str | None, Mapping[str, Any], dict[str, Any]]:
    """Check everything, send the question (if any) and return what to call the agent with."""
    unknown = options.keys() - ClassifyOptions.__optional_keys__
    if unknown:
        raise TypeError(
            f"unknown classification options {', '.join(sorted(unknown))}; the options are "
            f"{', '.join(sorted(ClassifyOptions.__optional_keys__))}"
        )
    tokenizer = options.get("tokenizer")
    prompt = options.get("prompt")
    args = options.get("args")
    instruction = options.get("instruction", CLASSIFICATION_INSTRUCTION)
    strength = options.get("strength", DEFAULT_STRENGTH)
    token_ids = class_token_ids(classes, tokenizer or model_tokenizer(agent))
    model_args = classification_args(token_ids, strength=strength)
    if not instruction:
        return prompt, args or {}, model_args
    if agent.model_card is not None:
        # Checked before the question is sent, so a bad argument leaves no half-sent turn.
        agent.model_card.check_args({**agent.model_args, **model_args})
    if isinstance(prompt, str):
        dialog.send_message(prompt)
    elif prompt is not None:
        dialog.send_prompt(prompt, args or {})
    return render_instruction(instruction, classes), {}, model_args


def classify(
    agent: Agent,
    dialog: Dialog,
    classes: Sequence[str],
    **options: Unpack[ClassifyOptions],
) -> dict[str, float]:
    """Ask ``agent`` for one token restricted to ``classes`` and return a probability per class.

    The question is the dialog's last turn, or ``prompt`` (rendered with ``args``; plain text is
    sent as it is). Then ``instruction`` (``{classes}`` filled in) is sent as a user turn, as the
    original LLLM did; pass ``instruction=None`` to send none. Class tokens get a logit bias of
    ``strength``. ``tokenizer`` defaults to the model's (see :func:`model_tokenizer`).
    """
    question, question_args, model_args = _prepare(agent, dialog, classes, options)
    result = agent.call(
        dialog, question, question_args, reply_parser=_parser(classes), model_args=model_args
    )
    probs: dict[str, float] = result.parsed
    return probs


async def aclassify(
    agent: Agent,
    dialog: Dialog,
    classes: Sequence[str],
    **options: Unpack[ClassifyOptions],
) -> dict[str, float]:
    """The async form of :func:`classify`."""
    question, question_args, model_args = _prepare(agent, dialog, classes, options)
    result = await agent.acall(
        dialog, question, question_args, reply_parser=_parser(classes), model_args=model_args
    )
    probs: dict[str, float] = result.parsed
    return probs


def binary_classify(
    agent: Agent,
    dialog: Dialog,
    **options: Unpack[ClassifyOptions],
) -> float:
    """p(True), normalised over True/False."""
    return classify(agent, dialog, BINARY_CLASSES, **_binary(options))["True"]


async def abinary_classify(
    agent: Agent,
    dialog: Dialog,
    **options: Unpack[ClassifyOptions],
) -> float:
    """The async form of :func:`binary_classify`."""
    probs = await aclassify(agent, dialog, BINARY_CLASSES, **_binary(options))
    return probs["True"]
