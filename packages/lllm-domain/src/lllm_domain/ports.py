"""The ports: what the domain needs from the outside world, as :class:`typing.Protocol` s.

Adapters (in ``lllm-adapters`` or your own code) implement these; the domain never imports an
adapter. Every port has an in-memory or real implementation in the domain itself where one is
small enough (``lllm_domain.testing`` for fakes, :class:`SystemClock` here). The sandbox ports
live with the sandbox's values, in :mod:`lllm_domain.sandbox.ports`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, runtime_checkable

from attrs import define, field

if TYPE_CHECKING:
    from lllm_domain.function import Function
    from lllm_domain.message import Message
    from lllm_domain.request import LLMRequest


# -- LLM caller ------------------------------------------------------------------------------


@runtime_checkable
class LLMCaller(Protocol):
    """Turns a request into an assistant message, or raises
    :class:`~lllm_domain.errors.LLMAPIError` (with ``retryable`` set)."""

    def call(self, request: LLMRequest) -> Message:
        """Send ``request`` to the model and return its reply (role assistant or tool_call)."""
        ...


@runtime_checkable
class AsyncLLMCaller(Protocol):
    """The async form of :class:`LLMCaller`."""

    async def acall(self, request: LLMRequest) -> Message:
        """Send ``request`` to the model and return its reply."""
        ...


def is_sync_caller(value: object) -> TypeGuard[LLMCaller]:
    """``isinstance(value, LLMCaller)``, fast: the protocol's one method is looked up directly
    (an ``isinstance`` check against a protocol costs several microseconds, on every call)."""
    return callable(getattr(value, "call", None))


def is_async_caller(value: object) -> TypeGuard[AsyncLLMCaller]:
    """``isinstance(value, AsyncLLMCaller)``, fast (see :func:`is_sync_caller`)."""
    return callable(getattr(value, "acall", None))


# -- Clock, sleep and ids --------------------------------------------------------------------


class Clock(Protocol):
    """Time and sleeping. Tests pass a fake clock so retries are instant and deterministic."""

    def now(self) -> float:
        """Wall-clock time, seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the current task for ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Wall-clock time."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Blocking sleep."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Async sleep."""
        import asyncio  # imported here: asyncio costs ~20 ms at start-up

        await asyncio.sleep(seconds)


class IdGenerator(Protocol):
    """Makes unique ids for dialogs and sessions."""

    def __call__(self) -> str:
        """A new id."""
        ...


def uuid_ids() -> str:
    """A random 32-hex-digit id."""
    return os.urandom(16).hex()


# -- Log store -------------------------------------------------------------------------------


@define(frozen=True, slots=True)
class LogRecord:
    """One stored log entry: its order within (collection, session), its time and its data."""

    seq: int
    time: float
    data: Mapping[str, Any]


@define(frozen=True, slots=True)
class LogEntry:
    """A record the domain wants written: its collection, its session and its data.

    Dialogs and agent calls never write to a store themselves: they collect entries in an
    outbox and the drivers hand them to a :class:`~lllm_domain.log_writer.LogWriter`."""

    collection: str
    session: str
    data: Mapping[str, Any]
    time: float = field(factory=time.time)
    """When the record was made (seconds since the epoch): a store that writes it later keeps
    this time, so a session's records keep their order across collections."""


@runtime_checkable
class LogStore(Protocol):
    """Append-only records grouped by collection (``dialogs``, ``messages``, ``frontend``, ...)
    and session. Session names are data (any text); stores derive safe keys from them.

    A store may also offer ``append_entries(entries)`` (see :class:`BatchLogStore`): the log
    writer then commits what one turn produced, across collections and sessions, at once."""

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store one record durably."""
        ...

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store several records at once."""
        ...

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Every record of (collection, session), in the order appended."""
        ...

    def sessions(self) -> list[str]:
        """The names of every session with at least one record."""
        ...


@runtime_checkable
class BatchLogStore(LogStore, Protocol):
    """A log store that writes entries of several collections and sessions in one go (one
    transaction, one sync to disk): all of them or none."""

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store ``entries`` in their order, atomically."""
        ...


def is_batch_store(store: LogStore) -> TypeGuard[BatchLogStore]:
    """``isinstance(store, BatchLogStore)``, fast (see :func:`is_sync_caller`)."""
    return callable(getattr(store, "append_entries", None))


