"""The log host: a process that writes one log store for another.

``python -m lllm_adapters.logs.log_host`` reads from its standard input first the store to open
(frame 0, see :func:`open_spec`: the store's kind, path and options, and the ``secrets`` and
``placeholder`` of its redactor, through the pipe so that no secret shows in the process list)
and confirms it once the store is open (or says why it cannot open it, and exits). Then it reads
batches. Whatever has arrived when it is ready is written in one go (one transaction and one
sync request for the stores that offer ``append_entries``), then confirmed on its standard
output. A sync request (an empty frame) is confirmed once everything before it is synced to
disk. At the end of its input (the parent closed the pipe, or died) it writes what it received,
closes the store (waiting for the disk) and exits. It ignores Ctrl-C: that is the parent's to
handle, and the host still writes what the parent sent.

The frames are described in :mod:`lllm_adapters.logs.host_frames`.
"""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Sequence
from typing import Any

import msgspec
from lllm_domain.log_writer import write_entries
from lllm_domain.ports import LogEntry, LogStore

from lllm_adapters.logs.host_frames import FrameReader, encode_outcome

READ_SIZE = 1 << 20


def _entries(
    frames: Sequence[tuple[int, bytes]], decoder: msgspec.msgpack.Decoder[Any]
) -> list[LogEntry]:
    entries = []
    for _, payload in frames:
        if payload:
            for collection, session, at, data in decoder.decode(payload):
                entries.append(LogEntry(collection, session, data, time=at))
    return entries


def _send(out: int, frame: bytes) -> bool:
    """Write ``frame`` to ``out``; False if nobody reads it any more."""
    try:
        while frame:
            frame = frame[os.write(out, frame) :]
    except BrokenPipeError:
        return False
    return True


def open_spec(spec: dict[str, Any]) -> LogStore:
    """The store frame 0 names: ``{"store": "sqlite", "path": ..., "durable": ...,
    "wait_for_sync": ..., "busy_timeout": ...}`` or ``{"store": "localfile", "path": ...,
    "durable": ...}``, with the redactor's ``secrets`` and ``placeholder``."""
    from lllm_adapters.logs.file_store import FileLogStore
    from lllm_adapters.logs.sqlite_store import SQLiteLogStore
    from lllm_adapters.observability.redaction import PLACEHOLDER, Redactor

    redactor = Redactor(spec.get("secrets", ()), placeholder=spec.get("placeholder", PLACEHOLDER))
    kind = spec.get("store")
    if kind == "sqlite":
        return SQLiteLogStore(
            spec["path"],
            durable=spec["durable"],
            wait_for_sync=spec["wait_for_sync"],
            busy_timeout=spec["busy_timeout"],
            redactor=redactor,
            log_host=False,
        )
    if kind == "localfile":
        return FileLogStore(
            spec["path"], durable=spec["durable"], redactor=redactor, log_host=False
        )
    raise ValueError(f"unknown log store kind {kind!r} in the log host's first frame")


def _read_frames(inp: int, reader: FrameReader) -> list[tuple[int, bytes]] | None:
    """The frames that have arrived (waiting for the first bytes); ``None`` at the end."""
    data = os.read(inp, READ_SIZE)
    if not data:
        return None
    frames = reader.feed(data)
    # Take whatever else has arrived meanwhile: it is written in the same go.
    while select.select([inp], [], [], 0)[0]:
        more = os.read(inp, READ_SIZE)
        if not more:
            break
        frames += reader.feed(more)
    return frames


def serve(inp: int, out: int) -> None:
    """Write the batches read from ``inp`` to the store frame 0 names, confirming them on
    ``out``."""
    decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder()
    reader = FrameReader()
    frames: list[tuple[int, bytes]] | None = []
    while frames == []:
        frames = _read_frames(inp, reader)
    if frames is None:
        return
    try:
        store = open_spec(decoder.decode(frames[0][1]))
    except Exception as exc:  # the parent writes its logs itself, and says why
        _send(out, encode_outcome(0, 0, f"{type(exc).__name__}: {exc}"))
        return
    confirm = _send(out, encode_outcome(0, 0, None))  # ready
    frames = frames[1:]
    try:
        while frames is not None:
            if frames:
                error: str | None = None
                try:
                    write_entries(store, _entries(frames, decoder))
                    if any(not payload for _, payload in frames):
                        sync = getattr(store, "sync", None)
                        if callable(sync):
                            sync()
                except Exception as exc:  # reported to the waiting parent, not raised here
                    error = str(exc) or type(exc).__name__
                if confirm:
                    # False once the parent is gone: what it sent is still written.
                    confirm = _send(out, encode_outcome(frames[0][0], frames[-1][0], error))
            frames = _read_frames(inp, reader)
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        print(
            "usage: python -m lllm_adapters.logs.log_host (frames on standard input)",
            file=sys.stderr,
        )
        return 2
    # Ctrl-C is the parent's to handle: the host ends when its input does, having written it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Confirmations go to the original standard output only; anything printed goes to stderr.
    out = os.dup(1)
    os.dup2(2, 1)
    serve(0, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
