"""The typed API errors every LLM caller raises (OpenAI, Anthropic), and the retry policy
that maps an HTTP error status onto them.

Every error is an :class:`~lllm_domain.errors.LLMAPIError`: ``retryable`` tells the agent-call
state machine whether trying again may help and ``retry_after`` carries the delay the server
asked for. The callers never retry by themselves; the state machine owns the retry budget.
Each provider reads its API's error body and hints, then hands them to :func:`status_error`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from attrs import define, field
from lllm_domain.errors import LLMAPIError

if TYPE_CHECKING:
    from lllm_domain.message import Message

DEFAULT_RETRY_AFTER_CAP = 120.0
"""Longest server-requested delay (seconds) honoured before failing instead of sleeping."""

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Status codes worth retrying besides every 5xx."""


class APIStatusError(LLMAPIError):
    """The API answered with an error status (4xx/5xx). The message carries the API's text."""


class RateLimitError(APIStatusError):
    """HTTP 429: too many requests or tokens; retry after ``retry_after`` seconds."""


class APIConnectionError(LLMAPIError):
    """The connection failed or dropped before a complete reply arrived."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the configured timeout."""


class InvalidResponseError(LLMAPIError):
    """The reply was not the JSON (or SSE stream) the API promises: garbled or truncated."""


class RetryDelayTooLongError(LLMAPIError):
    """The server asked to wait longer than the configured cap; failing beats sleeping for
    minutes. ``retry_after`` holds the requested delay."""


class StreamInterruptedError(LLMAPIError):
    """A streamed reply broke off after part of it was shown to the user.

    It is not retryable: replaying it would show the user the same text twice. ``partial_text``
    is what was delivered.
    """

    def __init__(self, message: str, *, partial_text: str, **kwargs: Any) -> None:
        self.partial_text = partial_text
        super().__init__(message, retryable=False, **kwargs)


class RefusalError(LLMAPIError):
    """The model refused to answer (a ``refusal`` or a content filter stop).

    Not retryable as a transient failure; ``refusal`` is the model's own explanation.
    """

    def __init__(self, message: str, *, refusal: str, **kwargs: Any) -> None:
        self.refusal = refusal
        super().__init__(message, retryable=False, **kwargs)


class OutputTruncatedError(LLMAPIError):
    """The reply hit the output token limit (``finish_reason == "length"``).

    ``partial`` is the truncated reply, with its usage and cost, so nothing is lost. Raise the
    model's ``max_completion_tokens`` or ask for a shorter answer.
    """

    def __init__(self, message: str, *, partial: Message | None, **kwargs: Any) -> None:
        self.partial = partial
        super().__init__(message, retryable=False, code="length", **kwargs)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay in seconds the server asked for: ``retry-after-ms``, then ``Retry-After``
    (seconds or an HTTP date); ``None`` when absent or unreadable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def status_error(
    status: int,
    headers: Mapping[str, str],
    detail: str,
    code: str | None,
    *,
    where: str,
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
) -> LLMAPIError:
    """The retry policy every provider's status mapping shares, once the API's text is read.

    ``detail`` is the API's message with any hint; ``code`` becomes the error's ``code``.
    ``x-should-retry`` overrides the status rules; 408/409/429 and every 5xx are retryable,
    other 4xx are not. ``retry-after`` is honoured up to ``retry_after_cap``; a longer requested
    delay turns into a non-retryable :class:`RetryDelayTooLongError`.
    """
    should = headers.get("x-should-retry")
    if should == "true":
        retryable = True
    elif should == "false":
        retryable = False
    else:
        retryable = status in RETRYABLE_STATUSES or status >= 500
    retry_after = parse_retry_after(headers)
    message = f"{where} returned HTTP {status}: {detail}"
    if retryable and retry_after is not None and retry_after > retry_after_cap:
        return RetryDelayTooLongError(
            f"{message} — the server asked to wait {retry_after:.0f} s before retrying, longer "
            f"than the {retry_after_cap:.0f} s cap; try again later or raise retry_after_cap",
            retryable=False,
            status=status,
            retry_after=retry_after,
            code=code,
        )
    cls = RateLimitError if status == 429 else APIStatusError
    return cls(message, retryable=retryable, status=status, retry_after=retry_after, code=code)


NO_ACCESS_HINT = " (the key has no access to this model or endpoint)"
"""The hint every provider adds to HTTP 403."""


@define(frozen=True, slots=True)
class StatusErrors:
    """How one provider's error responses become typed errors (call it with the response).

    ``read_body`` gives the API's message and error code from an error body; ``hints`` add
    advice per status; ``request_id_header`` (if set) names the header whose id the message
    quotes. The retry policy is :func:`status_error`'s.
    """

    read_body: Callable[[bytes], tuple[str, str | None]]
    hints: Mapping[int, str] = field(factory=dict)
    request_id_header: str | None = None

    def __call__(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        where: str,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
    ) -> LLMAPIError:
        """Map an error response of ``where`` onto a typed error."""
        text, code = self.read_body(body)
        suffix = ""
        if self.request_id_header is not None:
            request_id = headers.get(self.request_id_header)
            suffix = f" [{self.request_id_header} {request_id}]" if request_id else ""
        detail = f"{text}{self.hints.get(status, '')}{suffix}"
        return status_error(
            status, headers, detail, code, where=where, retry_after_cap=retry_after_cap
        )
