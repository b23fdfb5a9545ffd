"""A logged session as a readable transcript: who said what, with which prompt, which tools
were called and what they returned, which replies failed and were retried, and what it cost.

:func:`transcript_entries` turns a replay session's activities into :class:`Entry` values;
:func:`render_text` prints them for a terminal, and :mod:`lllm_cli.html_timeline` renders the
same entries as an HTML page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attrs import define

if TYPE_CHECKING:
    from lllm_domain.message import Message
    from lllm_domain.replay import Activity

_ROLE_LABELS = {
    "system": "system prompt",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool result",
    "tool_call": "assistant asks for tools",
}


@define(frozen=True, slots=True)
class Entry:
    """One step of a transcript.

    ``kind`` is ``session``, ``dialog``, ``message``, ``frontend`` or ``error``; ``role`` is the
    message role (or the kind); ``who`` the speaker; ``meta`` short facts (prompt, model,
    tokens, cost); ``body`` the text; ``details`` tool calls, computer actions, retries and
    errors, one per line; ``image`` the message's image as a ``data:`` URL (a computer-use
    screenshot), if it has one.
    """

    time: float
    kind: str
    role: str
    who: str
    meta: tuple[str, ...]
    body: str
    details: tuple[str, ...] = ()
    image: str | None = None

    @property
    def clock(self) -> str:
        """The entry's time of day (UTC), ``HH:MM:SS``."""
        return dt.datetime.fromtimestamp(self.time, dt.UTC).strftime("%H:%M:%S")

    @property
    def title(self) -> str:
        """``who`` and role, e.g. ``assistant · tool result``."""
        label = _ROLE_LABELS.get(self.role, self.role)
        return f"{self.who} · {label}" if self.who and self.who != label else label


def _cost_text(message: Message) -> str | None:
    if message.cost is None and not message.attempts:
        return None
    text = f"${message.total_cost.total_usd:.6f}"
    if message.attempts:
        text += f" incl. {len(message.attempts)} failed attempt(s)"
    return text


def _args(arguments: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


def _message_entry(activity: Activity, message: Message) -> Entry:
    meta: list[str] = []
    if message.prompt_path:
        meta.append(f"prompt {message.prompt_path}")
    if message.model:
        meta.append(f"model {message.model}")
    if message.usage is not None:
        meta.append(f"{message.usage.input_tokens} in / {message.usage.output_tokens} out tokens")
    cost = _cost_text(message)
    if cost:
        meta.append(cost)
    details: list[str] = []
    for call in message.function_calls:
        details.append(f"→ calls {call.name}({_args(call.arguments)}) [{call.id}]")
    for action in message.computer_calls:
        data = {k: v for k, v in action.action.items() if k != "type"}
        details.append(f"→ computer {action.action.get('type')}({_args(data)}) [{action.call_id}]")
    if message.tool_call_id:
        details.append(f"← result of tool call [{message.tool_call_id}]")
    for number, attempt in enumerate(message.attempts, start=1):
        reply = attempt.content.strip().replace("\n", " ") or "(empty)"
        problems = "; ".join(attempt.errors) or "rejected"
        details.append(f"↻ retry: attempt {number} failed: {reply!r} — {problems}")
    for error in message.errors:
        details.append(f"✗ parse error: {error}")
    who = message.creator
    return Entry(
        activity.time,
        "message",
        message.role.value,
        who,
        tuple(meta),
        message.content,
        tuple(details),
        _image_url(message),
    )


_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _image_url(message: Message) -> str | None:
    images = message.all_images  # a screenshot, a user's picture or a tool's first image
    image = images[0] if images else None
    if image is None or image.mime_type not in _IMAGE_TYPES:
        return None
    return f"data:{image.mime_type};base64,{image.base64}"


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def entry_from_activity(activity: Activity) -> Entry:
    """The transcript entry of one replay activity."""
    data = activity.data
    if activity.message is not None:
        return _message_entry(activity, activity.message)
    if activity.kind == "sessions":
        event = str(data.get("event", "event"))
        meta = tuple(f"{k} {data[k]}" for k in ("system", "type") if data.get(k))
        return Entry(
            activity.time, "session", f"session {event}", "", meta, _plain(data.get("task", ""))
        )
    if activity.kind == "dialogs":
        facts = [f"dialog {data.get('dialog_id')}"]
        if data.get("parent_id"):
            facts.append(f"forked from {data['parent_id']}")
        if data.get("top_prompt"):
            facts.append(f"prompt {data['top_prompt']}")
        return Entry(
            activity.time, "dialog", "new dialog", activity.agent_name or "", tuple(facts), ""
        )
    if activity.kind == "errors":
        details = tuple(
            f"failed attempt: {a.get('content', '')!r}"
            for a in data.get("attempts", [])
            if isinstance(a, Mapping)
        )
        return Entry(
            activity.time,
            "error",
            "error",
            str(data.get("agent_name") or ""),
            (str(data.get("error_type", "error")),),
            str(data.get("message", "")),
            details,
        )
    # Frontend events: what the user was shown.
    event = str(data.get("event", activity.kind))
    body = next(
        (_plain(data[k]) for k in ("text", "title", "message", "code") if data.get(k) is not None),
        "",
    )
    shown = {k: v for k, v in data.items() if k not in ("event", "text", "path", "silent")}
    meta = tuple(f"{k} {_plain(v)}" for k, v in shown.items() if k != "title")[:4]
    # Logged inside the frontend's silent(): recorded, but never on the user's screen.
    title = f"not shown (silent): {event}" if data.get("silent") else f"shown: {event}"
    return Entry(activity.time, "frontend", title, "frontend", meta, body)


def transcript_entries(activities: Iterable[Activity]) -> list[Entry]:
    """The transcript of a session's activities, in time order."""
    return [entry_from_activity(a) for a in activities]


def render_text(entries: Sequence[Entry], *, width: int = 100) -> str:
    """The transcript as plain text for a terminal."""
    import textwrap

    lines: list[str] = []
    for entry in entries:
        head = f"{entry.clock}  {entry.title}"
        if entry.meta:
            head += "  (" + " · ".join(entry.meta) + ")"
        lines.append(head)
        for paragraph in entry.body.strip().splitlines():
            wrapped = textwrap.wrap(paragraph, width - 4) or [""]
            lines.extend("    " + w for w in wrapped)
        lines.extend("    " + d for d in entry.details)
    return "\n".join(lines)
