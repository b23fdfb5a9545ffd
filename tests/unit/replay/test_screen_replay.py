"""Screen replay: a session's logged frontend events shown again on another frontend."""

from __future__ import annotations

import io
from typing import Any

import pytest
from lllm_adapters.frontend import FRONTEND, TerminalFrontend
from lllm_domain.ports import Frontend, NullFrontend
from lllm_domain.screen_replay import replay_screen, replay_session_screen
from rich.console import Console

from tests.support.memory_log import MemoryLogStore


def _terminal(store: MemoryLogStore, session: str) -> tuple[TerminalFrontend, io.StringIO]:
    out = io.StringIO()
    return TerminalFrontend(Console(file=out, width=80), log=store, session=session), out


def _show_everything(ui: Frontend) -> None:
    ui.write("hello", 42)
    ui.markdown("# Title")
    ui.code("print(1)", "python")
    ui.code("plain")
    ui.divider()
    ui.progress(0.5, "half")
    with ui.spinner("thinking"):
        ui.write("while thinking")
    with ui.expander("details", expanded=True) as box:
        box.error("bad thing")
        with box.status("inner step") as step:
            step.markdown("deep")
    with pytest.raises(RuntimeError), ui.status("failing step"):
        raise RuntimeError("boom")
    with ui.silent():
        ui.markdown("never on screen")
        with ui.expander("hidden box") as hidden:
            hidden.write("hidden inside")
    ui.balloons()
    ui.snow()


def _records(store: MemoryLogStore, session: str) -> list[dict[str, Any]]:
    return [dict(r.data) for r in store.read(FRONTEND, session)]


def test_replaying_a_screen_repeats_every_event_that_was_shown() -> None:
    store = MemoryLogStore()
    original, _ = _terminal(store, "run")
    _show_everything(original)
    again, out = _terminal(store, "replay")

    shown = replay_session_screen(store, "run", again)

    logged = _records(store, "run")
    visible = [e for e in logged if not e.get("silent")]
    assert _records(store, "replay") == visible
    assert shown == len([e for e in visible if e.get("phase") != "end"])
    text = out.getvalue()
    for fragment in ("hello 42", "Title", "print(1)", "bad thing", "✔ inner step", "✘ failing"):
        assert fragment in text
    assert "never on screen" not in text


def test_silent_events_are_replayed_only_when_asked() -> None:
    store = MemoryLogStore()
    original, _ = _terminal(store, "run")
    _show_everything(original)
    again, out = _terminal(store, "replay")

    replay_screen(_records(store, "run"), again, include_silent=True)

    strip = [{k: v for k, v in e.items() if k != "silent"} for e in _records(store, "run")]
    assert _records(store, "replay") == strip
    assert "never on screen" in out.getvalue()


def test_containers_left_open_by_a_stopped_run_are_closed_and_unknown_events_skipped() -> None:
    events = [
        {"event": "expander", "path": [], "title": "outer", "expanded": False, "phase": "start"},
        {"event": "status", "path": ["outer"], "title": "step", "phase": "start"},
        {"event": "markdown", "path": ["outer", "step"], "text": "inside"},
        {"event": "hologram", "path": ["outer", "step"], "text": "from a newer version"},
        {"event": "expander", "path": [], "title": "stray end", "phase": "end"},
    ]
    store = MemoryLogStore()
    again, _ = _terminal(store, "replay")

    assert replay_screen(events, again) == 3

    assert [(e["event"], e.get("phase"), e["path"]) for e in _records(store, "replay")] == [
        ("expander", "start", []),
        ("status", "start", ["outer"]),
        ("markdown", None, ["outer", "step"]),
        ("status", "end", ["outer"]),
        ("expander", "end", []),
    ]
    assert replay_screen(events, NullFrontend()) == 3
