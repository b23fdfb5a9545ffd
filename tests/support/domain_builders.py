"""Small builders shared by the domain unit tests: prompts, agents, a fake tokenizer and the
hypothesis settings every property test uses (deterministic, modest, no deadline)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import HealthCheck, settings
from lllm_domain.agent import Agent
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits
from lllm_domain.model_card import ModelCard
from lllm_domain.ports import LogStore
from lllm_domain.prompt import Prompt
from lllm_domain.testing import CountingIds, FakeClock, ScriptedCaller, ScriptItem

PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
"""Settings for property tests: derandomized so CI is deterministic, small enough to be fast."""

SYSTEM_PROMPT = Prompt("test/system", "You are a careful assistant.")


def answer_prompt(path: str = "test/task", functions: Iterable[Function] = ()) -> Prompt:
    """A task prompt that requires an ``<answer>`` tag and offers ``functions``."""
    return Prompt(
        path,
        "Question: {question}",
        functions=tuple(functions),
        xml_tags=("answer",),
        required_xml_tags=("answer",),
    )


def make_agent(
    script: Iterable[ScriptItem] = (),
    *,
    limits: CallLimits | None = None,
    log_store: LogStore | None = None,
    model_card: ModelCard | None = None,
    model_args: Mapping[str, Any] | None = None,
    clock: FakeClock | None = None,
    seed: int = 7,
) -> tuple[Agent, ScriptedCaller, FakeClock]:
    """An agent over a scripted caller and a fake clock, with deterministic ids and jitter."""
    import random

    caller = ScriptedCaller(script, model_card=model_card)
    fake_clock = clock or FakeClock()
    agent = Agent(
        "tester",
        SYSTEM_PROMPT,
        model="scripted-model",
        caller=caller,
        model_args=dict(model_args or {}),
        limits=limits or CallLimits(),
        log_store=log_store,
        clock=fake_clock,
        rng=random.Random(seed),
        ids=CountingIds("d"),
        model_card=model_card,
    )
    return agent, caller, fake_clock


class VocabTokenizer:
    """A tiny tokenizer: words in ``vocab`` are one token each, any other character is one
    token (its code point), so ``"A"`` is one token and ``"AB"`` is two."""

    def __init__(self, vocab: Sequence[str] = ("True", "False")) -> None:
        self._vocab = {word: 1_000_000 + i for i, word in enumerate(vocab)}
        self._words = {i: w for w, i in self._vocab.items()}

    @property
    def name(self) -> str:
        """The encoding name."""
        return "vocab-test"

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        if text in self._vocab:
            return [self._vocab[text]]
        return [ord(ch) for ch in text]

    def decode(self, tokens: Sequence[int]) -> str:
        """Text of ``tokens``."""
        return "".join(self._words.get(t) or chr(t) for t in tokens)

    def count(self, text: str) -> int:
        """Number of tokens."""
        return len(self.encode(text))
