"""The terminal frontend renders with rich and logs every event to the frontend collection."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lllm_adapters.frontend import FRONTEND, TerminalFrontend
from lllm_adapters.observability import Redactor
from lllm_domain.ports import Frontend
from rich.console import Console

from tests.support.logs_stores import make_store


def test_every_event_is_shown_and_logged(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    out = io.StringIO()
    ui: Frontend = TerminalFrontend(Console(file=out, width=80), log=store, session="s")
    ui.write("hello", 42)
    ui.markdown("# Title")
    ui.code("print(1)", "python")
    ui.divider()
    ui.progress(1.5, "almost")
    with ui.spinner("thinking"):
        pass
    with ui.expander("details", expanded=True) as inner:
        inner.error("bad thing")
    with pytest.raises(RuntimeError), ui.spinner("failing"):
        raise RuntimeError("boom")
    text = out.getvalue()
    for fragment in ("hello 42", "Title", "print(1)", "almost", "details", "bad thing"):
        assert fragment in text
    events = [r.data for r in store.read(FRONTEND, "s")]
    assert [e["event"] for e in events] == [
        "write", "markdown", "code", "divider", "progress", "spinner", "spinner",
        "expander", "error", "expander", "spinner", "spinner",
    ]  # fmt: skip
    assert events[4]["fraction"] == 1.0
    assert events[8]["path"] == ["details"]
    assert events[6]["ok"] is True and events[-1]["ok"] is False


def test_status_and_celebrations_are_shown_and_logged(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    out = io.StringIO()
    ui: Frontend = TerminalFrontend(Console(file=out, width=80), log=store, session="s")
    with ui.status("step one") as step:
        step.code("x = 1")
    with pytest.raises(RuntimeError), ui.status("step two"):
        raise RuntimeError("boom")
    ui.balloons()
    ui.snow()
    text = out.getvalue()
    for fragment in ("… step one", "  x = 1", "✔ step one", "✘ step two", "🎈", "❄"):
        assert fragment in text
    events = [r.data for r in store.read(FRONTEND, "s")]
    assert [(e["event"], e.get("phase"), e.get("ok")) for e in events] == [
        ("status", "start", None), ("code", None, None), ("status", "end", True),
        ("status", "start", None), ("status", "end", False), ("balloons", None, None),
        ("snow", None, None),
    ]  # fmt: skip
    assert events[1]["path"] == ["step one"]


def test_silent_renders_nothing_but_logs_every_event(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    out = io.StringIO()
    ui: Frontend = TerminalFrontend(Console(file=out, width=80), log=store, session="s")
    ui.write("before")
    with ui.silent():
        ui.markdown("hidden")
        with ui.expander("box") as inner, ui.spinner("hidden spinner"):
            inner.write("hidden inside")
        ui.balloons()
    with ui.expander("shown box") as inner, inner.silent():
        ui.write("silenced through the nested section")
    ui.write("after")
    text = out.getvalue()
    assert "before" in text and "after" in text and "shown box" in text
    for hidden in ("hidden", "▸ box", "🎈", "silenced"):
        assert hidden not in text
    events = [r.data for r in store.read(FRONTEND, "s")]
    assert [e.get("text") or e.get("title") for e in events if e.get("silent")] == [
        "hidden", "box", "hidden spinner", "hidden inside", "hidden spinner", "box", None,
        "silenced through the nested section",
    ]  # fmt: skip
    assert [e.get("text") or e.get("title") for e in events if not e.get("silent")] == [
        "before", "shown box", "shown box", "after",
    ]  # fmt: skip


def test_redactor_hides_patterns_and_environment_values() -> None:
    redactor = Redactor.from_environment({"A_KEY": "abcdefgh12", "SHORT_TOKEN": "1", "HOME": "/x"})
    assert redactor.secrets == ("abcdefgh12",)
    assert "abcdefgh12" not in repr(redactor)
    text = "key abcdefgh12, sk-" + "x" * 20 + " Authorization: Basic Zm9vOmJhcg== ok 1"
    assert redactor.redact_text(text) == (
        "key [REDACTED], [REDACTED] Authorization: [REDACTED] ok 1"
    )
    assert redactor.redact({"api_key": "v", "n": 1, "list": ["abcdefgh12"]}) == {
        "api_key": "[REDACTED]",
        "n": 1,
        "list": ["[REDACTED]"],
    }
    assert redactor.redact_json(b'{"SERVICE_TOKEN":"zzz","access_token":"y","plain":"fine"}') == (
        b'{"SERVICE_TOKEN":"[REDACTED]","access_token":"[REDACTED]","plain":"fine"}'
    )


def test_redaction_keeps_ordinary_data_that_merely_looks_sensitive() -> None:
    """Regression: every *_key / *_token value and the word after "Authorization" were
    replaced, silently altering parsed payloads and transcripts in the logs."""
    redactor = Redactor.from_environment({})
    data = {
        "parsed": {"sort_key": "date", "page_token": "abc123", "token": "Paris"},
        "content": "Authorization: required for this endpoint",
    }
    assert redactor.redact(data) == data
    assert redactor.redact_json(b'{"sort_key":"date","page_token":"abc"}') == (
        b'{"sort_key":"date","page_token":"abc"}'
    )
    assert redactor.redact_text("Authorization: Bearer abcdefgh1234") == (
        "Authorization: [REDACTED]"
    )


def test_stored_documents_hide_every_sensitive_key_that_redact_hides() -> None:
    """Regression: ``passwd`` values were hidden by ``redact`` but stored as they were by
    ``redact_json`` (its quick check knew no hint for that key)."""
    redactor = Redactor.from_environment({})
    for key in ("passwd", "password", "api-key", "client_secret", "refresh_token", "DB_PASSWORD"):
        data = {key: "hunter2hunter2"}
        assert redactor.redact(data) == {key: "[REDACTED]"}, key
        document = f'{{"{key}": "hunter2hunter2"}}'.encode()
        assert b"hunter2" not in redactor.redact_json(document), key
