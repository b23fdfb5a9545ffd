"""Session names never escape the log folder, and no secret from the environment reaches it."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from lllm_adapters.frontend import TerminalFrontend
from lllm_adapters.logs import FileLogStore, SQLiteLogStore, open_log_store, session_key
from lllm_adapters.observability import configure_logging, get_logger
from lllm_domain.dialog import Dialog
from lllm_domain.message import assistant_message, user_message
from lllm_domain.ports import LogStore
from rich.console import Console

HOSTILE = [
    "../../etc/passwd",
    "../outside",
    "/abs/path",
    "a/b/../../c",
    "..\\..\\windows",
    "nul\x00byte",
    "x" * 300,
    "..",
    ".",
    "",
    " ",
    "~",
    "$HOME",
    "con",
    "名前/with/slashes",
]


@pytest.mark.parametrize("kind", ["local", "sqlite"])
def test_hostile_session_names_stay_inside_log_dir(kind: str, tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    store = open_log_store(kind, log_dir)
    for name in HOSTILE:
        store.append("messages", name, {"name": name})
        store.append(name, name, {"name": name})  # collection names are data too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]
    for path in tmp_path.rglob("*"):
        assert path.resolve().is_relative_to(log_dir.resolve())
        assert len(path.name) <= 64
    assert not Path("/etc/passwd.json").exists()
    for name in HOSTILE:
        assert [r.data["name"] for r in store.read("messages", name)] == [name]
        assert [r.data["name"] for r in store.read(name, name)] == [name]
    assert sorted(store.sessions()) == sorted(set(HOSTILE))


def test_session_keys_are_safe_and_distinct() -> None:
    keys = {session_key(name) for name in HOSTILE}
    assert len(keys) == len(HOSTILE)
    for key in keys:
        assert "/" not in key and "\\" not in key and "\x00" not in key
        assert not key.startswith(".")
        assert len(key) <= 57
    assert session_key("run 1") != session_key("run_1")


SECRETS = {
    "OPENAI_API_KEY": "sk-proj-" + "A1b2C3d4" * 6,
    "FMP_TOKEN": "tok_0123456789abcdef",
    "MY_SERVICE_SECRET": "hunter2-but-longer!",
    "weird_key": 'quote"and\\backslash-xyz',
}


def _stores(log_dir: Path) -> list[LogStore]:
    return [FileLogStore(log_dir / "files"), SQLiteLogStore(log_dir / "db.sqlite3")]


def test_no_environment_secret_reaches_any_file_under_log_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    log_dir = tmp_path / "logs"
    for store in _stores(log_dir):
        for name, value in SECRETS.items():
            session = f"task with {value}"
            dialog = Dialog(session=session, log=store, agent_name="agent")
            dialog.append(user_message(f"my key is {value}, the env var is {name}"))
            dialog.append(
                assistant_message(
                    "ok", model_args={"api_key": value}, extra={"headers": {"Authorization": value}}
                )
            )
            store.append(
                "calls",
                session,
                {"request": {"headers": {"Authorization": f"Bearer {value}"}}, "text": value},
            )
            frontend = TerminalFrontend(Console(file=io.StringIO()), log=store, session=session)
            frontend.write(f"using {value}")
            frontend.code(f"KEY = {value!r}", "python")
            with frontend.expander(value):
                frontend.error(value)
        close = getattr(store, "close", None)
        if close is not None:
            close()
    files = [p for p in log_dir.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        raw = path.read_bytes()
        for value in SECRETS.values():
            assert value.encode() not in raw, f"{path} holds a secret"
            assert value.encode("utf-16-le") not in raw
        assert b"sk-proj-" not in raw


def test_framework_log_lines_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    for renderer in ("json", "console"):
        out = io.StringIO()
        configure_logging(renderer=renderer, stream=out)  # type: ignore[arg-type]
        log = get_logger("test")
        log.info(
            "calling",
            url="https://api.example.com",
            key=SECRETS["OPENAI_API_KEY"],
            headers={"Authorization": "Basic dXNlcjpwYXNz"},
            note=f"token {SECRETS['FMP_TOKEN']} in text",
        )
        try:
            raise RuntimeError(f"failed with {SECRETS['MY_SERVICE_SECRET']}")
        except RuntimeError:
            log.exception("boom")
        text = out.getvalue()
        assert "calling" in text and "api.example.com" in text
        assert "RuntimeError" in text
        for value in SECRETS.values():
            assert value not in text
        assert "dXNlcjpwYXNz" not in text
    assert os.environ["FMP_TOKEN"] == SECRETS["FMP_TOKEN"]  # redaction never touches the env


def test_a_damaged_record_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    from lllm_adapters.logs import LogStoreError

    store = FileLogStore(tmp_path)
    store.append("messages", "s", {"n": 1})
    store.append("messages", "s", {"n": 2})
    (record,) = [p for p in tmp_path.rglob("*.json") if p.name.endswith("1.json")]
    record.write_bytes(record.read_bytes()[:10])  # damaged outside LLLM (disk, hand edit)
    with pytest.raises(LogStoreError, match=re.escape(record.name)):
        store.read("messages", "s")
    (name_file,) = tmp_path.rglob("_session.json")
    name_file.write_bytes(b"")
    with pytest.raises(LogStoreError, match=r"_session\.json is damaged"):
        store.sessions()