@runtime_checkable
class DeferredSyncLogStore(BatchLogStore, Protocol):
    """A batch store that can commit without syncing to disk and sync later: the log writer
    commits with :meth:`commit_entries`, wakes the calls waiting for those records, and only
    then syncs with :meth:`sync_commits`, in its own thread — so the disk's sync is off the
    calls' path and needs no thread of its own.

    ``append_entries`` stays what it is for everyone else: a commit that the store syncs soon
    by itself."""

    def commit_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store ``entries`` in their order, atomically, safe from a killed process once this
        returns, leaving the sync to disk to :meth:`sync_commits`."""
        ...

    def sync_commits(self) -> None:
        """Sync to disk every commit :meth:`commit_entries` made so far (at once when none is
        waiting for it). A failed sync raises here and is kept by the store: every later
        commit raises it too (a disk that cannot sync is not trusted again)."""
        ...


def is_deferred_sync_store(store: LogStore) -> TypeGuard[DeferredSyncLogStore]:
    """``isinstance(store, DeferredSyncLogStore)``, fast (see :func:`is_sync_caller`)."""
    return callable(getattr(store, "commit_entries", None)) and callable(
        getattr(store, "sync_commits", None)
    )


@runtime_checkable
class LogPipeline(Protocol):
    """A way into a log store through another process (a log host): batches are sent without
    waiting and confirmed later, in the order sent, once the host has committed them. Nothing of
    the writing happens in this process, so no thread of it competes with an event loop for the
    interpreter. Tickets count the batches sent, from 1."""

    def send_entries(self, entries: Sequence[LogEntry]) -> int:
        """Send ``entries`` as one batch (never waits for the disk; with no entries, sends
        nothing); the ticket to wait for: this batch's, or the last one sent."""
        ...

    def wait_sent(self, ticket: int) -> None:
        """Block until the batch of ``ticket`` and every batch sent before it are committed;
        raise the store's error if the batch of ``ticket`` failed."""
        ...

    async def await_sent(self, ticket: int) -> None:
        """The async form of :meth:`wait_sent`: the event loop reads the confirmations itself
        and is never blocked."""
        ...

    @property
    def last_sent(self) -> int:
        """The ticket of the last batch sent (0 before the first)."""
        ...


@runtime_checkable
class PipelinedLogStore(LogStore, Protocol):
    """A store that can also be written through a :class:`LogPipeline`. The log writer sends
    through it what many async agent calls log at once, so their commits and syncs happen in
    the host process, not in a thread beside the event loop; everything else it writes here."""

    def log_pipeline(self) -> LogPipeline | None:
        """The pipeline, once its host is ready to take batches; ``None`` until then (the first
        call starts the host) or when no host can run (then the store is written here)."""
        ...


def is_pipelined_store(store: LogStore) -> TypeGuard[PipelinedLogStore]:
    """``isinstance(store, PipelinedLogStore)``, fast (see :func:`is_sync_caller`)."""
    return callable(getattr(store, "log_pipeline", None))


# -- Tokenizer -------------------------------------------------------------------------------


class Tokenizer(Protocol):
    """Counts and encodes tokens for one encoding."""

    @property
    def name(self) -> str:
        """The encoding's name, e.g. ``cl100k_base``."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        ...

    def decode(self, tokens: Sequence[int]) -> str:
        """Text of ``tokens``."""
        ...

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        ...


class TokenizerProvider(Protocol):
    """Finds the tokenizer for a model, or for an encoding a model card names.

    The domain asks for :meth:`for_encoding` when the model card gives an ``encoding`` and for
    :meth:`for_model` otherwise (see :func:`lllm_domain.classification.model_tokenizer`); the
    composition root supplies the implementation (``lllm_adapters.tokenizer.TiktokenProvider``).
    """

    def for_model(self, model: str) -> Tokenizer:
        """The tokenizer ``model`` uses."""
        ...

    def for_encoding(self, encoding: str) -> Tokenizer:
        """The tokenizer of a named encoding (e.g. ``o200k_base``)."""
        ...


# -- Tool runtime (proxies) ------------------------------------------------------------------


class ToolRuntime(Protocol):
    """Calls declarative external APIs by ``proxy/category/endpoint`` path."""

    def call(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call the endpoint at ``path`` with ``params``; raise ProxyError on failure."""
        ...

    def documentation(self, paths: Sequence[str] | None = None) -> str:
        """Human- and model-readable documentation of the endpoints (all, or ``paths``)."""
        ...

    def functions(self, paths: Sequence[str] | None = None) -> list[Function]:
        """The endpoints (all, or ``paths``) as agent tools that call through this runtime."""
        ...


