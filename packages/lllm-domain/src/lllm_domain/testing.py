"""Fakes for testing agents without a model: a scripted LLM caller and a fake clock.

Use them in your own tests::

    caller = ScriptedCaller([
        tool_calls(call("add", a=2, b=3)),
        "<answer>5</answer>",
    ])
    agent = Agent("calc", system_prompt, model="scripted", caller=caller, clock=FakeClock())
    result = agent.call(agent.init_dialog(), task_prompt, {"question": "2+3?"})
    assert result.parsed["xml_tags"]["answer"] == ["5"]
    assert caller.requests[1].messages[-1].role is Role.TOOL
"""

from __future__ import annotations

import itertools
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lllm_domain.computer.call import ComputerCall
from lllm_domain.errors import LLMAPIError

# Defined with the other errors; importable from here too, where it is raised.
from lllm_domain.errors import ScriptExhaustedError as ScriptExhaustedError  # noqa: PLC0414
from lllm_domain.message import (
    MAX_ARGUMENT_DEPTH,
    FunctionCall,
    Message,
    Modality,
    Role,
    TokenLogprob,
    TopLogprob,
    nests_deeper_than,
)
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

if TYPE_CHECKING:
    from lllm_domain.computer.actions import ComputerAction

ScriptItem = str | Message | LLMAPIError | Callable[[LLMRequest], Any]
"""One scripted reply: text, a full Message, an error to raise, or a function of the request
returning any of those."""


