"""Classification from top log-probabilities."""

from __future__ import annotations

import asyncio
import math

import pytest
from lllm_domain.classification import (
    BINARY_INSTRUCTION,
    CLASSIFICATION_INSTRUCTION,
    abinary_classify,
    aclassify,
    binary_classify,
    class_token_ids,
    classify,
    probabilities_from_reply,
    render_instruction,
)
from lllm_domain.errors import (
    ClassificationError,
    ConfigError,
    ParseRetriesExhaustedError,
    PromptError,
)
from lllm_domain.limits import CallLimits
from lllm_domain.message import Creator, Message, Role
from lllm_domain.model_card import ModelCard
from lllm_domain.prompt import Prompt
from lllm_domain.testing import logprob_reply

from tests.support.domain_builders import VocabTokenizer, make_agent

QUESTION = Prompt("test/classify", "Which letter? {text}")


def test_classify_returns_a_probability_per_class_from_top_logprobs() -> None:
    agent, caller, _ = make_agent([logprob_reply({"A": 0.6, "B": 0.2, "Z": 0.2})])
    probs = classify(
        agent,
        agent.init_dialog(),
        ["A", "B", "C"],
        tokenizer=VocabTokenizer(),
        prompt=QUESTION,
        args={"text": "x"},
    )
    assert probs.keys() == {"A", "B", "C"}
    assert probs["A"] == pytest.approx(0.75)
    assert probs["B"] == pytest.approx(0.25)
    assert probs["C"] == 0.0
    args = caller.requests[0].model_args
    assert args["logprobs"] is True
    assert args["max_completion_tokens"] == 1
    assert args["logit_bias"] == {str(ord(c)): 10 for c in "ABC"}  # the original's strength


def test_binary_classify_normalises_over_true_and_false() -> None:
    agent, caller, _ = make_agent([logprob_reply({"True": 0.3, "False": 0.1, "Maybe": 0.6})])
    p = binary_classify(
        agent, agent.init_dialog(), tokenizer=VocabTokenizer(), prompt=QUESTION, args={"text": "x"}
    )
    assert p == pytest.approx(0.75)
    assert set(caller.requests[0].model_args["logit_bias"]) == {"1000000", "1000001"}


def test_missing_class_tokens_are_retried_like_parse_errors() -> None:
    agent, caller, _ = make_agent(
        [logprob_reply({"X": 0.9, "Y": 0.1}), logprob_reply({"B": 0.5, "A": 0.5})]
    )
    dialog = agent.init_dialog()
    probs = classify(
        agent, dialog, ["A", "B"], tokenizer=VocabTokenizer(), prompt=QUESTION, args={"text": "x"}
    )
    assert probs == pytest.approx({"A": 0.5, "B": 0.5})
    assert len(caller.requests) == 2
    handler = caller.requests[1].messages[-1]
    assert handler.creator == Creator.EXCEPTION
    assert "None of the classes ['A', 'B']" in handler.content
    assert len(dialog[-1].attempts) == 1


def test_classification_retries_exhausted() -> None:
    agent, _, _ = make_agent(
        [logprob_reply({"X": 1.0}), Message(Role.ASSISTANT, "A", "tester")],
        limits=CallLimits(max_exception_retry=1),
    )
    with pytest.raises(ParseRetriesExhaustedError) as info:
        classify(
            agent,
            agent.init_dialog(),
            ["A", "B"],
            tokenizer=VocabTokenizer(),
            prompt=QUESTION,
            args={"text": "x"},
        )
    assert isinstance(info.value.__cause__, ClassificationError)
    assert "no log-probabilities" in str(info.value.__cause__)
    assert len(info.value.attempts) == 2


def test_multi_token_or_duplicate_classes_fail_before_any_request() -> None:
    agent, caller, _ = make_agent([logprob_reply({"A": 1.0})])
    with pytest.raises(PromptError, match="'AB' is 2 tokens"):
        classify(agent, agent.init_dialog(), ["A", "AB"], tokenizer=VocabTokenizer())
    with pytest.raises(PromptError, match="two distinct classes"):
        class_token_ids(["A", "A"], VocabTokenizer())
    assert caller.requests == []


def test_probabilities_use_the_best_logprob_of_stripped_tokens() -> None:
    reply = logprob_reply(
        {" A": math.log(0.2), "A": math.log(0.4), "B": math.log(0.4)}, probabilities=False
    )
    assert probabilities_from_reply(reply, ["A", "B"]) == pytest.approx({"A": 0.5, "B": 0.5})