# -- Sandbox ---------------------------------------------------------------------------------
#
# The sandbox protocols (sessions and the sandbox that manages them, sync and async) live in the
# sandbox package with the values they trade in: lllm_domain.sandbox.ports.


# -- Configuration and discovery -------------------------------------------------------------


class ConfigSource(Protocol):
    """Finds and loads ``lllm.toml`` and discovers prompts and proxies."""

    def load(self, explicit: str | None = None) -> Mapping[str, Any]:
        """The project configuration as plain data."""
        ...

    def discover(self) -> Any:
        """Import prompt and proxy modules and register what they define."""
        ...


# -- Frontend (stream) -----------------------------------------------------------------------


class Frontend(Protocol):
    """A Streamlit-like display surface that a system writes progress to."""

    def write(self, *objects: Any) -> None:
        """Show plain text or objects."""
        ...

    def markdown(self, text: str) -> None:
        """Show Markdown."""
        ...

    def code(self, text: str, language: str | None = None) -> None:
        """Show a code block."""
        ...

    def error(self, text: str) -> None:
        """Show an error."""
        ...

    def divider(self) -> None:
        """Show a horizontal rule."""
        ...

    def progress(self, fraction: float, text: str = "") -> None:
        """Show progress between 0 and 1."""
        ...

    def spinner(self, text: str) -> AbstractContextManager[None]:
        """Show ``text`` with a spinner while the block runs."""
        ...

    def expander(self, title: str, expanded: bool = False) -> AbstractContextManager[Frontend]:
        """A collapsible section; writes inside go into it."""
        ...

    def status(self, label: str, expanded: bool = False) -> AbstractContextManager[Frontend]:
        """A labelled section for a step in progress: running while the block runs, then
        complete (or failed, when the block raises); writes inside go into it."""
        ...

    def balloons(self) -> None:
        """Celebrate (Streamlit's balloons)."""
        ...

    def snow(self) -> None:
        """Celebrate quietly (Streamlit's snow)."""
        ...

    def silent(self) -> AbstractContextManager[None]:
        """Show nothing while the block runs, yet still log every event (the original LLLM's
        ``silent()``), e.g. to run a sub-task without cluttering the screen."""
        ...


class NullFrontend:
    """A frontend that shows nothing (the default when none is given)."""

    def write(self, *objects: Any) -> None:
        """Discard."""

    def markdown(self, text: str) -> None:
        """Discard."""

    def code(self, text: str, language: str | None = None) -> None:
        """Discard."""

    def error(self, text: str) -> None:
        """Discard."""

    def divider(self) -> None:
        """Discard."""

    def progress(self, fraction: float, text: str = "") -> None:
        """Discard."""

    def spinner(self, text: str) -> AbstractContextManager[None]:
        """A no-op context."""
        return _null_context()

    def expander(self, title: str, expanded: bool = False) -> AbstractContextManager[Frontend]:
        """A context yielding this same frontend."""
        return _self_context(self)

    def status(self, label: str, expanded: bool = False) -> AbstractContextManager[Frontend]:
        """A context yielding this same frontend."""
        return _self_context(self)

    def balloons(self) -> None:
        """Discard."""

    def snow(self) -> None:
        """Discard."""

    def silent(self) -> AbstractContextManager[None]:
        """A no-op context (nothing is shown anyway)."""
        return _null_context()


class _null_context(AbstractContextManager[None]):
    def __exit__(self, *exc: object) -> None:
        return None


class _self_context(AbstractContextManager["Frontend"]):
    def __init__(self, frontend: Frontend) -> None:
        self._frontend = frontend

    def __enter__(self) -> Frontend:
        return self._frontend

    def __exit__(self, *exc: object) -> None:
        return None
