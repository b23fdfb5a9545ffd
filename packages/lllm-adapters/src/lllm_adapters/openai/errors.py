"""Typed API errors of the OpenAI callers, and the policy that maps HTTP failures onto them.

The types and the shared retry policy live in :mod:`lllm_adapters.api_errors` (re-exported
here); this module reads the OpenAI error body and adds OpenAI's hints.

Every error is an :class:`~lllm_domain.errors.LLMAPIError`: ``retryable`` tells the agent-call
state machine whether trying again may help and ``retry_after`` carries the delay the server
asked for. The callers never retry by themselves; the state machine owns the retry budget.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from lllm_domain.errors import LLMAPIError

from lllm_adapters.api_errors import (
    DEFAULT_RETRY_AFTER_CAP,
    NO_ACCESS_HINT,
    RETRYABLE_STATUSES,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidResponseError,
    OutputTruncatedError,
    RateLimitError,
    RefusalError,
    RetryDelayTooLongError,
    StreamInterruptedError,
    parse_retry_after,
    status_error,
)

__all__ = [
    "DEFAULT_RETRY_AFTER_CAP",
    "NO_ACCESS_HINT",
    "RETRYABLE_STATUSES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "InvalidResponseError",
    "OutputTruncatedError",
    "RateLimitError",
    "RefusalError",
    "RetryDelayTooLongError",
    "StreamInterruptedError",
    "error_from_status",
    "parse_retry_after",
    "status_error",
]


class _ErrorBody(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | str | None = None


_envelope_decoder = msgspec.json.Decoder(_ErrorEnvelope)


def _api_error_text(body: bytes) -> tuple[str, str | None]:
    """The API's own error message and code, or a short excerpt of the raw body."""
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        excerpt = body[:300].decode("utf-8", "replace").strip()
        return excerpt or "(empty body)", None
    err = envelope.error
    if isinstance(err, str):
        return err, None
    if err is None:
        return body[:300].decode("utf-8", "replace").strip(), None
    code = None if err.code is None else str(err.code)
    return (err.message or err.type or "(no message)"), code or err.type


def error_from_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    where: str,
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
) -> LLMAPIError:
    """Map an error response onto a typed error.

    ``x-should-retry`` overrides the status rules; 408/409/429/5xx are retryable and
    400/401/403/404/422 (and other 4xx) are not. A requested delay above ``retry_after_cap``
    turns into a non-retryable :class:`RetryDelayTooLongError`.
    """
    text, code = _api_error_text(body)
    return status_error(
        status,
        headers,
        f"{text}{_STATUS_HINTS.get(status, '')}",
        code,
        where=where,
        retry_after_cap=retry_after_cap,
    )


_STATUS_HINTS = {
    401: " (check the API key: OPENAI_API_KEY or the model card's api_key_env)",
    403: NO_ACCESS_HINT,
    404: " (check the model name and the base URL)",
}
