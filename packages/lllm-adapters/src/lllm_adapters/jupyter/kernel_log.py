"""The kernel process's own log file (``.kernel.log``), written through a redactor.

ipykernel sends what a cell writes to file descriptors 1 and 2 (``os.system``, C extensions,
subprocesses) to the notebook *and* echoes it to the process's original stdout and stderr. Those
go into a pipe here, and a thread copies them to the file line by line, with secrets redacted:
``os.system("cat /proc/$PPID/environ")`` in a cell leaves no key in the session folder.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO

from lllm_adapters.observability.redaction import Redactor

_CHUNK = 65536
_MAX_PENDING = 1024**2
"""Bytes without a newline kept back before they are written anyway..."""
_OVERLAP = 4096
"""...all but this tail, so a secret cut at the boundary is still whole in the next write."""
_CLOSE_WAIT = 1.0
"""Seconds :meth:`KernelLog.close` waits for the copying thread (a process the kernel started
may keep the pipe open after the kernel is gone; the thread then finishes on its own)."""


class KernelLog:
    """Appends a kernel process's stdout and stderr to ``path``, redacted by ``redactor``.

    Pass :attr:`stream` as the process's stdout and stderr; it stays usable across restarts of
    the process until :meth:`close`.
    """

    def __init__(self, path: Path, redactor: Redactor) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._redactor = redactor
        self._file = path.open("ab")
        read_fd, write_fd = os.pipe()  # not inherited, except as the process's stdout/stderr
        self.stream: IO[bytes] = os.fdopen(write_fd, "wb", buffering=0)
        self._thread = threading.Thread(
            target=self._copy, args=(read_fd,), name=f"lllm-kernel-log:{path.parent.name}"
        )
        self._thread.daemon = True
        self._thread.start()

    def _copy(self, read_fd: int) -> None:
        pending = b""
        try:
            while chunk := os.read(read_fd, _CHUNK):
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                if not cut and len(pending) > _MAX_PENDING:
                    cut = len(pending) - _OVERLAP
                if cut:
                    self._write(pending[:cut])
                    pending = pending[cut:]
            self._write(pending)
        finally:
            os.close(read_fd)
            self._file.close()

    def _write(self, data: bytes) -> None:
        if data:
            text = self._redactor.redact_text(data.decode("utf-8", errors="replace"))
            self._file.write(text.encode("utf-8"))
            self._file.flush()

    def close(self) -> None:
        """Close our end of the pipe and wait (briefly) for the rest to reach the file."""
        if not self.stream.closed:
            self.stream.close()
        self._thread.join(timeout=_CLOSE_WAIT)
