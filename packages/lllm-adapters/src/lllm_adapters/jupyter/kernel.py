"""How a session's kernel is launched or reached, and the handles that own it.

A local kernel is started with the *current* interpreter (``sys.executable -m ipykernel_launcher``
by default), so it sees the same virtual environment as the caller, whatever kernel specs happen
to be installed on the machine. A remote or containerised kernel is reached through its
connection file instead; LLLM then owns no process.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from attrs import define, field
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager, KernelManager
from lllm_domain.errors import SandboxError
from lllm_domain.message import EMPTY_MAPPING
from lllm_domain.sandbox import KernelUnavailableError

from lllm_adapters.jupyter.kernel_log import KernelLog
from lllm_adapters.observability.redaction import Redactor

MIN_MEMORY_LIMIT = 128 * 1024**2
"""The smallest ``KernelLaunch.memory_limit`` accepted (bytes). A limited kernel reserves about
100 MiB of address space once started (Python, ipykernel, ZMQ and their threads); this leaves a
little room for the cell's own data."""

THREAD_STACK_SIZE = 1024**2
"""Stack size (bytes) of every thread a memory-limited kernel starts (its own, ZMQ's, the
user's); the main thread, which runs the cells, keeps the usual ``RLIMIT_STACK``."""

# Run as ``python -c`` so the limits apply before ipykernel (and user code) loads. argv[1] is the
# address-space limit in bytes, argv[2] the thread stack size; the rest is ipykernel's command
# line. RLIMIT_AS counts reserved address space, not used memory: glibc reserves 8 MiB of stack
# (RLIMIT_STACK) per thread and up to 64 MiB of malloc arena per thread, so a dozen threads
# (ipykernel's, ZMQ's) reserve ~650 MiB before any user code runs. MALLOC_ARENA_MAX=1 (set in the
# environment, so glibc reads it at start-up) and a small default thread stack bring that to
# ~100 MiB. pthread_setattr_default_np is glibc/musl; elsewhere the threads keep their default.
_LIMITED_LAUNCHER = """\
import ctypes, resource, sys
limit, stack = int(sys.argv.pop(1)), int(sys.argv.pop(1))
try:
    libc = ctypes.CDLL(None)
    attr = ctypes.create_string_buffer(256)
    if libc.pthread_attr_init(attr) == 0:
        if libc.pthread_attr_setstacksize(attr, ctypes.c_size_t(stack)) == 0:
            libc.pthread_setattr_default_np(attr)
        libc.pthread_attr_destroy(attr)
except (AttributeError, OSError):
    pass
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""

_SECRET_NAME = re.compile(r".+_(?:KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
"""Environment variable names that hold secrets and are not passed on to kernels."""

_MIN_SECRET_LENGTH = 8
"""Shorter values are not treated as secrets when filtering by value (as in the Redactor): a
``*_KEY`` of ``1`` must not drop every variable holding a ``1``."""

IPYTHON_DIR_NAME = ".ipython"
"""Folder inside the session folder that a local kernel uses as ``IPYTHONDIR``: IPython's
profile and files stay with the session, not in the user's home (and the user's own profile
and start-up scripts do not run in the sandbox). Command history is off."""

# IPython keeps every cell's source in a SQLite history by default; the notebook already holds
# them, and history would be one more file (and one more thread) per kernel.
_NO_HISTORY = "--HistoryManager.enabled=False"


def _check_memory_limit(_: object, __: object, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SandboxError(
            f"KernelLaunch(memory_limit={value!r}) must be a number of bytes or None for no limit"
        )
    if value < MIN_MEMORY_LIMIT:
        raise SandboxError(
            f"KernelLaunch(memory_limit={value}) is too small for a kernel to start: give at "
            f"least {MIN_MEMORY_LIMIT} bytes ({MIN_MEMORY_LIMIT // 1024**2} MiB), or None for no "
            "limit"
        )


@define(frozen=True, slots=True)
class KernelLaunch:
    """How to get a kernel for a session.

    ``python`` is the interpreter a local kernel runs on (default: the current one).
    ``memory_limit`` caps the kernel's address space in bytes (``RLIMIT_AS``; POSIX only; at
    least :data:`MIN_MEMORY_LIMIT`, else :class:`SandboxError` here): an allocation past it
    raises ``MemoryError`` in the cell or kills the kernel, never the caller.
    ``env`` is added to the kernel's environment. The caller's environment is inherited
    *without its secrets*: variables named like ``*_KEY``, ``*_TOKEN``, ``*_SECRET`` or
    ``*_PASSWORD`` are dropped, and so is every variable whose value holds one of their values
    or a secret the session's redactor knows (``OPENWEATHER_APPID`` set to the same key as
    ``OPENWEATHER_API_KEY``, a URL with the password in it); list the ones the kernel needs
    (e.g. a proxy's ``FMP_API_KEY``) in ``keep_secrets``, or pass them in ``env``.
    ``connection_file`` points at an already running (remote or containerised) kernel to use
    instead of launching one; ``argv`` replaces the launch command entirely
    (``{connection_file}`` is substituted).
    ``startup_timeout`` bounds how long a start waits for the kernel to answer;
    ``interrupt_grace`` is how long a timed-out cell may take to stop after the interrupt before
    the kernel is restarted.
    """

    python: str = field(factory=lambda: sys.executable)
    memory_limit: int | None = field(default=None, validator=_check_memory_limit)
    env: Mapping[str, str] = EMPTY_MAPPING
    keep_secrets: tuple[str, ...] = ()
    connection_file: str | None = None
    argv: tuple[str, ...] | None = None
    startup_timeout: float = 60.0
    interrupt_grace: float = 5.0

    @property
    def remote(self) -> bool:
        """Whether the kernel is reached through a connection file (not launched by us)."""
        return self.connection_file is not None

    def kernel_argv(self) -> list[str]:
        """The command that launches a local kernel."""
        if self.argv is not None:
            return list(self.argv)
        if self.memory_limit is not None:
            return [
                self.python,
                "-c",
                _LIMITED_LAUNCHER,
                str(int(self.memory_limit)),
                str(THREAD_STACK_SIZE),
                "-f",
                "{connection_file}",
                _NO_HISTORY,
            ]
        return [self.python, "-m", "ipykernel_launcher", "-f", "{connection_file}", _NO_HISTORY]

    def kernel_spec(self) -> KernelSpec:
        """The kernel spec for a local kernel."""
        return KernelSpec(
            argv=self.kernel_argv(),
            display_name="Python 3 (LLLM sandbox)",
            language="python",
            interrupt_mode="signal",
        )

    def kernel_env(
        self, redactor: Redactor | None = None, *, ipython_dir: Path | None = None
    ) -> dict[str, str]:
        """The environment of a local kernel: the caller's, less its secrets, plus ``env``.

        Dropped: variables named like secrets (unless in ``keep_secrets``) and every variable
        whose value contains a secret — the value of one of those, or one that ``redactor``
        knows. ``ipython_dir`` becomes ``IPYTHONDIR``. Entries of ``env`` are added last, as
        given.
        """
        keep = set(self.keep_secrets)
        secrets = self._secret_values(redactor)
        env = {
            name: value
            for name, value in os.environ.items()
            if name in keep
            or not (_SECRET_NAME.fullmatch(name) or any(s in value for s in secrets))
        }
        # The debugger's frozen-module warning is noise in every session's stderr.
        env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        if self.memory_limit is not None:
            env["MALLOC_ARENA_MAX"] = "1"  # see _LIMITED_LAUNCHER
        if ipython_dir is not None:
            env["IPYTHONDIR"] = str(ipython_dir)
        env.update(self.env)
        return env

    def output_redactor(self, redactor: Redactor | None = None) -> Redactor:
        """The redactor for what a kernel prints: ``redactor`` (by default, one built from the
        environment now) plus every secret the kernel could reach — the values of variables named
        like secrets (kept or not: a cell can read its parent's environment from ``/proc``) and
        of such entries in ``env``."""
        base = redactor if redactor is not None else Redactor.from_environment()
        return Redactor(self._secret_values(base), placeholder=base.placeholder)

    def _secret_values(self, redactor: Redactor | None) -> list[str]:
        named = (
            value
            for source in (os.environ, self.env)
            for name, value in source.items()
            if _SECRET_NAME.fullmatch(name)
        )
        known = redactor.secrets if redactor is not None else ()
        return sorted({v for v in (*named, *known) if len(v) >= _MIN_SECRET_LENGTH})


class _FixedSpecManager(KernelSpecManager):
    """A kernel spec manager that knows exactly one spec: ours."""

    def __init__(self, spec: KernelSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lllm_spec = spec

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return self._lllm_spec


_KERNEL_NAME = "lllm-python"

KERNEL_LOG_NAME = ".kernel.log"
"""File in the session folder that receives the kernel process's own stdout and stderr
(start-up warnings, crashes, and ipykernel's echo of what cells write to file descriptors 1 and
2), redacted like the notebook; cell output goes to the notebook."""


def _open_log(launch: KernelLaunch, folder: Path, redactor: Redactor | None) -> KernelLog:
    return KernelLog(folder / KERNEL_LOG_NAME, launch.output_redactor(redactor))


def _unavailable(what: str, exc: BaseException) -> KernelUnavailableError:
    return KernelUnavailableError(
        f"could not {what} the kernel ({type(exc).__name__}: {exc}); check that ipykernel is "
        "installed for the launch interpreter, or that the connection file points at a live kernel"
    )


M = TypeVar("M", KernelManager, AsyncKernelManager)
C = TypeVar("C", BlockingKernelClient, AsyncKernelClient)


def _local_env(launch: KernelLaunch, cwd: Path, redactor: Redactor | None) -> dict[str, str]:
    return launch.kernel_env(redactor, ipython_dir=cwd / IPYTHON_DIR_NAME)


class _LocalKernelCore(Generic[M, C]):
    """What the blocking and async local kernels share: the launch, the log, and the manager
    and client they hold. The subclasses add only the I/O (blocking or async).

    ``redactor`` knows the secrets that must not reach the kernel's environment (see
    :meth:`KernelLaunch.kernel_env`).
    """

    def __init__(self, launch: KernelLaunch, cwd: Path, redactor: Redactor | None = None) -> None:
        self.launch = launch
        self.cwd = cwd
        self.redactor = redactor
        self.manager: M | None = None
        self.client: C | None = None
        self._log: KernelLog | None = None

    def _new_manager(self, manager_type: Callable[..., M]) -> tuple[M, dict[str, Any]]:
        """A manager for our one kernel spec (held from now on, so a failed start can kill
        what it launched) and the arguments of its ``start_kernel``."""
        km = manager_type(
            kernel_name=_KERNEL_NAME,
            kernel_spec_manager=_FixedSpecManager(self.launch.kernel_spec()),
        )
        self._log = log = _open_log(self.launch, self.cwd, self.redactor)
        self.manager = km
        return km, {
            "cwd": str(self.cwd),
            "env": _local_env(self.launch, self.cwd, self.redactor),
            "stdout": log.stream,
            "stderr": log.stream,
        }

    def _stop_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.stop_channels()

    def _forget(self) -> M | None:
        """Drop the client and the manager; return the manager (to shut its kernel down)."""
        self.client = None
        km, self.manager = self.manager, None
        return km

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class LocalKernel(_LocalKernelCore[KernelManager, BlockingKernelClient]):
    """A kernel process launched and owned by this handle (blocking form)."""

    def start(self) -> BlockingKernelClient:
        """Launch the kernel and return a ready client."""
        km, kwargs = self._new_manager(KernelManager)
        try:
            km.start_kernel(**kwargs)
        except Exception as exc:
            self._abandon()  # kill whatever was launched before the failure
            raise _unavailable("start", exc) from exc
        return self._connect(km.blocking_client())

    def _connect(self, kc: BlockingKernelClient) -> BlockingKernelClient:
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=self.launch.startup_timeout)
        except Exception as exc:
            # A process that launched but never answers would otherwise outlive us (and keep
            # its log file open): kill it now.
            kc.stop_channels()
            self._abandon()
            raise _unavailable("reach", exc) from exc
        self.client = kc
        return kc

    def is_alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.manager is not None and bool(self.manager.is_alive())

    def interrupt(self) -> None:
        """Send SIGINT (KeyboardInterrupt in the running cell)."""
        if self.manager is not None and self.manager.has_kernel:
            self.manager.interrupt_kernel()

    def restart(self) -> BlockingKernelClient:
        """Kill and relaunch the kernel (same ports, cwd and env); return a fresh client."""
        if self.manager is None:
            return self.start()
        self._stop_client()
        try:
            self.manager.restart_kernel(now=True)
        except Exception as exc:
            self._abandon()
            raise _unavailable("restart", exc) from exc
        return self._connect(self.manager.blocking_client())

    def shutdown(self, *, now: bool = False) -> None:
        """Stop the kernel and release its ports and files (``now``: kill it, without asking)."""
        self._stop_client()
        km = self._forget()
        try:
            if km is not None and km.has_kernel:
                km.shutdown_kernel(now=now or not km.is_alive())
        finally:
            self._close_log()  # also when the shutdown itself fails

    def _abandon(self) -> None:
        """Kill a kernel that failed to become ready (it would not answer a shutdown request),
        forget it and close its log, so nothing outlives the failed start or restart."""
        self.shutdown(now=True)


class AsyncLocalKernel(_LocalKernelCore[AsyncKernelManager, AsyncKernelClient]):
    """A kernel process launched and owned by this handle (async form); see
    :class:`LocalKernel`."""

    async def start(self) -> AsyncKernelClient:
        """Launch the kernel and return a ready client."""
        km, kwargs = self._new_manager(AsyncKernelManager)
        try:
            await km.start_kernel(**kwargs)
        except Exception as exc:
            await self._abandon()  # kill whatever was launched before the failure
            raise _unavailable("start", exc) from exc
        return await self._connect(km.client())

    async def _connect(self, kc: AsyncKernelClient) -> AsyncKernelClient:
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=self.launch.startup_timeout)
        except Exception as exc:
            kc.stop_channels()
            await self._abandon()
            raise _unavailable("reach", exc) from exc
        self.client = kc
        return kc

    async def is_alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.manager is not None and bool(await self.manager.is_alive())

    async def interrupt(self) -> None:
        """Send SIGINT (KeyboardInterrupt in the running cell)."""
        if self.manager is not None and self.manager.has_kernel:
            await self.manager.interrupt_kernel()

    async def restart(self) -> AsyncKernelClient:
        """Kill and relaunch the kernel; return a fresh client."""
        if self.manager is None:
            return await self.start()
        self._stop_client()
        try:
            await self.manager.restart_kernel(now=True)
        except Exception as exc:
            await self._abandon()
            raise _unavailable("restart", exc) from exc
        return await self._connect(self.manager.client())

    async def shutdown(self, *, now: bool = False) -> None:
        """Stop the kernel and release its ports and files (``now``: kill it, without asking)."""
        self._stop_client()
        km = self._forget()
        try:
            if km is not None and km.has_kernel:
                await km.shutdown_kernel(now=now or not await km.is_alive())
        finally:
            self._close_log()  # also when the shutdown itself fails

    async def _abandon(self) -> None:
        """Kill a kernel that failed to become ready, forget it and close its log."""
        await self.shutdown(now=True)


class _RemoteKernelCore(Generic[C]):
    """What the blocking and async remote kernels share: a kernel someone else runs, reached
    through its connection file.

    LLLM owns no process here: interrupts go as ``interrupt_request`` messages on the control
    channel, and a restart clears the namespace (``%reset -f``) rather than replacing the process.
    """

    def __init__(self, launch: KernelLaunch) -> None:
        assert launch.connection_file is not None
        self.launch = launch
        self.client: C | None = None

    def _new_client(self, client_type: Callable[[], C]) -> C:
        """A client connected (channels started) to the kernel in the connection file."""
        kc: Any = client_type()
        try:
            kc.load_connection_file(self.launch.connection_file)
            kc.start_channels()
        except Exception as exc:
            kc.stop_channels()
            raise _unavailable("reach", exc) from exc
        return kc  # type: ignore[no-any-return]

    def _unreachable(self, kc: Any, exc: Exception) -> KernelUnavailableError:
        kc.stop_channels()
        return _unavailable("reach", exc)

    def _send_interrupt(self) -> None:
        client: Any = self.client
        if client is not None:
            client.control_channel.send(client.session.msg("interrupt_request", {}))

    def _disconnect(self) -> None:
        client: Any
        client, self.client = self.client, None
        if client is not None:
            client.stop_channels()


class RemoteKernel(_RemoteKernelCore[BlockingKernelClient]):
    """A kernel someone else runs, reached through its connection file (blocking form)."""

    def start(self) -> BlockingKernelClient:
        """Connect to the kernel and return a ready client."""
        kc = self._new_client(BlockingKernelClient)
        try:
            kc.wait_for_ready(timeout=self.launch.startup_timeout)
        except Exception as exc:
            raise self._unreachable(kc, exc) from exc
        self.client = kc
        return kc

    def is_alive(self) -> bool:
        """Whether the kernel's heartbeat answers."""
        return self.client is not None and bool(self.client.is_alive())

    def interrupt(self) -> None:
        """Ask the kernel to interrupt its running cell."""
        self._send_interrupt()

    def restart(self) -> BlockingKernelClient:
        """Clear the kernel's namespace (the process is not ours to replace)."""
        if self.client is None:
            return self.start()
        self.client.execute_interactive("%reset -f", timeout=self.launch.startup_timeout)
        return self.client

    def shutdown(self) -> None:
        """Disconnect (the remote kernel keeps running)."""
        self._disconnect()


class AsyncRemoteKernel(_RemoteKernelCore[AsyncKernelClient]):
    """A kernel someone else runs, reached through its connection file (async form); see
    :class:`RemoteKernel`."""

    async def start(self) -> AsyncKernelClient:
        """Connect to the kernel and return a ready client."""
        kc = self._new_client(AsyncKernelClient)
        try:
            await kc.wait_for_ready(timeout=self.launch.startup_timeout)
        except Exception as exc:
            raise self._unreachable(kc, exc) from exc
        self.client = kc
        return kc

    async def is_alive(self) -> bool:
        """Whether the kernel's heartbeat answers."""
        return self.client is not None and bool(await self.client.is_alive())

    async def interrupt(self) -> None:
        """Ask the kernel to interrupt its running cell."""
        self._send_interrupt()

    async def restart(self) -> AsyncKernelClient:
        """Clear the kernel's namespace (the process is not ours to replace)."""
        if self.client is None:
            return await self.start()
        await self.client.execute_interactive("%reset -f", timeout=self.launch.startup_timeout)
        return self.client

    async def shutdown(self) -> None:
        """Disconnect (the remote kernel keeps running)."""
        self._disconnect()
