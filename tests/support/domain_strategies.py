"""Hypothesis strategies for domain values (messages with every optional field filled in
sometimes), for round-trip properties."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from lllm_domain.message import (
    FunctionCall,
    Image,
    Message,
    Modality,
    Role,
    TokenLogprob,
    TopLogprob,
)
from lllm_domain.usage import Cost, Usage

SHORT_TEXT = st.text(max_size=12)
FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | FINITE | SHORT_TEXT
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SHORT_TEXT, inner, max_size=3),
    max_leaves=6,
)
JSON_OBJECTS = st.dictionaries(SHORT_TEXT, JSON_VALUES, max_size=3)
COUNTS = st.integers(0, 10**9)

function_calls = st.builds(
    FunctionCall,
    id=SHORT_TEXT,
    name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,10}", fullmatch=True),
    arguments=JSON_OBJECTS,
    raw_arguments=st.none() | SHORT_TEXT,
    arguments_error=st.none() | SHORT_TEXT,
    result=JSON_VALUES,
    result_text=st.none() | SHORT_TEXT,
    error=st.none() | SHORT_TEXT,
)

usages = st.builds(Usage, COUNTS, COUNTS, COUNTS, COUNTS)
costs = st.builds(
    Cost,
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
)
logprobs = st.builds(
    TokenLogprob,
    SHORT_TEXT,
    st.floats(-100, 0),
    st.lists(st.builds(TopLogprob, SHORT_TEXT, st.floats(-100, 0)), max_size=3).map(tuple),
)
images = st.builds(
    Image,
    SHORT_TEXT,
    st.sampled_from(["image/png", "image/jpeg"]),
    st.none() | st.sampled_from(["low", "high"]),
)


def _messages(attempts: st.SearchStrategy[tuple[Message, ...]]) -> st.SearchStrategy[Message]:
    return st.builds(
        Message,
        role=st.sampled_from(Role),
        content=st.text(max_size=40),
        creator=st.sampled_from(["system", "user", "agent", "function", "exception"]),
        modality=st.sampled_from(Modality),
        function_calls=st.lists(function_calls, max_size=2).map(tuple),
        tool_call_id=st.none() | SHORT_TEXT,
        image=st.none() | images,
        parsed=JSON_VALUES,
        logprobs=st.lists(logprobs, max_size=2).map(tuple),
        model=st.none() | SHORT_TEXT,
        usage=st.none() | usages,
        cost=st.none() | costs,
        model_args=JSON_OBJECTS,
        extra=JSON_OBJECTS,
        errors=st.lists(SHORT_TEXT, max_size=2).map(tuple),
        attempts=attempts,
        prompt_path=st.none() | SHORT_TEXT,
        images=st.lists(images, max_size=2).map(tuple),
    )


leaf_messages = _messages(st.just(()))
messages = _messages(st.lists(leaf_messages, max_size=2).map(tuple))
"""Messages, some carrying failed attempts (one level deep, as the agent call produces)."""
