"""Typed API errors of the Anthropic callers, and the policy that maps HTTP failures onto them.

The error types are the OpenAI callers' (:mod:`lllm_adapters.api_errors`), so an agent, a
retry policy or a user's ``except`` clause treats both providers alike: ``RateLimitError`` for
429, ``APIStatusError`` for other statuses (529 ``overloaded_error`` and every 5xx retryable),
``OutputTruncatedError`` for ``stop_reason: max_tokens``, ``StreamInterruptedError`` for a stream
that broke off after text was shown. The retry policy is the same too: ``x-should-retry``
overrides the status rules, ``retry-after`` is honoured up to a cap. Import the types from
:mod:`lllm_adapters.api_errors` (or :mod:`lllm_adapters.openai`).
"""

from __future__ import annotations

import msgspec

from lllm_adapters.api_errors import NO_ACCESS_HINT, StatusErrors

__all__ = ["error_from_status", "error_text"]


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


_STATUS_HINTS = {
    401: " (check the API key: ANTHROPIC_API_KEY or the model card's api_key_env)",
    403: NO_ACCESS_HINT,
    404: " (check the model name and ANTHROPIC_BASE_URL)",
    413: " (the request is larger than the API accepts: shorten the conversation)",
    529: " (Anthropic's API is overloaded; retried with backoff)",
}

error_from_status = StatusErrors(error_text, _STATUS_HINTS, request_id_header="request-id")
"""Map an error response of the Messages API onto a typed error (``error_from_status(status,
headers, body, *, where, retry_after_cap)``).

``x-should-retry`` overrides the status rules; 408/409/429, 529 (overloaded) and every other
5xx are retryable, 400/401/403/404/413 (and other 4xx) are not. The error's ``code`` is the
API's error type (``overloaded_error``, ``rate_limit_error``, ...); the message quotes the
``request-id``. A requested delay above ``retry_after_cap`` turns into a non-retryable
:class:`~lllm_adapters.api_errors.RetryDelayTooLongError`."""
