"""How a log record is encoded for storage: one JSON document, redacted before it is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from lllm_domain.errors import LLLMError
from lllm_domain.ports import LogRecord

from lllm_adapters.observability.redaction import Redactor


class LogStoreError(LLLMError):
    """A log store cannot store or read a record (unserializable data, unreadable folder or
    database). The message names the collection and session at fault."""


class StoredRecord(msgspec.Struct, frozen=True):
    """The on-disk shape of one record: its time and its data."""

    time: float
    data: dict[str, Any]


_encoder = msgspec.json.Encoder()
_record_decoder = msgspec.json.Decoder(StoredRecord)
_data_decoder = msgspec.json.Decoder(dict[str, Any])


def encode_record(
    collection: str, session: str, time: float, data: Mapping[str, Any], redactor: Redactor
) -> bytes:
    """The redacted JSON document of one record (time and data)."""
    try:
        raw = _encoder.encode({"time": time, "data": data})
    except (TypeError, msgspec.EncodeError) as error:
        raise LogStoreError(
            f"cannot store a record in {collection!r} for session {session!r}: {error}; "
            "log plain data (dicts, lists, strings, numbers) — e.g. "
            "lllm_domain.serialization.to_data(value)"
        ) from error
    return redactor.redact_json(raw)


def encode_data(
    collection: str, session: str, data: Mapping[str, Any], redactor: Redactor
) -> bytes:
    """The redacted JSON document of one record's data alone."""
    try:
        raw = _encoder.encode(data)
    except (TypeError, msgspec.EncodeError) as error:
        raise LogStoreError(
            f"cannot store a record in {collection!r} for session {session!r}: {error}; "
            "log plain data (dicts, lists, strings, numbers)"
        ) from error
    return redactor.redact_json(raw)


def decode_record(seq: int, raw: bytes, *, where: str = "a log record") -> LogRecord:
    """A :class:`LogRecord` from a document written by :func:`encode_record`; a damaged
    document is a :class:`LogStoreError` naming ``where`` it came from."""
    try:
        stored = _record_decoder.decode(raw)
    except msgspec.DecodeError as error:
        raise LogStoreError(f"{where} is damaged ({error}); restore it or delete it") from None
    return LogRecord(seq, stored.time, stored.data)


def decode_data(raw: bytes, *, where: str = "a log record") -> dict[str, Any]:
    """Record data from a document written by :func:`encode_data` (damage is a
    :class:`LogStoreError` naming ``where``)."""
    try:
        return _data_decoder.decode(raw)
    except msgspec.DecodeError as error:
        raise LogStoreError(f"{where} is damaged ({error}); restore it or delete it") from None
