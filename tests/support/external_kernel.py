"""A kernel someone else started, for the tests of sessions that reach one by its connection
file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager


@contextmanager
def external_kernel(folder: Path) -> Iterator[str]:
    """Start a kernel in ``folder``, wait until it answers, yield its connection file, and shut
    it down afterwards."""
    km = KernelManager(connection_file=str(folder / "kernel.json"))
    km._kernel_spec = KernelSpec(  # the machine's installed specs may not use this venv
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        language="python",
        display_name="test",
    )
    km.start_kernel(cwd=str(folder))
    # Someone else's kernel is up before we are pointed at it. (A client without the process
    # judges liveness by heartbeat, and jupyter_client calls a kernel dead that has not answered
    # within a second of connecting: on a loaded machine, one still starting.)
    try:
        ready = km.blocking_client()
        ready.start_channels()
        try:
            ready.wait_for_ready(timeout=60)
        finally:
            ready.stop_channels()
        yield km.connection_file
    finally:
        km.shutdown_kernel(now=True)
