"""Redaction of secrets from log lines and stored log records.

A :class:`Redactor` removes, wherever they appear in text:

- API keys shaped like OpenAI's (``sk-...``),
- ``Authorization`` header values and ``Bearer`` tokens,
- the values of environment variables whose names end in ``_KEY``, ``_TOKEN`` or ``_SECRET``
  (values of 8 characters or more: shorter ones are too common to be secrets, and replacing
  every ``1`` in a log would destroy it),

and the values stored under credential mapping keys (``authorization``, ``api_key``,
``x-api-key``, ``password``, ``client_secret``, ``access_token``, ``refresh_token``, and
environment-style names such as ``OPENAI_API_KEY``). Ordinary data keys like ``sort_key`` or
``page_token`` are kept. The same redactor serves the
structlog processor (:mod:`lllm_adapters.observability.logging_config`), the log stores, the
proxy runtime's responses and what the CLI prints
(:mod:`lllm_adapters.observability.redacting_stream`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

PLACEHOLDER = "[REDACTED]"
"""What a secret is replaced with."""

_SECRET_NAME = re.compile(r".+_(?:KEY|TOKEN|SECRET)", re.IGNORECASE)
# Mapping keys whose values are credentials. Deliberately explicit: ordinary data such as
# ``sort_key`` or ``page_token`` must survive storage, so only environment-style names
# (``OPENAI_API_KEY``, upper case) are matched by shape.
_SENSITIVE_KEY = (
    r"(?:authorization|proxy-authorization|api[_-]?key|x-api-key|password|passwd|"
    r"client[_-]secret|access[_-]token|refresh[_-]token|secret[_-]key|private[_-]key|"
    r"(?-i:[A-Z][A-Z0-9_]*_(?:KEY|TOKEN|SECRET|PASSWORD)))"
)
_SENSITIVE_KEY_RE = re.compile(_SENSITIVE_KEY, re.IGNORECASE)
_JSON_SENSITIVE_VALUE = re.compile(
    r'("' + _SENSITIVE_KEY + r'"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE
)
_API_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}")
# An Authorization value is redacted when it looks like a credential: a scheme and a token, or
# one long opaque word ("Authorization: required" is prose, not a secret).
_AUTHORIZATION = re.compile(
    r"""(authorization["']?\s*[:=]\s*["']?)"""
    r"""(?:(?:bearer|basic|token)\s+[^\s"',}\\]{8,}|[^\s"',}\\]{16,})""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE)
# For text shown as it arrives (a terminal): the unfinished last word of a partial line may be
# the start of a key ("sk-ab", "s"), of a hint word ("Bear"), or follow one ("Bearer ab").
_LAST_WORD = re.compile(r"\S*\Z")
_PARTIAL_KEY = re.compile(r"\b(?:sk-|sk\Z|s\Z)")
_HINT_WORDS = ("bearer", "basic", "token", "authorization", "proxy-authorization")
_HINT_WORD = re.compile(
    r"""["'{(\[]*(?:bearer|basic|token|(?:proxy-)?authorization["']?\s*[:=]?)["']?""",
    re.IGNORECASE,
)
_MIN_SECRET_LENGTH = 8
_JSON_ESCAPED = frozenset('"\\' + "".join(map(chr, range(0x20))))
"""The characters a JSON string escapes (msgspec escapes exactly these): a secret without them
is written into a JSON document as it is."""
_HINTS = ("sk-", "bearer", "authorization")
"""Lower-case fragments every pattern needs: text with none of them (and no environment secret)
is returned untouched without running the regular expressions — the common, fast case."""
_JSON_HINTS = (
    *(h.encode("ascii") for h in _HINTS),
    b'key"',
    b'token"',
    b'secret"',
    b'password"',
    b'passwd"',
)


def _last_word_start(text: str) -> int:
    match = _LAST_WORD.search(text)
    return match.start() if match is not None else len(text)


class Redactor:
    """Removes secrets from text, plain data and JSON documents.

    Build one with :meth:`from_environment` (the usual way) or pass the ``secrets`` to hide.
    """

    __slots__ = ("_byte_forms", "_forms", "_literals", "placeholder", "secrets")

    def __init__(self, secrets: Iterable[str] = (), *, placeholder: str = PLACEHOLDER) -> None:
        self.secrets: tuple[str, ...] = tuple(
            sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        )
        self.placeholder = placeholder
        forms: set[str] = set()
        for secret in self.secrets:
            forms.add(secret)
            if any(c in _JSON_ESCAPED for c in secret):
                # The form the secret takes inside a JSON string, so stored documents match too.
                # (msgspec is imported only then: the CLI redacts its output and starts fast.)
                import msgspec

                forms.add(msgspec.json.encode(secret).decode("utf-8")[1:-1])
        self._forms = tuple(forms)
        self._byte_forms = tuple(f.encode("utf-8") for f in forms)
        self._literals: re.Pattern[str] | None = (
            re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
            if forms
            else None
        )

    def __repr__(self) -> str:
        # Never show the secrets themselves.
        return f"Redactor(<{len(self.secrets)} environment secrets>)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """A redactor hiding the values of ``*_KEY``, ``*_TOKEN`` and ``*_SECRET`` variables of
        ``environ`` (the process environment when not given), read now."""
        env = os.environ if environ is None else environ
        return cls(value for name, value in env.items() if _SECRET_NAME.fullmatch(name))

    def redact_text(self, text: str) -> str:
        """``text`` with every secret replaced by the placeholder."""
        lowered = text.lower()
        if not any(h in lowered for h in _HINTS) and not any(f in text for f in self._forms):
            return text
        if self._literals is not None:
            text = self._literals.sub(self.placeholder, text)
        text = _API_KEY.sub(self.placeholder, text)
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + self.placeholder, text)
        return _BEARER.sub(lambda m: m.group(1) + self.placeholder, text)

    def held_tail(self, text: str) -> int:
        """Where a secret may begin in the unfinished end of ``text``, for text shown as it
        arrives: ``text[:i]`` is safe to redact and show now, ``text[i:]`` must wait for more
        (``i == len(text)`` when nothing needs to). A tail waits when it is the start of a known
        secret, of an ``sk-`` key or of ``Bearer`` / ``Authorization``, or follows one of them.
        """
        cut = len(text)
        for form in self._forms:
            for size in range(min(len(form) - 1, len(text)), 0, -1):
                if text.endswith(form[:size]):
                    cut = min(cut, len(text) - size)
                    break
        start = _last_word_start(text)
        word = text[start:]
        bare = word.lstrip("\"'{([").lower()
        if word and (
            _PARTIAL_KEY.search(word)
            or "authorization" in bare
            or any(hint.startswith(bare) or bare.startswith(hint) for hint in _HINT_WORDS)
        ):
            cut = min(cut, start)
        # Walk back over hint words before the last word: "Authorization: Bearer ab" waits whole.
        end = start
        while True:
            before = text[:end].rstrip()
            if len(before) == end or not before:
                break
            previous = _last_word_start(before)
            if not _HINT_WORD.fullmatch(before[previous:]):
                break
            end = previous
            cut = min(cut, previous)
        return cut

    def redact(self, value: Any) -> Any:
        """A copy of plain data (mappings, sequences, strings, numbers) with secrets removed:
        strings are redacted, values under sensitive keys replaced whole."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {
                key: (
                    self.placeholder
                    if isinstance(key, str)
                    and _SENSITIVE_KEY_RE.fullmatch(key)
                    and isinstance(item, str)
                    else self.redact(item)
                )
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact(item) for item in value]
        return value

    def redact_json(self, document: bytes) -> bytes:
        """A JSON document (UTF-8 bytes) with secrets removed; the result is still valid JSON."""
        lowered = document.lower()
        if not any(h in lowered for h in _JSON_HINTS) and not any(
            f in document for f in self._byte_forms
        ):
            return document
        text = document.decode("utf-8")
        text = _JSON_SENSITIVE_VALUE.sub(lambda m: m.group(1) + '"' + self.placeholder + '"', text)
        return self.redact_text(text).encode("utf-8")
