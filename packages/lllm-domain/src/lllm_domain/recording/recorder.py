"""The recorder: a caller wrapper that records every model request and reply (or API error, and
the streamed deltas) to the ``calls`` collection of a log store, each request as what it adds
to an earlier recorded one."""

from __future__ import annotations

from attrs import evolve

from lllm_domain.errors import LLMAPIError, ReplayError
from lllm_domain.log_writer import writer_for
from lllm_domain.message import Message
from lllm_domain.ports import (
    AsyncLLMCaller,
    IdGenerator,
    LLMCaller,
    LogEntry,
    LogStore,
    is_async_caller,
    is_sync_caller,
    uuid_ids,
)
from lllm_domain.recording.fingerprint import Remembered, Written, fingerprints
from lllm_domain.recording.recorded import CALLS
from lllm_domain.request import LLMRequest


class RecordingCaller:
    """Wraps a caller and records each request/reply pair to the ``calls`` collection.

    ``session`` overrides the session name recorded under (by default each request's own
    session). Nothing secret is recorded: only the conversation (role, content, tool calls),
    request identity (agent, dialog, turn, model, prompt) and the reply — never model args,
    headers or keys — and the log store redacts every record as usual.

    Each record holds only what its request adds to an earlier request recorded in the same
    session: ``prefix`` (``[call_id, n]``: the first ``n`` messages of that call's request, or
    ``None``) and ``messages``, the fingerprints of the messages after it. The earlier request is
    the same dialog's previous one, else its parent dialog's (a fork), else the agent's last one
    (dialogs of one agent share at least its system prompt). ``ids`` makes the call ids.
    """

    def __init__(
        self,
        inner: LLMCaller | AsyncLLMCaller,
        store: LogStore,
        session: str | None = None,
        *,
        ids: IdGenerator = uuid_ids,
    ) -> None:
        self.inner = inner
        self.store = store
        self.session = session
        self.ids = ids
        self._written = Remembered()

    def __repr__(self) -> str:
        return f"RecordingCaller({self.inner!r})"

    def flush(self) -> None:
        """Wait until every record handed over so far is stored (agent calls logging to the
        same store do this for you when they end)."""
        writer_for(self.store).flush()

    def call(self, request: LLMRequest) -> Message:
        """Call the inner caller and record the outcome."""
        if not is_sync_caller(self.inner):
            raise ReplayError(
                f"RecordingCaller: the wrapped {type(self.inner).__name__} has no sync call(); "
                "use acall() or wrap a sync caller"
            )
        live, deltas = self._teed(request)
        try:
            reply = self.inner.call(live)
        except LLMAPIError as error:
            self._record(request, None, error, deltas)
            raise
        self._record(request, reply, None, deltas)
        return reply

    async def acall(self, request: LLMRequest) -> Message:
        """Await the inner caller and record the outcome."""
        if not is_async_caller(self.inner):
            raise ReplayError(
                f"RecordingCaller: the wrapped {type(self.inner).__name__} has no async acall(); "
                "use call() or wrap an async caller"
            )
        live, deltas = self._teed(request)
        try:
            reply = await self.inner.acall(live)
        except LLMAPIError as error:
            self._record(request, None, error, deltas)
            raise
        self._record(request, reply, None, deltas)
        return reply

    @staticmethod
    def _teed(request: LLMRequest) -> tuple[LLMRequest, list[str] | None]:
        user_callback = request.on_delta
        if user_callback is None:
            return request, None
        deltas: list[str] = []

        def tee(delta: str) -> None:
            deltas.append(delta)
            user_callback(delta)

        return evolve(request, on_delta=tee), deltas

    def _record(
        self,
        request: LLMRequest,
        reply: Message | None,
        error: LLMAPIError | None,
        deltas: list[str] | None,
    ) -> None:
        from lllm_domain.serialization import message_to_data

        session = self.session if self.session is not None else request.session
        keys = [("dialog", session, request.dialog_id)]
        if request.parent_dialog_id:
            keys.append(("dialog", session, request.parent_dialog_id))
        keys.append(("agent", session, request.agent_name))
        messages = request.messages
        # The first earlier request sharing anything wins: the dialog's own previous request
        # shares the most, and stopping there keeps the work per request to the new messages.
        found, shared, base = fingerprints(
            messages, [self._written.get(k) for k in keys], whole=False
        )
        call_id = self.ids()
        record = LogEntry(
            CALLS,
            session,
            {
                "call_id": call_id,
                "agent_name": request.agent_name,
                "dialog_id": request.dialog_id,
                "parent_dialog_id": request.parent_dialog_id,
                "turn": request.turn,
                "model": request.model,
                "prompt_path": request.prompt_path,
                "prefix": [base.call_id, shared] if base is not None else None,
                "messages": found[shared:],
                "reply": message_to_data(reply) if reply is not None else None,
                "error": error.describe() if error is not None else None,
                "deltas": deltas,
            },
        )
        # Handed to the store's writer (no I/O here, nothing blocks the event loop): it writes
        # records in the order handed over, so a later record never refers to a call stored
        # after it, and an agent call logging to the same store waits for it before returning.
        writer_for(self.store).submit([record])
        written = Written(call_id, messages)
        self._written.put(("dialog", session, request.dialog_id), written)
        self._written.put(("agent", session, request.agent_name), written)
