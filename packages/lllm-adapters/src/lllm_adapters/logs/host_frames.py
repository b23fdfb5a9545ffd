"""The frames a log host (:mod:`lllm_adapters.logs.log_host`) and its link
(:mod:`lllm_adapters.logs.host_link`) exchange through two pipes. Both ways they are
length-prefixed:

- to the host: ticket (u64), payload length (u32), then a msgpack list of
  ``[collection, session, time, data]``; ticket 0 carries the store to open instead (a msgpack
  map), and an empty payload is a sync request;
- from the host: status (u8: 0 stored, 1 failed), first and last ticket confirmed (u64 each),
  message length (u32), then the UTF-8 message of a failure.
"""

from __future__ import annotations

import struct

IN_HEADER = struct.Struct("<QI")
OUT_HEADER = struct.Struct("<BQQI")
STORED, FAILED = 0, 1


class FrameReader:
    """Splits a byte stream into ``(ticket, payload)`` frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        frames = []
        offset = 0
        while len(self._buffer) - offset >= IN_HEADER.size:
            ticket, size = IN_HEADER.unpack_from(self._buffer, offset)
            end = offset + IN_HEADER.size + size
            if len(self._buffer) < end:
                break
            frames.append((ticket, bytes(self._buffer[offset + IN_HEADER.size : end])))
            offset = end
        del self._buffer[:offset]
        return frames


def encode_outcome(first: int, last: int, error: str | None) -> bytes:
    """The confirmation frame of tickets ``first`` to ``last``."""
    if error is None:
        return OUT_HEADER.pack(STORED, first, last, 0)
    message = error.encode("utf-8", "replace")
    return OUT_HEADER.pack(FAILED, first, last, len(message)) + message
