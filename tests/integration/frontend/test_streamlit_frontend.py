"""The Streamlit frontend, driven headless by Streamlit's own app-testing API (AppTest): what it
renders, and the frontend events it logs to a real SQLite store for replay."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lllm_adapters.frontend import FRONTEND
from lllm_adapters.logs import SQLiteLogStore
from lllm_domain.errors import MissingExtraError
from lllm_domain.replay import ReplaySession
from streamlit.testing.v1 import AppTest

from tests.support.cli_runner import clean_env

TIMEOUT = 60  # a generous guard: the first script run imports Streamlit's elements


def _run(app: Any, db: Path) -> AppTest:
    at = AppTest.from_function(app, kwargs={"db": str(db)}, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _events(db: Path, session: str = "s") -> list[dict[str, Any]]:
    return [dict(r.data) for r in SQLiteLogStore(db).read(FRONTEND, session)]


def every_event_app(db: str) -> None:
    from pathlib import Path

    from lllm_adapters.frontend import StreamlitFrontend
    from lllm_adapters.logs import SQLiteLogStore

    ui = StreamlitFrontend(log=SQLiteLogStore(Path(db)), session="s")
    ui.write("hello", 42)
    ui.markdown("**bold** text")
    ui.code("print(1)", "python")
    ui.error("bad thing")
    ui.divider()
    ui.progress(0.25, "a quarter")
    ui.progress(1.5, "done")
    with ui.spinner("thinking"):
        pass
    with ui.expander("details", expanded=True) as inner:
        inner.markdown("in the expander")
    with ui.status("step one") as step:
        step.code("x = 1")
    try:
        with ui.status("step two"):
            raise RuntimeError("the step failed")
    except RuntimeError:
        pass
    ui.balloons()
    ui.snow()


def test_every_event_is_rendered_in_the_app_and_logged(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite3"
    at = _run(every_event_app, db)

    assert [m.value for m in at.markdown] == ["hello `42`", "**bold** text", "in the expander"]
    assert [(c.value, c.language) for c in at.code] == [
        ("print(1)", "python"),
        ("x = 1", "plaintext"),
    ]
    assert [e.value for e in at.error] == ["bad thing"]
    assert len(at.divider) == 1
    # One bar, updated in place and clamped.
    assert [(p.value, p.proto.text) for p in at.progress] == [(100, "done")]
    (box,) = at.expander
    assert (box.label, box.proto.expanded) == ("details", True)
    assert [m.value for m in box.markdown] == ["in the expander"]
    assert [(s.label, s.state) for s in at.status] == [
        ("step one", "complete"),
        ("step two", "error"),
    ]
    assert [c.value for c in at.status[0].code] == ["x = 1"]
    assert [n.type for n in at.main if n.type in ("balloons", "snow")] == ["balloons", "snow"]

    events = _events(db)
    assert [(e["event"], e.get("phase")) for e in events] == [
        ("write", None), ("markdown", None), ("code", None), ("error", None), ("divider", None),
        ("progress", None), ("progress", None), ("spinner", "start"), ("spinner", "end"),
        ("expander", "start"), ("markdown", None), ("expander", "end"),
        ("status", "start"), ("code", None), ("status", "end"),
        ("status", "start"), ("status", "end"), ("balloons", None), ("snow", None),
    ]  # fmt: skip
    assert events[0]["text"] == "hello 42"
    assert events[6]["fraction"] == 1.0
    assert events[10] == {"event": "markdown", "path": ["details"], "text": "in the expander"}
    assert events[13]["path"] == ["step one"]
    assert (events[14]["ok"], events[16]["ok"]) == (True, False)
    assert not any("silent" in e for e in events)


def test_replay_shows_what_the_app_showed(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite3"
    _run(every_event_app, db)

    timeline = ReplaySession(SQLiteLogStore(db), "s").timeline()

    for line in (
        "[frontend] write: hello 42",
        "[frontend] markdown: in the expander",
        "[frontend] status: step one",
        "[frontend] balloons",
    ):
        assert line in timeline


def replay_app(db: str) -> None:
    from pathlib import Path

    from lllm_adapters.frontend import StreamlitFrontend
    from lllm_adapters.logs import SQLiteLogStore
    from lllm_domain.screen_replay import replay_session_screen

    replay_session_screen(SQLiteLogStore(Path(db)), "s", StreamlitFrontend())


def test_a_logged_screen_is_shown_again_in_a_streamlit_app(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite3"
    _run(every_event_app, db)

    at = _run(replay_app, db)

    # write() logged its objects as text, so the replay shows that text.
    assert [m.value for m in at.markdown] == ["hello 42", "**bold** text", "in the expander"]
    assert [(c.value, c.language) for c in at.code] == [
        ("print(1)", "python"),
        ("x = 1", "plaintext"),
    ]
    assert [e.value for e in at.error] == ["bad thing"]
    assert len(at.divider) == 1
    assert [(p.value, p.proto.text) for p in at.progress] == [(100, "done")]
    assert [(e.label, e.proto.expanded) for e in at.expander] == [("details", True)]
    assert [(s.label, s.state) for s in at.status] == [
        ("step one", "complete"),
        ("step two", "error"),
    ]
    assert [n.type for n in at.main if n.type in ("balloons", "snow")] == ["balloons", "snow"]


def silent_app(db: str) -> None:
    from pathlib import Path

    from lllm_adapters.frontend import StreamlitFrontend
    from lllm_adapters.logs import SQLiteLogStore

    ui = StreamlitFrontend(log=SQLiteLogStore(Path(db)), session="s")
    ui.markdown("before")
    with ui.silent():
        ui.markdown("hidden")
        ui.progress(0.5, "hidden progress")
        with ui.expander("hidden box") as inner:
            inner.write("hidden inside")
            with inner.silent():  # nests; the outer block still silences
                inner.code("x")
            inner.write("still hidden")
        with ui.status("hidden step"), ui.spinner("hidden spinner"):
            pass
        ui.balloons()
    ui.markdown("after")
    with ui.expander("shown box") as inner, inner.silent():
        ui.markdown("silenced through the nested container")  # one switch per screen
    ui.progress(1.0, "shown progress")


def test_silent_shows_nothing_but_logs_every_event(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite3"
    at = _run(silent_app, db)

    assert [m.value for m in at.markdown] == ["before", "after"]
    assert [e.label for e in at.expander] == ["shown box"]
    assert len(at.code) == len(at.status) == 0
    assert [p.proto.text for p in at.progress] == ["shown progress"]
    assert all(n.type != "balloons" for n in at.main)

    events = _events(db)
    silent = [(e["event"], e.get("text") or e.get("title")) for e in events if e.get("silent")]
    assert silent == [
        ("markdown", "hidden"), ("progress", "hidden progress"),
        ("expander", "hidden box"), ("write", "hidden inside"), ("code", "x"),
        ("write", "still hidden"), ("expander", "hidden box"),
        ("status", "hidden step"), ("spinner", "hidden spinner"), ("spinner", "hidden spinner"),
        ("status", "hidden step"), ("balloons", None),
        ("markdown", "silenced through the nested container"),
    ]  # fmt: skip
    shown = [e.get("text") or e.get("title") for e in events if not e.get("silent")]
    assert shown == ["before", "after", "shown box", "shown box", "shown progress"]


def sidebar_app(db: str) -> None:
    from pathlib import Path

    import streamlit as st
    from lllm_adapters.frontend import StreamlitFrontend
    from lllm_adapters.logs import SQLiteLogStore

    ui = StreamlitFrontend(st.sidebar, log=SQLiteLogStore(Path(db)), session="side")
    ui.markdown("in the sidebar")
    with ui.expander("more") as inner:
        inner.code("y = 2")


def test_a_given_container_is_where_it_renders(tmp_path: Path) -> None:
    db = tmp_path / "logs.sqlite3"
    at = _run(sidebar_app, db)

    assert [m.value for m in at.sidebar.markdown] == ["in the sidebar"]
    assert [c.value for c in at.sidebar.expander[0].code] == ["y = 2"]
    assert len(at.main.markdown) == 0
    assert [e["event"] for e in _events(db, "side")] == ["markdown", "expander", "code", "expander"]


def test_without_the_extra_the_import_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "streamlit", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "lllm_adapters.frontend.streamlit", raising=False)

    with pytest.raises(MissingExtraError) as info:
        importlib.import_module("lllm_adapters.frontend.streamlit")

    assert isinstance(info.value, ImportError)
    assert info.value.extra == "streamlit"
    assert 'pip install "lllm-adapters[streamlit]"' in str(info.value)
    assert "lllm_adapters.frontend.streamlit" in str(info.value)


def test_importing_the_adapters_and_the_cli_does_not_import_streamlit() -> None:
    code = (
        "import sys, lllm_adapters, lllm_cli, lllm_cli.app\n"
        "from lllm_adapters.frontend import TerminalFrontend\n"
        "assert lllm_adapters.TerminalFrontend is TerminalFrontend\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
        "from lllm_adapters import StreamlitFrontend\n"
        "print('streamlit' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), check=True
    )
    assert result.stdout.split() == ["[]", "True"]
