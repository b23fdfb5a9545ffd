"""Dialogs: the ordered, append-only messages of one conversation, with lineage across forks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from lllm_domain.errors import LLLMError
from lllm_domain.message import (
    EMPTY_MAPPING,
    Creator,
    Image,
    Message,
    Modality,
    Role,
)
from lllm_domain.ports import Frontend, IdGenerator, LogEntry, LogStore, uuid_ids
from lllm_domain.prompt import Prompt
from lllm_domain.usage import Cost, Usage

if TYPE_CHECKING:
    from lllm_domain.log_writer import Handed
    from lllm_domain.registry import PromptRegistry

DIALOGS = "dialogs"
MESSAGES = "messages"


class Dialog:
    """The messages of one conversation. Appending is the only way to write; each append is
    logged when the dialog has a log store.

    Logging is done at the edges: an append only records what should be logged in the dialog's
    outbox (no I/O). An agent call on the dialog writes the outbox at every turn and has written
    all of it when it returns, raises or is cancelled; a fork hands its parent's outbox to the
    store's writer; :meth:`flush` / :meth:`aflush` write it on demand (call one after appending
    outside an agent call if the records must be on disk now).

    A dialog knows its ``session`` name, its ``dialog_id``, the ``parent_id`` of the dialog it was
    forked from, the ``agent_name`` that owns it, and its ``top_prompt``: the prompt that
    introduced the latest user turn, which decides parsing and tools.
    Forks share the (immutable) messages: a fork copies a list of references.
    """

    __slots__ = (
        "_handed",
        "_ids",
        "_log",
        "_messages",
        "_pending",
        "agent_name",
        "dialog_id",
        "parent_id",
        "session",
        "top_prompt",
    )

    def __init__(
        self,
        messages: Sequence[Message] = (),
        *,
        session: str = "default",
        dialog_id: str | None = None,
        parent_id: str | None = None,
        top_prompt: Prompt | None = None,
        agent_name: str | None = None,
        log: LogStore | None = None,
        ids: IdGenerator = uuid_ids,
    ) -> None:
        self._messages: list[Message] = list(messages)
        self.session = session
        self.dialog_id = dialog_id or ids()
        self.parent_id = parent_id
        self.top_prompt = top_prompt
        self.agent_name = agent_name
        self._log = log
        self._ids = ids
        self._pending: list[LogEntry] = []
        self._handed: list[Handed] = []
        if log is not None:
            self._emit(DIALOGS, self._header())
            for i, m in enumerate(self._messages):
                self._emit(MESSAGES, self._record(i, m))

    # -- reading -----------------------------------------------------------------------------

    @property
    def messages(self) -> Sequence[Message]:
        """The messages, oldest first (a read-only view by contract: use :meth:`append`)."""
        return self._messages

    def __len__(self) -> int:
        return len(self._messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self._messages)

    @overload
    def __getitem__(self, index: int) -> Message: ...
    @overload
    def __getitem__(self, index: slice) -> list[Message]: ...
    def __getitem__(self, index: int | slice) -> Message | list[Message]:
        return self._messages[index]

    def __repr__(self) -> str:
        return (
            f"Dialog(session={self.session!r}, dialog_id={self.dialog_id!r}, "
            f"parent_id={self.parent_id!r}, messages={len(self._messages)})"
        )

    @property
    def log(self) -> LogStore | None:
        """Where appends are logged (``None``: not logged)."""
        return self._log

    @property
    def last(self) -> Message | None:
        """The latest message, if any."""
        return self._messages[-1] if self._messages else None

    @property
    def system_message(self) -> Message | None:
        """The leading system message, if any."""
        if self._messages and self._messages[0].role is Role.SYSTEM:
            return self._messages[0]
        return None

    def tail(self, n: int = 1) -> list[Message]:
        """The last ``n`` messages."""
        return self._messages[-n:] if n > 0 else []

    @property
    def cost(self) -> Cost:
        """Total cost of every message, including failed attempts carried by messages."""
        total = Cost()
        for message in self._messages:
            if message.cost is not None or message.attempts:
                total = total + message.total_cost
        return total

    @property
    def usage(self) -> Usage:
        """Total token usage, including failed attempts."""
        total = Usage()
        for message in self._messages:
            if message.usage is not None or message.attempts:
                total = total + message.total_usage
        return total

    def overview(
        self,
        max_chars: int = 200,
        *,
        remove_tail: bool = False,
        max_length: int | None = None,
        stream: Frontend | None = None,
        divider: bool = False,
    ) -> str:
        """A short transcript: one line per message, long contents cut to ``max_chars``.

        The original's keywords work too: ``remove_tail`` leaves the last message out,
        ``max_length`` is ``max_chars``, and with ``stream`` (a frontend) the transcript is also
        shown there in a collapsed "Context overview" section followed by the dialog's cost,
        after a divider when ``divider`` is set.
        """
        if max_length is not None:
            max_chars = max_length
        messages = self._messages[:-1] if remove_tail else self._messages
        lines = []
        for i, m in enumerate(messages):
            text = m.content.replace("\n", " ")
            if len(text) > max_chars:
                text = text[: max_chars - 1] + "…"
            calls = ""
            if m.function_calls:
                calls = " calls: " + ", ".join(
                    f"{c.name}({', '.join(f'{k}={v!r}' for k, v in c.arguments.items())})"
                    for c in m.function_calls
                )
            lines.append(f"[{i}] {m.role.value} ({m.creator}): {text}{calls}")
        text = "\n".join(lines)
        if stream is not None:
            if divider:
                stream.divider()
            with stream.expander("Context overview") as section:
                section.write(text)
            stream.write(f"cost: ${self.cost.total_usd:.6f}")
        return text

    # -- writing -----------------------------------------------------------------------------

    def append(self, message: Message) -> Message:
        """Add ``message`` at the end (and record it in the outbox when logged)."""
        self._messages.append(message)
        if self._log is not None:
            self._pending.append(
                LogEntry(MESSAGES, self.session, self._record(len(self._messages) - 1, message))
            )
        return message

    # -- the outbox --------------------------------------------------------------------------

    def _emit(self, collection: str, data: Mapping[str, Any]) -> None:
        if self._log is not None:
            self._pending.append(LogEntry(collection, self.session, data))

    @property
    def pending_records(self) -> tuple[LogEntry, ...]:
        """Records made by appends that are not yet handed to the log store's writer."""
        return tuple(self._pending)

    def take_records(self) -> list[LogEntry]:
        """Remove and return the outbox's records (the caller writes them)."""
        pending, self._pending = self._pending, []
        return pending

    def hand_over(self) -> None:
        """Hand the outbox to the log store's writer without waiting (no I/O here)."""
        if self._log is None or not self._pending:
            return
        from lllm_domain.log_writer import writer_for

        self._handed.append(writer_for(self._log).submit(self.take_records()))

    def flush(self) -> None:
        """Write the outbox and wait until it, and everything handed over before, is stored.
        Raises the store's error if a write failed."""
        if self._log is None:
            return
        from lllm_domain.log_writer import writer_for

        writer_for(self._log).flush(self.take_records())
        self._check_handed()

    async def aflush(self) -> None:
        """The async form of :meth:`flush`: the event loop is never blocked by the write."""
        if self._log is None:
            return
        from lllm_domain.log_writer import writer_for

        await writer_for(self._log).aflush(self.take_records())
        self._check_handed()

    def __del__(self) -> None:
        # A dialog dropped with records still in its outbox hands them over rather than losing
        # them (no I/O here: the writer's thread writes them).
        if getattr(self, "_pending", None) and self._log is not None:
            with contextlib.suppress(Exception):
                self.hand_over()

    def _check_handed(self) -> None:
        # Every batch handed over earlier is written by now (the writer is first in, first
        # out); report the first that failed.
        handed, self._handed = self._handed, []
        for future in handed:
            future.result()

    def send_message(
        self,
        text: str,
        *,
        role: Role = Role.USER,
        creator: str = Creator.USER,
        prompt_path: str | None = None,
        tool_call_id: str | None = None,
        extra: Mapping[str, Any] = EMPTY_MAPPING,
        set_top: bool = True,
    ) -> Message:
        """Append plain text as a message. As in the original, it becomes the top prompt: the
        dialog then has no prompt deciding parsing and tools (``top_prompt`` is ``None``), so
        the next agent call returns the raw text and offers no tools. (The original wrapped the
        text in a throw-away prompt; ``None`` behaves the same and survives serialization.)
        ``set_top=False`` keeps the current top prompt (for a note inside a prompt's turn)."""
        message = self.append(
            Message(
                role, text, creator, tool_call_id=tool_call_id, prompt_path=prompt_path, extra=extra
            )
        )
        if set_top:
            self.top_prompt = None
        return message

    def send_prompt(
        self,
        prompt: Prompt,
        args: Mapping[str, Any] = EMPTY_MAPPING,
        *,
        role: Role = Role.USER,
        creator: str = Creator.USER,
        tool_call_id: str | None = None,
        extra: Mapping[str, Any] = EMPTY_MAPPING,
        set_top: bool = True,
        images: tuple[Image, ...] = (),
    ) -> Message:
        """Render ``prompt`` with ``args`` and append it; it becomes the top prompt.
        ``images`` go on the message (``Message.images``), e.g. those a tool returned."""
        message = Message(
            role,
            prompt.render(args),
            creator,
            Modality.IMAGE if images else Modality.TEXT,
            tool_call_id=tool_call_id,
            prompt_path=prompt.path,
            extra=extra,
            images=images,
        )
        if set_top:
            self.top_prompt = prompt
        return self.append(message)

    def send_image(
        self,
        base64_data: str,
        *,
        caption: str = "",
        mime_type: str = "image/png",
        creator: str = Creator.USER,
    ) -> Message:
        """Append an image (base64) with an optional caption."""
        return self.append(
            Message(
                Role.USER,
                caption,
                creator,
                modality=Modality.IMAGE,
                image=Image(base64_data, mime_type),
            )
        )

    # -- copies ------------------------------------------------------------------------------

    def fork(self, *, log: LogStore | bool | None = True) -> Dialog:
        """An independent copy whose ``parent_id`` points back here (messages are shared).

        ``log=True`` keeps this dialog's log store, ``False``/``None`` turns logging off for the
        copy, a store sends the copy there.
        """
        return self._copy(self._messages, log)

    def context_copy(self, n: int = 1, *, log: LogStore | bool | None = True) -> Dialog:
        """A fork without the last ``n`` messages."""
        if n < 0:
            raise LLLMError(f"context_copy needs n >= 0, got {n}")
        return self._copy(self._messages[: max(len(self._messages) - n, 0)], log)

    def _copy(self, messages: Sequence[Message], log: LogStore | bool | None) -> Dialog:
        store = self._log if log is True else (None if log is False else log)
        child = Dialog.__new__(Dialog)
        child._messages = list(messages)
        child.session = self.session
        child.dialog_id = self._ids()
        child.parent_id = self.dialog_id
        child.top_prompt = self.top_prompt
        child.agent_name = self.agent_name
        child._log = store
        child._ids = self._ids
        child._pending = []
        child._handed = []
        # The parent's records go first, so the store always knows a dialog before its forks.
        self.hand_over()
        child._emit(DIALOGS, child._header())
        return child

    # -- plain data --------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        return {
            "dialog_id": self.dialog_id,
            "parent_id": self.parent_id,
            "agent_name": self.agent_name,
            "top_prompt": self.top_prompt.path if self.top_prompt else None,
            "inherited_messages": len(self._messages),
        }

    def _record(self, index: int, message: Message) -> dict[str, Any]:
        from lllm_domain.serialization import message_to_data

        return {"dialog_id": self.dialog_id, "index": index, "message": message_to_data(message)}

    def to_data(self) -> dict[str, Any]:
        """This dialog as plain data (JSON-ready), including tool calls and attempts."""
        from lllm_domain.serialization import message_to_data

        return {
            "session": self.session,
            "dialog_id": self.dialog_id,
            "parent_id": self.parent_id,
            "agent_name": self.agent_name,
            "top_prompt": self.top_prompt.path if self.top_prompt else None,
            "messages": [message_to_data(m) for m in self._messages],
        }

    @classmethod
    def from_data(
        cls,
        data: Mapping[str, Any],
        *,
        prompts: PromptRegistry | None = None,
        log: LogStore | None = None,
        ids: IdGenerator = uuid_ids,
    ) -> Dialog:
        """Rebuild a dialog from :meth:`to_data` output, resolving the top prompt by its path in
        ``prompts`` (the default registry when not given).

        With ``log``, later appends are logged under the same dialog id and session. If that
        store does not know the dialog yet, its header and messages are written now, so the
        log can always be read back whole."""
        from lllm_domain.registry import default_prompts
        from lllm_domain.serialization import message_from_data

        registry = prompts if prompts is not None else default_prompts
        top_path = data.get("top_prompt")
        top = registry.resolve(top_path) if top_path else None
        dialog = cls(
            [message_from_data(m) for m in data.get("messages", ())],
            session=data.get("session", "default"),
            dialog_id=data.get("dialog_id"),
            parent_id=data.get("parent_id"),
            top_prompt=top,
            agent_name=data.get("agent_name"),
            ids=ids,
        )
        dialog._log = log
        if log is not None:
            from lllm_domain.log_writer import writer_for

            writer_for(log).flush()  # records still on their way count as known
            known = any(
                r.data.get("dialog_id") == dialog.dialog_id
                for r in log.read(DIALOGS, dialog.session)
            )
            if not known:
                dialog._emit(DIALOGS, {**dialog._header(), "inherited_messages": 0})
                for i, m in enumerate(dialog._messages):
                    dialog._emit(MESSAGES, dialog._record(i, m))
                dialog.flush()  # loading already reads the store: leave it knowing the dialog
        return dialog
