"""The batch's pure parts: row keys, result recovery after a crash, budget, summary, backoff."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.batch import (
    BatchBudget,
    BatchSpend,
    BatchSummary,
    EndpointThrottle,
    RowResult,
    RowStatus,
    ThrottledCaller,
    budget_stop,
    encode_result,
    parse_rows,
    pending_rows,
    recover_results,
    row_key,
)
from lllm_domain.errors import BatchInputError, ConfigError, LLMAPIError
from lllm_domain.message import Message, Role
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage


def _result(key: str, *, ok: bool = True, latency: float = 1.0, kind: str = "E") -> RowResult:
    return RowResult(
        key=key,
        status=RowStatus.OK if ok else RowStatus.FAILED,
        session=f"b/{key}/x",
        output={"answer": key} if ok else None,
        error_type=None if ok else kind,
        error_message=None if ok else "boom",
        usage=Usage(10, 5),
        cost_usd=0.5,
        requests=2,
        latency=latency,
        finished_at=1.0,
    )


def test_a_row_key_is_its_id_else_a_hash_independent_of_field_order() -> None:
    assert row_key({"id": 7, "task": "x"}) == "7"
    assert row_key({"a": 1, "b": [1, 2]}) == row_key({"b": [1, 2], "a": 1})
    assert row_key({"a": 1}) != row_key({"a": 2})
    assert row_key({"a": 1}).startswith("h-")


def test_parse_rows_names_the_file_and_line_of_a_bad_row() -> None:
    with pytest.raises(BatchInputError, match=r"in\.jsonl:2: .*JSON object"):
        list(parse_rows(['{"id": 1}', "[1, 2]"], source="in.jsonl"))
    with pytest.raises(BatchInputError, match=r"in\.jsonl:3: row key '1' repeats line 1"):
        list(parse_rows(['{"id": 1}', "", '{"id": 1}'], source="in.jsonl"))


def test_pending_rows_skips_recorded_rows_or_keeps_only_failures() -> None:
    rows = list(parse_rows(['{"id": "a"}', '{"id": "b"}', '{"id": "c"}']))
    recorded = {"a": _result("a"), "b": _result("b", ok=False)}
    assert [r.key for r in pending_rows(rows, recorded)] == ["c"]
    assert [r.key for r in pending_rows(rows, recorded, retry_failed=True)] == ["b"]


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True), st.data())
def test_recovery_keeps_every_whole_line_and_cuts_a_torn_tail(
    keys: list[str], data: st.DataObject
) -> None:
    content = b"".join(encode_result(_result(k)) for k in keys)
    cut = data.draw(st.integers(min_value=0, max_value=len(content)))
    recovered = recover_results(content[:cut])
    whole = content[:cut].count(b"\n")
    assert list(recovered.results) == keys[:whole]
    assert recovered.good_bytes == len(b"".join(encode_result(_result(k)) for k in keys[:whole]))
    assert recovered.torn == (recovered.good_bytes < cut)
    assert recovered.results == {k: RowResult.from_data(_result(k).to_data()) for k in keys[:whole]}


def test_the_budget_stops_new_rows_at_either_limit() -> None:
    assert budget_stop(BatchSpend(0.99, 9), BatchBudget(1.0, 10)) is None
    assert "--max-cost 1.0" in str(budget_stop(BatchSpend(1.0, 0), BatchBudget(1.0, 10)))
    assert "--max-requests 10" in str(budget_stop(BatchSpend(0, 10), BatchBudget(None, 10)))
    with pytest.raises(ConfigError, match="--max-cost"):
        BatchBudget(max_cost_usd=-1)


def test_the_summary_counts_failures_by_type_and_latency_percentiles() -> None:
    results = [_result(str(i), latency=float(i)) for i in range(1, 19)]
    results += [_result("x", ok=False, kind="Timeout"), _result("y", ok=False, kind="Timeout")]
    summary = BatchSummary.of(results, pending=3)
    assert (summary.rows, summary.ok, summary.failed, summary.pending) == (20, 18, 2, 3)
    assert summary.failed_by_type == {"Timeout": 2}
    assert summary.usage == Usage(200, 100) and summary.cost_usd == pytest.approx(10.0)
    # Nearest rank over 1, 1, 1, 2, ..., 18 (the failures took 1 s each).
    assert summary.p50_latency == 8.0 and summary.p95_latency == 17.0


class _FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class _StormCaller:
    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.calls = 0

    async def acall(self, request: LLMRequest) -> Message:
        self.calls += 1
        if self.refusals:
            self.refusals -= 1
            raise LLMAPIError("429 from http://x/v1", retryable=True, status=429)
        return Message(role=Role.ASSISTANT, content="ok", creator="model")


def test_a_throttled_caller_waits_out_429s_with_a_growing_shared_backoff() -> None:
    clock = _FakeClock()
    throttle = EndpointThrottle(base=1.0, cap=8.0)
    caller = ThrottledCaller(_StormCaller(4), throttle, clock=clock)
    request = LLMRequest.__new__(LLMRequest)
    reply = asyncio.run(caller.acall(request))
    assert reply.content == "ok"
    assert throttle.rate_limited_replies == 4 and throttle.streak == 0
    # Jittered between half and all of 1, 2, 4, 8 seconds.
    assert len(clock.slept) == 4
    assert all(0.5 * 2**i <= s <= 2**i for i, s in enumerate(clock.slept))


def test_a_wave_of_refusals_lengthens_the_backoff_once() -> None:
    throttle = EndpointThrottle(base=1.0, cap=8.0)
    first = throttle.rate_limited(0.0, None, 0.999)
    second = throttle.rate_limited(0.1, None, 0.999)
    assert throttle.streak == 1 and second == pytest.approx(first - 0.1)
    assert throttle.rate_limited(0.0, 3.0, 0.0) == pytest.approx(first)  # pause already longer
    assert throttle.rate_limited(5.0, 3.0, 0.0) == 3.0  # the server's Retry-After, as given


def test_other_errors_pass_through_the_throttle() -> None:
    class Down:
        async def acall(self, request: LLMRequest) -> Message:
            raise LLMAPIError("503", retryable=True, status=503)

    with pytest.raises(LLMAPIError, match="503"):
        asyncio.run(
            ThrottledCaller(Down(), clock=_FakeClock()).acall(LLMRequest.__new__(LLMRequest))
        )
