"""The example template's Streamlit app, driven headless by AppTest with the scripted model: it
runs the example system through the Streamlit frontend and logs what it showed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lllm_adapters.frontend import FRONTEND
from lllm_adapters.logs import SQLITE_FILE, SQLiteLogStore
from lllm_cli.scaffold import create_project
from lllm_domain.replay import ReplaySession
from streamlit.testing.v1 import AppTest

TIMEOUT = 120  # a generous guard: the run discovers the project and imports its modules


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _session(at: AppTest) -> str:
    (success,) = at.success
    return success.value.split("session ", 1)[1].split(":", 1)[0]


def test_the_example_app_runs_the_system_with_the_scripted_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    project = create_project("demo", "example", tmp_path)

    at = AppTest.from_file(project / "app.py", default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == "demo"
    assert at.sidebar.toggle[0].value is True  # no key: the scripted model is preselected
    assert len(at.progress) == 0  # nothing runs before the button is pressed

    assert at.sidebar.selectbox[0].options == []  # no session logged yet
    at.text_input[0].set_value("count these four words")
    _button(at, "Run").click().run()

    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "scripted model" in at.info[0].value
    assert "**Experiment** demo-exp-001 · **task** count these four words" in [
        m.value for m in at.markdown
    ]
    assert [(p.value, p.proto.text) for p in at.progress] == [(100, "summary done")]
    streamed = at.code[0].value
    assert streamed.startswith("<analysis>") and "<answer>4 words</answer>" in streamed
    (report_box,) = at.expander
    assert report_box.label == "Report"
    report = json.loads(report_box.code[0].value)
    assert (report["answer"], report["title"]) == ("4 words", "Scripted summary")
    assert report["tools_used"] == ["word_count"]
    assert any(n.type == "balloons" for n in at.main)

    session = _session(at)
    store = SQLiteLogStore(project / "logs" / SQLITE_FILE)
    events = [dict(r.data) for r in store.read(FRONTEND, session)]
    assert [(e["event"], e.get("phase")) for e in events] == [
        ("markdown", None), ("spinner", "start"), ("spinner", "end"), ("progress", None),
        ("progress", None), ("expander", "start"), ("code", None), ("expander", "end"),
        ("balloons", None),
    ]  # fmt: skip
    timeline = ReplaySession(store, session).timeline()
    assert "[frontend] spinner: analyst is working" in timeline
    assert timeline.index("[frontend] spinner") < timeline.index("4 words</answer>")

    # A second run in the same app process (a Streamlit rerun) works the same way.
    at.text_input[0].set_value("two words")
    _button(at, "Run").click().run()
    assert not at.exception and not at.error
    assert json.loads(at.expander[0].code[0].value)["answer"] == "2 words"
    assert _session(at) != session

    # The sidebar replays the first session's screen from the log store.
    at.sidebar.selectbox[0].set_value(session).run()
    _button(at, "Replay").click().run()
    assert not at.exception and not at.error
    assert at.subheader[0].value == f"Replay of {session}"
    assert "**Experiment** demo-exp-001 · **task** count these four words" in [
        m.value for m in at.markdown
    ]
    assert [(p.value, p.proto.text) for p in at.progress] == [(100, "summary done")]
    assert json.loads(at.expander[0].code[0].value)["answer"] == "4 words"
    assert not at.success  # nothing ran
