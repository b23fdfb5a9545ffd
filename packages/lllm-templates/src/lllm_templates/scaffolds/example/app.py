"""A Streamlit app for the __project_name__ example: type a task, watch the system work.

Start it from this folder (Streamlit comes with the `streamlit` extra of lllm-adapters):

    pip install "lllm-adapters[streamlit]"
    streamlit run app.py

Without OPENAI_API_KEY it uses LLLM's offline scripted model (the sidebar switch). The system
writes its progress to `self.stream`, here a StreamlitFrontend: every event it shows is also
logged, so `lllm logs show <session>` lists what the app showed beside the dialogs, and the
sidebar's "Replay" shows a logged session's screen again.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import streamlit as st
from lllm_adapters.frontend.streamlit import StreamlitFrontend
from lllm_cli.composition import ModelChoice, make_runtime, open_logs
from lllm_cli.project import open_project
from lllm_cli.scripted_model import LABEL
from lllm_domain import AsyncSystem, LLLMError, build_system
from lllm_domain.screen_replay import replay_session_screen

ROOT = Path(__file__).resolve().parent


def run_system(task: str, *, scripted: bool) -> str:
    """Run the project's system on ``task``, showing its progress here; return the session."""
    project = open_project(ROOT)
    project.import_system_module()
    config = project.load_system_config()
    store = open_logs(project, config)
    prefix = config.extra.get("experiment_id") or config.name
    session = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
    frontend = StreamlitFrontend(log=store, session=session)
    runtime = make_runtime(
        project,
        config,
        ModelChoice(scripted=scripted),
        want_async=True,
        log_store=store,
        frontend=frontend,
        session=session,
    )
    system = build_system(config, str(ROOT / config.ckpt_dir), runtime=runtime)
    assert isinstance(system, AsyncSystem)

    # The analyst's reply as it streams in, in a slot made when the first text arrives.
    slot: list[Any] = []
    streamed: list[str] = []

    def on_delta(text: str) -> None:
        if not slot:
            slot.append(st.empty())
        streamed.append(text)
        slot[0].code("".join(streamed).strip(), language=None, wrap_lines=True)

    report = asyncio.run(system.acall(task, session=session, on_delta=on_delta))
    with frontend.expander("Report", expanded=True) as box:
        box.code(json.dumps(report, indent=2, ensure_ascii=False), "json")
    frontend.balloons()
    return session


def replay(session: str) -> None:
    """Show what the app showed during ``session`` again (from the log store)."""
    project = open_project(ROOT)
    store = open_logs(project, project.load_system_config())
    if store is None:
        st.error("the system config turns logging off (log_type: none): nothing to replay")
        return
    st.subheader(f"Replay of {session}")
    replay_session_screen(store, session, StreamlitFrontend())


def logged_sessions() -> list[str]:
    """The sessions in the project's log store, newest first (their names carry the time;
    none when logging is off)."""
    try:
        project = open_project(ROOT)
        store = open_logs(project, project.load_system_config())
    except LLLMError:
        return []
    return list(reversed(store.sessions())) if store is not None else []


st.set_page_config(page_title="__project_name__")
st.title("__project_name__")
st.caption(
    "An LLLM example system: an analyst answers in XML tags with a tool, a summarizer turns "
    "its analysis into structured output."
)
scripted = st.sidebar.toggle(
    "Offline scripted model",
    value=not os.environ.get("OPENAI_API_KEY"),
    help="LLLM's built-in scripted replies (no API key, no cost), not a real LLM.",
)
sessions = logged_sessions()
chosen = st.sidebar.selectbox(
    "Logged session", sessions, index=None, placeholder="none chosen", key="replay_session"
)
replay_clicked = st.sidebar.button("Replay", disabled=chosen is None)
task = st.text_input("Task", value="How many words are in this sentence?")
run_clicked = st.button("Run", type="primary", disabled=not task.strip())
if replay_clicked and chosen is not None:
    replay(chosen)
elif run_clicked:
    if scripted:
        st.info(LABEL)
    try:
        session = run_system(task, scripted=scripted)
    except LLLMError as exc:
        st.error(str(exc))
    else:
        st.success(f"Logged as session {session}: see it with `lllm logs show {session}`")
