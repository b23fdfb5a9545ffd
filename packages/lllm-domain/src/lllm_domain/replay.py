"""Replay sessions: read a logged run back — what happened in what order, what it cost, which
dialog forked from which — and pick any dialog up again as a live :class:`Dialog`.

Pure logic over the :class:`~lllm_domain.ports.LogStore` port: it reads the ``sessions``,
``dialogs``, ``messages``, ``frontend`` and ``errors`` collections a run wrote.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from attrs import define, field

from lllm_domain.dialog import DIALOGS, MESSAGES, Dialog

# Defined with the other errors; importable from here too, where it is raised.
from lllm_domain.errors import ReplaySessionError as ReplaySessionError  # noqa: PLC0414
from lllm_domain.message import Message, Role
from lllm_domain.ports import IdGenerator, LogStore, uuid_ids
from lllm_domain.usage import Cost, Usage

if TYPE_CHECKING:
    from lllm_domain.registry import PromptRegistry

SESSIONS = "sessions"
FRONTEND = "frontend"
ERRORS = "errors"

_ORDER = {SESSIONS: 0, DIALOGS: 1, MESSAGES: 2, FRONTEND: 3, ERRORS: 4}
"""Ties in time are broken in this order: a dialog's header before its first message."""


@define(frozen=True, slots=True)
class Activity:
    """One thing that happened in a session: a session event, a dialog created, a message
    appended, a frontend event or an error report.

    ``kind`` is the collection it came from (``sessions``, ``dialogs``, ``messages``,
    ``frontend``, ``errors``); ``message`` is set for ``messages``.
    """

    time: float
    kind: str
    seq: int
    data: Mapping[str, Any]
    dialog_id: str | None = None
    agent_name: str | None = None
    message: Message | None = None

    def describe(self, max_chars: int = 120) -> str:
        """A one-line summary."""
        who = self.agent_name or "-"
        if self.message is not None:
            text = self.message.content.replace("\n", " ")
            text = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
            return f"[{who}] {self.message.role.value} ({self.message.creator}): {text}"
        if self.kind == DIALOGS:
            parent = self.data.get("parent_id")
            forked = f" forked from {parent}" if parent else ""
            return f"[{who}] dialog {self.dialog_id}{forked}"
        if self.kind == FRONTEND:
            detail = self.data.get("text") or self.data.get("title") or ""
            return f"[frontend] {self.data.get('event')}: {detail}"
        if self.kind == ERRORS:
            return f"[{who}] error {self.data.get('error_type')}: {self.data.get('message')}"
        return f"[{self.kind}] {dict(self.data)}"


@define(frozen=True, slots=True)
class DialogInfo:
    """A dialog's header as logged: who owns it and where it was forked from."""

    dialog_id: str
    parent_id: str | None
    agent_name: str | None
    top_prompt: str | None
    inherited_messages: int
    time: float


@define(frozen=True, slots=True)
class Totals:
    """Tokens, money and model replies (failed attempts included)."""

    usage: Usage = field(factory=Usage)
    cost: Cost = field(factory=Cost)
    replies: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.usage + other.usage, self.cost + other.cost, self.replies + other.replies
        )


@define(frozen=True, slots=True)
class CostReport:
    """Cost and token totals of a session, per agent and per model."""

    session: Totals
    by_agent: Mapping[str, Totals]
    by_model: Mapping[str, Totals]

    def table(self) -> str:
        """A plain-text table of the totals."""
        lines = [f"{'':24} {'replies':>8} {'input':>10} {'output':>10} {'usd':>10}"]

        def row(label: str, t: Totals) -> None:
            u = t.usage
            lines.append(
                f"{label[:24]:24} {t.replies:>8} {u.input_tokens:>10} {u.output_tokens:>10} "
                f"{t.cost.total_usd:>10.4f}"
            )

        row("session", self.session)
        for name, totals in sorted(self.by_agent.items()):
            row(f"agent {name}", totals)
        for name, totals in sorted(self.by_model.items()):
            row(f"model {name}", totals)
        return "\n".join(lines)


