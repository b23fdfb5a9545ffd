"""Each transient-error retry is reported as it happens (what failed, the wait, attempt k of
n) through the standard ``logging`` logger ``lllm_domain.agent_call``, by both drivers."""

from __future__ import annotations

import asyncio
import logging

import pytest
from lllm_domain.agent_call import RETRY_LOGGER
from lllm_domain.errors import LLMRetriesExhaustedError
from lllm_domain.limits import CallLimits, RetryPolicy
from lllm_domain.testing import api_error

from tests.support.domain_builders import answer_prompt, make_agent

ANSWER = "<answer>42</answer>"


def _retries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == RETRY_LOGGER]


@pytest.mark.parametrize("driver", ["call", "acall"])
def test_each_retry_is_logged_before_its_sleep(
    caplog: pytest.LogCaptureFixture, driver: str
) -> None:
    policy = RetryPolicy(max_attempts=3)
    agent, _, clock = make_agent(
        [
            api_error(503, message="HTTP 503 from http://127.0.0.1:1/v1"),
            api_error(429, retry_after=2),
            ANSWER,
        ],
        limits=CallLimits(retry=policy),
    )
    caplog.set_level(logging.WARNING, logger=RETRY_LOGGER)
    args = (agent.init_dialog(), answer_prompt(), {"question": "q"})
    if driver == "call":
        agent.call(*args)
    else:
        asyncio.run(agent.acall(*args))
    records = _retries(caplog)
    assert len(records) == 2
    first, second = (r.__dict__["fields"] for r in records)
    assert {r.__dict__["event"] for r in records} == {"model.retry"}
    assert first["attempt"] == 1 and first["max_attempts"] == 3
    assert first["wait"] == pytest.approx(clock.sleeps[0], abs=1e-3)
    assert first["error"] == "HTTP 503 from http://127.0.0.1:1/v1"
    assert first["agent"] == "tester"
    assert second["attempt"] == 2 and second["wait"] == 2
    message = records[1].getMessage()
    assert message.startswith("agent 'tester': the model request failed")
    assert "retry 2 of 3 in 2.0s" in message
    assert all(r.levelno == logging.WARNING for r in records)


def test_the_last_failure_is_not_reported_as_a_retry(caplog: pytest.LogCaptureFixture) -> None:
    agent, _, _ = make_agent(
        [api_error(503), api_error(503)], limits=CallLimits(retry=RetryPolicy(max_attempts=1))
    )
    caplog.set_level(logging.WARNING, logger=RETRY_LOGGER)
    with pytest.raises(LLMRetriesExhaustedError):
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert len(_retries(caplog)) == 1
