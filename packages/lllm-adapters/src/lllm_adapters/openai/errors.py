"""Typed API errors of the OpenAI callers, and the policy that maps HTTP failures onto them.

The types and the shared retry policy live in :mod:`lllm_adapters.api_errors` (the package
:mod:`lllm_adapters.openai` exports them); this module reads the OpenAI error body and adds
OpenAI's hints.

Every error is an :class:`~lllm_domain.errors.LLMAPIError`: ``retryable`` tells the agent-call
state machine whether trying again may help and ``retry_after`` carries the delay the server
asked for. The callers never retry by themselves; the state machine owns the retry budget.
"""

from __future__ import annotations

import msgspec

from lllm_adapters.api_errors import NO_ACCESS_HINT, StatusErrors

__all__ = ["error_from_status"]


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


_STATUS_HINTS = {
    401: " (check the API key: OPENAI_API_KEY or the model card's api_key_env)",
    403: NO_ACCESS_HINT,
    404: " (check the model name and the base URL)",
}

error_from_status = StatusErrors(_api_error_text, _STATUS_HINTS)
"""Map an error response onto a typed error (``error_from_status(status, headers, body, *,
where, retry_after_cap)``).

``x-should-retry`` overrides the status rules; 408/409/429/5xx are retryable and
400/401/403/404/422 (and other 4xx) are not. A requested delay above ``retry_after_cap`` turns
into a non-retryable :class:`~lllm_adapters.api_errors.RetryDelayTooLongError`."""