class ReplaySession:
    """A logged session read back from ``store``.

    The records are read once, at construction. ``prompts`` resolves top prompts when a dialog
    is loaded back (the default registry when not given).
    """

    def __init__(
        self, store: LogStore, session: str, *, prompts: PromptRegistry | None = None
    ) -> None:
        self.store = store
        self.session = session
        self.prompts = prompts
        from lllm_domain.log_writer import writer_for

        writer_for(store).flush()  # records of this process still on their way count
        self._records = {c: store.read(c, session) for c in _ORDER}
        self.dialogs: dict[str, DialogInfo] = {}
        for record in self._records[DIALOGS]:
            d = record.data
            self.dialogs[d["dialog_id"]] = DialogInfo(
                d["dialog_id"],
                d.get("parent_id"),
                d.get("agent_name"),
                d.get("top_prompt"),
                int(d.get("inherited_messages", 0)),
                record.time,
            )
        self._own: dict[str, dict[int, Message]] = {}
        self._activities: list[Activity] = []
        self._build()

    def __repr__(self) -> str:
        return f"ReplaySession({self.session!r}, dialogs={len(self.dialogs)})"

    def _build(self) -> None:
        from lllm_domain.serialization import message_from_data

        activities: list[tuple[tuple[float, int, int], Activity]] = []
        for collection, records in self._records.items():
            rank = _ORDER[collection]
            for record in records:
                data = record.data
                dialog_id = data.get("dialog_id")
                info = self.dialogs.get(dialog_id) if isinstance(dialog_id, str) else None
                agent = data.get("agent_name") or (info.agent_name if info else None)
                message = None
                if collection == MESSAGES:
                    message = message_from_data(data["message"])
                    self._own.setdefault(data["dialog_id"], {})[int(data["index"])] = message
                activity = Activity(
                    record.time, collection, record.seq, data, dialog_id, agent, message
                )
                activities.append(((record.time, rank, record.seq), activity))
        activities.sort(key=lambda pair: pair[0])
        self._activities = [a for _, a in activities]

    # -- reading -----------------------------------------------------------------------------

    def activities(self) -> list[Activity]:
        """Everything that happened, in time order."""
        return list(self._activities)

    def __iter__(self) -> Iterator[Activity]:
        return iter(self._activities)

    def timeline(self, max_chars: int = 120) -> str:
        """The activities as text, one line each."""
        return "\n".join(a.describe(max_chars) for a in self._activities)

    def _info(self, dialog_id: str) -> DialogInfo:
        try:
            return self.dialogs[dialog_id]
        except KeyError:
            raise ReplaySessionError(
                f"session {self.session!r} has no dialog {dialog_id!r}; its dialogs are: "
                f"{', '.join(self.dialogs) or 'none'}"
            ) from None

    def lineage(self, dialog_id: str) -> list[DialogInfo]:
        """The dialog and its ancestors, root first."""
        chain = [self._info(dialog_id)]
        seen = {dialog_id}
        while chain[0].parent_id is not None and chain[0].parent_id in self.dialogs:
            parent = self.dialogs[chain[0].parent_id]
            if parent.dialog_id in seen:  # a corrupted log must not loop forever
                break
            seen.add(parent.dialog_id)
            chain.insert(0, parent)
        return chain

    def children(self, dialog_id: str) -> list[DialogInfo]:
        """The dialogs forked directly from ``dialog_id``, in creation order."""
        return [d for d in self.dialogs.values() if d.parent_id == dialog_id]

    def roots(self) -> list[DialogInfo]:
        """Dialogs not forked from another dialog of this session."""
        return [d for d in self.dialogs.values() if d.parent_id not in self.dialogs]

    def messages(self, dialog_id: str) -> list[Message]:
        """Every message of the dialog, including those inherited from the dialog it was
        forked from."""
        info = self._info(dialog_id)
        own = self._own.get(dialog_id, {})
        length = max(info.inherited_messages, max(own, default=-1) + 1)
        inherited: list[Message] = []
        if info.inherited_messages and any(i not in own for i in range(info.inherited_messages)):
            if info.parent_id is None or info.parent_id not in self.dialogs:
                raise ReplaySessionError(
                    f"dialog {dialog_id!r} inherits {info.inherited_messages} messages from "
                    f"{info.parent_id!r}, which is not in session {self.session!r}'s log"
                )
            inherited = self.messages(info.parent_id)
        result: list[Message] = []
        for i in range(length):
            if i in own:
                result.append(own[i])
            elif i < len(inherited):
                result.append(inherited[i])
            else:
                raise ReplaySessionError(
                    f"dialog {dialog_id!r} in session {self.session!r} has no message {i} in "
                    "the log (the log is incomplete)"
                )
        return result

    def dialog(
        self,
        dialog_id: str,
        *,
        log: LogStore | None = None,
        prompts: PromptRegistry | None = None,
        ids: IdGenerator = uuid_ids,
    ) -> Dialog:
        """The dialog as a live :class:`Dialog`, ready to continue. With ``log`` its new
        appends are logged (under the same dialog id and session)."""
        info = self._info(dialog_id)
        from lllm_domain.serialization import message_to_data

        return Dialog.from_data(
            {
                "session": self.session,
                "dialog_id": info.dialog_id,
                "parent_id": info.parent_id,
                "agent_name": info.agent_name,
                "top_prompt": info.top_prompt,
                "messages": [message_to_data(m) for m in self.messages(dialog_id)],
            },
            prompts=prompts if prompts is not None else self.prompts,
            log=log,
            ids=ids,
        )

    # -- costs -------------------------------------------------------------------------------

    def costs(self) -> CostReport:
        """Cost and token totals for the session, per agent and per model.

        Every model reply counts once: a failed attempt appears both in the working copy where
        it was retried and on the final reply that carries it, and is counted only there.
        """
        counted = self._counted_messages()
        session = Totals()
        by_agent: dict[str, Totals] = {}
        by_model: dict[str, Totals] = {}
        for agent, message in counted:
            for reply in _flatten(message):
                if reply.role not in (Role.ASSISTANT, Role.TOOL_CALL) and reply.usage is None:
                    continue
                totals = Totals(reply.usage or Usage(), reply.cost or Cost(), 1)
                session = session + totals
                by_agent[agent] = by_agent.get(agent, Totals()) + totals
                model = reply.model or "unknown"
                by_model[model] = by_model.get(model, Totals()) + totals
        return CostReport(session, by_agent, by_model)

    def _counted_messages(self) -> list[tuple[str, Message]]:
        from lllm_domain.serialization import message_to_data

        logged: list[tuple[str, str, Message]] = []  # (dialog id, agent, message)
        for activity in self._activities:
            if activity.message is not None and activity.dialog_id is not None:
                agent = activity.agent_name or activity.message.creator
                logged.append((activity.dialog_id, agent, activity.message))
        # Logged copies of attempts, keyed by their data; each is absorbed by one final reply.
        pending: dict[bytes, list[int]] = {}

        def key(message: Message) -> bytes:
            import msgspec

            return msgspec.json.encode(message_to_data(message))

        for i, (_, _, message) in enumerate(logged):
            if not message.attempts:
                pending.setdefault(key(message), []).append(i)
        absorbed: set[int] = set()
        for _, _, message in logged:
            for attempt in message.attempts:
                slots = pending.get(key(attempt))
                if slots:
                    absorbed.add(slots.pop(0))
        return [(agent, m) for i, (_, agent, m) in enumerate(logged) if i not in absorbed]


def _flatten(message: Message) -> Iterator[Message]:
    yield message
    for attempt in message.attempts:
        yield from _flatten(attempt)
