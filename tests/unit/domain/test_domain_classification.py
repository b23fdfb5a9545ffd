"""Classification from top log-probabilities."""

from __future__ import annotations

import asyncio
import math

import pytest
from lllm_domain.classification import (
    abinary_classify,
    aclassify,
    binary_classify,
    class_token_ids,
    classify,
    probabilities_from_reply,
)
from lllm_domain.errors import ClassificationError, ParseRetriesExhaustedError, PromptError
from lllm_domain.limits import CallLimits
from lllm_domain.message import Creator, Message, Role
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
    assert args["logit_bias"] == {str(ord(c)): 100 for c in "ABC"}


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
