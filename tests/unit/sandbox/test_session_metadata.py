"""SessionMetadata lives with the Jupyter adapter and round-trips through the domain's cattrs
converter in the dict format saved notebooks hold; the domain's sandbox ports name no adapter
type."""

from __future__ import annotations

import datetime as dt
import inspect
import json
from pathlib import Path
from typing import Any, get_type_hints

from hypothesis import given
from hypothesis import strategies as st
from lllm_adapters.jupyter import AsyncJupyterSandbox, JupyterSandbox, SessionMetadata
from lllm_adapters.proxies import ProxySettings
from lllm_domain.sandbox import ports

# Exactly what SessionMetadata.to_dict() wrote before it moved out of the domain.
OLD_DICT: dict[str, Any] = {
    "project_root": "/proj",
    "proxies": ["finance/fmp"],
    "cutoff_date": "2024-01-01",
    "deploy_mode": True,
    "proxy_settings": {"use_cache": False, "base_urls": {"finance/fmp": "http://x"}},
    "proxy_runtime_factory": "tests.support.stub:make",
    "extra": {"owner": "ada", "tags": ["a", "b"]},
}


def test_an_old_dict_loads_and_is_written_back_the_same() -> None:
    md = SessionMetadata.from_dict(OLD_DICT)
    assert md == SessionMetadata(
        project_root="/proj",
        proxies=("finance/fmp",),
        cutoff_date="2024-01-01",
        deploy_mode=True,
        proxy_settings={"use_cache": False, "base_urls": {"finance/fmp": "http://x"}},
        proxy_runtime_factory="tests.support.stub:make",
        extra={"owner": "ada", "tags": ["a", "b"]},
    )
    assert md.to_dict() == OLD_DICT
    assert list(md.to_dict()) == list(OLD_DICT)


def test_older_dicts_load_unknown_keys_to_extra_and_nones_to_defaults() -> None:
    assert SessionMetadata.from_dict(None) == SessionMetadata()
    assert SessionMetadata.from_dict({}).to_dict() == {
        "project_root": None,
        "proxies": [],
        "cutoff_date": None,
        "deploy_mode": False,
        "proxy_settings": {},
        "proxy_runtime_factory": None,
        "extra": {},
    }
    md = SessionMetadata.from_dict(
        {"proxies": None, "deploy_mode": None, "extra": {"a": 1}, "legacy": 2}
    )
    assert md.proxies == () and md.deploy_mode is False
    assert md.extra == {"a": 1, "legacy": 2}


def test_metadata_for_proxy_settings_rebuilds_the_same_settings() -> None:
    settings = ProxySettings(activate=("a/b",), cutoff_date=dt.date(2024, 5, 1), use_cache=False)
    md = SessionMetadata.for_proxies(settings, project_root="/p")
    again = SessionMetadata.from_dict(json.loads(json.dumps(md.to_dict())))
    assert again == md
    assert ProxySettings.from_dict(again.runtime_settings()) == settings


@given(
    project_root=st.none() | st.text(max_size=10),
    proxies=st.lists(st.text("ab/", min_size=1, max_size=6), max_size=3).map(tuple),
    cutoff=st.none() | st.dates().map(dt.date.isoformat),
    deploy=st.booleans(),
    extra=st.dictionaries(st.text("xyz", min_size=1, max_size=4), st.integers(), max_size=3),
)
def test_round_trip_through_json(
    project_root: str | None,
    proxies: tuple[str, ...],
    cutoff: str | None,
    deploy: bool,
    extra: dict[str, int],
) -> None:
    md = SessionMetadata(
        project_root=project_root,
        proxies=proxies,
        cutoff_date=cutoff,
        deploy_mode=deploy,
        extra=extra,
    )
    assert SessionMetadata.from_dict(json.loads(json.dumps(md.to_dict()))) == md


def test_the_sandbox_ports_name_no_adapter_type() -> None:
    source = inspect.getsource(ports)
    assert "lllm_adapters" not in source.replace("``lllm_adapters.jupyter.SessionMetadata``", "")
    hints = get_type_hints(ports.Sandbox.create_session)
    assert "SessionMetadata" not in repr(hints["metadata"])
    # The adapter's value is what the port's metadata stands for: anything with to_dict().
    assert isinstance(SessionMetadata(), ports.SessionSpec)


def test_both_jupyter_sandboxes_satisfy_their_ports(tmp_path: Path) -> None:
    assert isinstance(JupyterSandbox(tmp_path / "s"), ports.Sandbox)
    assert isinstance(AsyncJupyterSandbox(tmp_path / "a"), ports.AsyncSandbox)
    assert inspect.iscoroutinefunction(AsyncJupyterSandbox.delete_session)


def test_a_manager_refuses_an_unknown_session_option_at_once(tmp_path: Path) -> None:
    for manager in (JupyterSandbox, AsyncJupyterSandbox):
        try:
            manager(tmp_path, timeout=3)  # type: ignore[call-arg]
        except TypeError as exc:
            assert "unknown options timeout" in str(exc)
            assert "default_timeout" in str(exc)
        else:
            raise AssertionError(f"{manager.__name__} took an unknown option")
    opened = JupyterSandbox(tmp_path, default_timeout=3, max_output_chars=10)
    session = opened.create_session("s")
    assert (session.default_timeout, session.max_output_chars) == (3, 10)