class ScriptedCaller:
    """An LLM caller that answers from a script; sync and async (same behaviour).

    ``script`` is a queue of replies consumed one per request. ``respond`` (optional) answers
    when the queue is empty. Every request is kept in ``requests``. Replies get deterministic
    tool-call ids (``call_1``, ``call_2``, ...) and a usage estimate (about four characters per
    token) priced by ``model_card`` when given, and name ``model`` as their model (default: the
    requested one). When a request asks for streaming, text replies
    are delivered word by word through ``request.on_delta``.
    """

    def __init__(
        self,
        script: Iterable[ScriptItem] = (),
        *,
        respond: Callable[[LLMRequest], Any] | None = None,
        model_card: ModelCard | None = None,
        count_usage: bool = True,
        model: str | None = None,
    ) -> None:
        self._script: deque[ScriptItem] = deque(script)
        self.respond = respond
        self.model_card = model_card
        self.count_usage = count_usage
        self.model = model
        self.requests: list[LLMRequest] = []
        self._ids = itertools.count(1)

    def push(self, *items: ScriptItem) -> None:
        """Add replies to the end of the script."""
        self._script.extend(items)

    @property
    def remaining(self) -> int:
        """Replies left in the script."""
        return len(self._script)

    def call(self, request: LLMRequest) -> Message:
        """Answer ``request`` with the next scripted reply."""
        self.requests.append(request)
        if self._script:
            item: Any = self._script.popleft()
        elif self.respond is not None:
            item = self.respond
        else:
            raise ScriptExhaustedError(
                f"the scripted caller has no reply for request #{len(self.requests)} "
                f"(agent {request.agent_name!r}, prompt {request.prompt_path!r}); add replies to "
                "the script or pass respond="
            )
        if callable(item) and not isinstance(item, (Message, LLMAPIError)):
            item = item(request)
        if isinstance(item, LLMAPIError):
            raise item
        return self._message(item, request)

    async def acall(self, request: LLMRequest) -> Message:
        """The async form of :meth:`call`."""
        return self.call(request)

    def _message(self, item: Any, request: LLMRequest) -> Message:
        if isinstance(item, str):
            message = Message(Role.ASSISTANT, item, request.agent_name or "assistant")
        elif isinstance(item, Message):
            message = item
        else:
            raise TypeError(
                f"a scripted reply must be str, Message, LLMAPIError or a function returning "
                f"one; got {type(item).__name__}"
            )
        if message.function_calls and any(not c.id for c in message.function_calls):
            message = message.replace(
                function_calls=tuple(
                    c
                    if c.id
                    else FunctionCall(
                        f"call_{next(self._ids)}",
                        c.name,
                        c.arguments,
                        c.raw_arguments,
                        c.arguments_error,
                    )
                    for c in message.function_calls
                )
            )
        changes: dict[str, Any] = {}
        if message.creator == "assistant" and request.agent_name:
            changes["creator"] = request.agent_name
        if message.model is None:
            changes["model"] = self.model or request.model
        if message.usage is None and self.count_usage:
            prompt_chars = sum(len(m.content) for m in request.messages)
            changes["usage"] = Usage(
                input_tokens=max(1, prompt_chars // 4),
                output_tokens=max(1, len(message.content) // 4),
            )
        if message.cost is None and self.model_card is not None:
            changes["cost"] = self.model_card.cost(changes.get("usage") or message.usage or Usage())
        if request.model_args:
            changes["model_args"] = request.model_args
        if changes:
            message = message.replace(**changes)
        if request.on_delta is not None and message.content:
            for delta in _words(message.content):
                request.on_delta(delta)
        return message


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p + " " for p in parts[:-1]] + [parts[-1]]


# -- reply builders --------------------------------------------------------------------------


def call(name: str, /, _id: str = "", **arguments: Any) -> FunctionCall:
    """A tool call for a scripted reply (an id is assigned when left empty)."""
    if nests_deeper_than(arguments, MAX_ARGUMENT_DEPTH):  # json.dumps would recurse past the limit
        return FunctionCall(_id, name, arguments)
    return FunctionCall(_id, name, arguments, raw_arguments=json.dumps(arguments))


def bad_arguments_call(name: str, raw: str, _id: str = "") -> FunctionCall:
    """A tool call whose arguments are not valid JSON, as a broken model might send."""
    return FunctionCall(_id, name, {}, raw_arguments=raw, arguments_error="invalid JSON")


def tool_calls(*calls: FunctionCall, content: str = "") -> Message:
    """An assistant turn asking for ``calls``."""
    return Message(
        Role.TOOL_CALL, content, "assistant", modality=Modality.FUNCTION_CALL, function_calls=calls
    )


def computer_actions(*actions: ComputerAction, content: str = "", start: int = 1) -> Message:
    """An assistant turn asking the computer for ``actions`` (computer use), with call ids
    ``cu_<start>``, ``cu_<start + 1>``, ..."""
    calls = tuple(
        ComputerCall(f"cu_{n}", action.as_data()) for n, action in enumerate(actions, start)
    )
    return Message(Role.TOOL_CALL, content, "assistant", computer_calls=calls)


def text(content: str, **kwargs: Any) -> Message:
    """An assistant text reply (keyword arguments set further Message fields)."""
    return Message(Role.ASSISTANT, content, "assistant", **kwargs)


def logprob_reply(top: Mapping[str, float], *, probabilities: bool = True) -> Message:
    """A one-token reply whose first position has ``top`` candidates.

    ``top`` maps tokens to probabilities (or to log-probabilities with ``probabilities=False``).
    """
    logs = {t: (math.log(p) if probabilities else p) for t, p in top.items()}
    best = max(logs, key=lambda t: logs[t])
    return Message(
        Role.ASSISTANT,
        best,
        "assistant",
        logprobs=(
            TokenLogprob(best, logs[best], tuple(TopLogprob(t, lp) for t, lp in logs.items())),
        ),
    )


def api_error(
    status: int = 500,
    *,
    retryable: bool | None = None,
    retry_after: float | None = None,
    message: str = "",
) -> LLMAPIError:
    """An API error as a caller adapter would raise it (5xx and 429 are retryable by default)."""
    if retryable is None:
        retryable = status in (408, 409, 429) or status >= 500
    return LLMAPIError(
        message or f"scripted HTTP {status}",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
    )


# -- clock -----------------------------------------------------------------------------------


class FakeClock:
    """A clock whose sleeps return at once and are recorded in ``sleeps``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The fake time."""
        return self.time

    def sleep(self, seconds: float) -> None:
        """Advance the fake time."""
        self.sleeps.append(seconds)
        self.time += seconds

    async def asleep(self, seconds: float) -> None:
        """Advance the fake time."""
        self.sleep(seconds)


class CountingIds:
    """Deterministic ids ``prefix-1``, ``prefix-2``, ... (for reproducible transcripts)."""

    def __init__(self, prefix: str = "id") -> None:
        self.prefix = prefix
        self._n = itertools.count(1)

    def __call__(self) -> str:
        """The next id."""
        return f"{self.prefix}-{next(self._n)}"