def test_async_classification_matches_sync() -> None:
    agent, _, _ = make_agent([logprob_reply({"A": 0.6, "B": 0.2}), logprob_reply({"True": 0.9})])
    probs = asyncio.run(
        aclassify(
            agent,
            agent.init_dialog(),
            ["A", "B"],
            tokenizer=VocabTokenizer(),
            prompt=QUESTION,
            args={"text": "x"},
        )
    )
    assert probs == pytest.approx({"A": 0.75, "B": 0.25})
    p = asyncio.run(
        abinary_classify(
            agent,
            agent.init_dialog(),
            tokenizer=VocabTokenizer(),
            prompt=QUESTION,
            args={"text": "y"},
        )
    )
    assert p == pytest.approx(1.0)


class _Provider:
    """A tokenizer provider that records what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def for_model(self, model: str) -> VocabTokenizer:
        self.asked.append(("model", model))
        return VocabTokenizer()

    def for_encoding(self, encoding: str) -> VocabTokenizer:
        self.asked.append(("encoding", encoding))
        return VocabTokenizer()


def test_classify_defaults_the_tokenizer_from_the_model_card_encoding() -> None:
    card = ModelCard("scripted-model", encoding="vocab-enc", features=frozenset({"logprobs"}))
    agent, _, _ = make_agent([logprob_reply({"A": 0.6, "B": 0.4})], model_card=card)
    provider = _Provider()
    agent.tokenizers = provider
    probs = classify(agent, agent.init_dialog(), ["A", "B"], prompt=QUESTION, args={"text": "x"})
    assert probs == pytest.approx({"A": 0.6, "B": 0.4})
    assert provider.asked == [("encoding", "vocab-enc")]


def test_classify_without_a_card_encoding_asks_the_provider_for_the_model() -> None:
    agent, _, _ = make_agent([logprob_reply({"True": 0.8, "False": 0.2})])
    provider = _Provider()
    agent.tokenizers = provider
    assert binary_classify(agent, agent.init_dialog(), prompt="Is it?") == pytest.approx(0.8)
    assert provider.asked == [("model", "scripted-model")]


def test_classify_without_any_tokenizer_says_how_to_give_one() -> None:
    agent, caller, _ = make_agent([logprob_reply({"A": 1.0})])
    with pytest.raises(ConfigError, match=r"model 'scripted-model'.*tokenizer=.*tokenizers="):
        classify(agent, agent.init_dialog(), ["A", "B"])
    assert caller.requests == []


def test_classify_appends_the_default_instruction_after_the_question() -> None:
    agent, caller, _ = make_agent([logprob_reply({"A": 0.5, "B": 0.5})])
    classify(
        agent,
        agent.init_dialog(),
        ["A", "B"],
        tokenizer=VocabTokenizer(),
        prompt=QUESTION,
        args={"text": "x"},
    )
    *_, question, instruction = caller.requests[0].messages
    assert question.content == "Which letter? x"
    assert instruction.content == render_instruction(CLASSIFICATION_INSTRUCTION, ["A", "B"])
    assert instruction.content.startswith(
        'Reply with exactly one of these options and nothing else: "A" or "B".'
    )


def test_binary_classify_appends_the_binary_instruction_and_none_sends_none() -> None:
    agent, caller, _ = make_agent(
        [logprob_reply({"True": 0.5, "False": 0.5}), logprob_reply({"True": 0.5, "False": 0.5})]
    )
    binary_classify(agent, agent.init_dialog(), tokenizer=VocabTokenizer(), prompt="Is it?")
    assert caller.requests[0].messages[-1].content == render_instruction(
        BINARY_INSTRUCTION, ["True", "False"]
    )
    assert caller.requests[0].messages[-2].content == "Is it?"
    binary_classify(
        agent, agent.init_dialog(), tokenizer=VocabTokenizer(), prompt="Is it?", instruction=None
    )
    assert caller.requests[1].messages[-1].content == "Is it?"


def test_strength_sets_the_logit_bias_of_the_class_tokens() -> None:
    agent, caller, _ = make_agent([logprob_reply({"A": 0.5, "B": 0.5})])
    classify(agent, agent.init_dialog(), ["A", "B"], tokenizer=VocabTokenizer(), strength=100)
    assert caller.requests[0].model_args["logit_bias"] == {"65": 100, "66": 100}
    for bad in (0, 101, -5):
        with pytest.raises(PromptError, match=r"strength must be in \(0, 100\]"):
            classify(
                agent, agent.init_dialog(), ["A", "B"], tokenizer=VocabTokenizer(), strength=bad
            )
    assert len(caller.requests) == 1


def test_a_misspelt_option_is_refused_before_anything_is_sent() -> None:
    agent, caller, _ = make_agent([logprob_reply({"A": 1.0})])
    dialog = agent.init_dialog()
    before = len(dialog.messages)
    with pytest.raises(TypeError, match="unknown classification options strenght"):
        classify(agent, dialog, ["A", "B"], tokenizer=VocabTokenizer(), strenght=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unknown call options budjet"):
        agent.call(dialog, "hi", budjet=None)  # type: ignore[call-arg]
    assert len(dialog.messages) == before
    assert caller.requests == []
