"""Typed API errors of the Anthropic callers, and the policy that maps HTTP failures onto them.

The error types are the OpenAI callers' (:mod:`lllm_adapters.openai.errors`), so an agent, a
retry policy or a user's ``except`` clause treats both providers alike: ``RateLimitError`` for
429, ``APIStatusError`` for other statuses (529 ``overloaded_error`` and every 5xx retryable),
``OutputTruncatedError`` for ``stop_reason: max_tokens``, ``StreamInterruptedError`` for a stream
that broke off after text was shown. The retry policy is the same too: ``x-should-retry``
overrides the status rules, ``retry-after`` is honoured up to a cap.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from lllm_domain.errors import LLMAPIError

from lllm_adapters.openai.errors import (
    DEFAULT_RETRY_AFTER_CAP,
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
)

__all__ = [
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
    "error_text",
]


class _ErrorBody(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | None = None


_envelope_decoder = msgspec.json.Decoder(_ErrorEnvelope)


def error_text(body: bytes) -> tuple[str, str | None]:
    """The API's error message and type (``{"type": "error", "error": {"type": ...,
    "message": ...}}``), or a short excerpt of a body that is not one."""
    try:
        err = _envelope_decoder.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        err = None
    if err is None:
        excerpt = body[:300].decode("utf-8", "replace").strip()
        return excerpt or "(empty body)", None
    kind = err.type
    text = err.message or kind or "(no message)"
    return (f"{kind}: {text}" if kind and err.message else text), kind


def error_from_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    where: str,
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
) -> LLMAPIError:
    """Map an error response of the Messages API onto a typed error.

    ``x-should-retry`` overrides the status rules; 408/409/429, 529 (overloaded) and every
    other 5xx are retryable, 400/401/403/404/413 (and other 4xx) are not. The error's ``code``
    is the API's error type (``overloaded_error``, ``rate_limit_error``, ...). A requested delay
    above ``retry_after_cap`` turns into a non-retryable :class:`RetryDelayTooLongError`.
    """
    text, kind = error_text(body)
    should = headers.get("x-should-retry")
    if should == "true":
        retryable = True
    elif should == "false":
        retryable = False
    else:
        retryable = status in RETRYABLE_STATUSES or status >= 500
    retry_after = parse_retry_after(headers)
    request_id = headers.get("request-id")
    suffix = f" [request-id {request_id}]" if request_id else ""
    message = f"{where} returned HTTP {status}: {text}{_status_hint(status)}{suffix}"
    if retryable and retry_after is not None and retry_after > retry_after_cap:
        return RetryDelayTooLongError(
            f"{message} — the server asked to wait {retry_after:.0f} s before retrying, longer "
            f"than the {retry_after_cap:.0f} s cap; try again later or raise retry_after_cap",
            retryable=False,
            status=status,
            retry_after=retry_after,
            code=kind,
        )
    cls = RateLimitError if status == 429 else APIStatusError
    return cls(message, retryable=retryable, status=status, retry_after=retry_after, code=kind)


def _status_hint(status: int) -> str:
    if status == 401:
        return " (check the API key: ANTHROPIC_API_KEY or the model card's api_key_env)"
    if status == 403:
        return " (the key has no access to this model or endpoint)"
    if status == 404:
        return " (check the model name and ANTHROPIC_BASE_URL)"
    if status == 413:
        return " (the request is larger than the API accepts: shorten the conversation)"
    if status == 529:
        return " (Anthropic's API is overloaded; retried with backoff)"
    return ""
