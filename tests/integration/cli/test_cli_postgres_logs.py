"""`log_type: postgres`: `lllm run` logs to a real PostgreSQL server and `lllm logs
list|show|cost|export` and `lllm run --replay` read from it; the connection string comes from
the config or $LLLM_POSTGRES_DSN and its password never shows (run in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_cli.app import run_cli
from psycopg import conninfo

from tests.support.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]

TASK = "What is 17 + 25?"


@pytest.fixture(autouse=True)
def _no_project_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LLLM_POSTGRES_DSN", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def _use_postgres(project: Path, log_dsn: str | None) -> None:
    config = project / "config" / project.name / "default.yaml"
    text = config.read_text(encoding="utf-8")
    assert "log_type: sqlite" in text
    text = text.replace("log_type: sqlite", "log_type: postgres", 1)
    if log_dsn is not None:
        text += f"log_dsn: {log_dsn}\n"
    config.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> tuple[Path, str, str]:
    """A project logging to its own schema via ${LLLM_POSTGRES_DSN}, with one recorded
    session: (project, session, the DSN)."""
    root = tmp_path_factory.mktemp("pgcli")
    assert run_cli(["create", "pgdemo", "--dir", str(root)]) == 0
    project = root / "pgdemo"
    _use_postgres(project, "${LLLM_POSTGRES_DSN}")
    dsn = postgres_server.schema_dsn(root)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LLLM_POSTGRES_DSN", dsn)
        args = ["run", TASK, "--model", "scripted", "--project", str(project)]
        assert run_cli([*args, "--session", "pg-one"]) == 0
    return project, "pg-one", dsn


def test_run_logs_to_postgres_and_logs_commands_read_it_back(
    project: tuple[Path, str, str],
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root, session, dsn = project
    monkeypatch.setenv("LLLM_POSTGRES_DSN", dsn)
    capsys.readouterr()
    assert not (root / "logs" / "logs.sqlite3").exists()  # nothing went to the SQLite default

    assert run_cli(["logs", "list", "--project", str(root)]) == 0
    assert session in capsys.readouterr().out

    assert run_cli(["logs", "show", session, "--project", str(root)]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"session {session}\n")
    assert "17 + 25" in shown

    assert run_cli(["logs", "cost", "--project", str(root)]) == 0
    assert "model scripted" in capsys.readouterr().out

    page = tmp_path / "page.html"
    assert run_cli(["logs", "export", session, "--html", str(page), "--project", str(root)]) == 0
    assert session in page.read_text(encoding="utf-8")

    args = ["run", TASK, "--replay", session, "--project", str(root), "--session", "pg-two"]
    assert run_cli(args) == 0
    replayed = capsys.readouterr()
    assert "answers come from the recording" in replayed.out
    assert '"answer": "42' in replayed.out
    assert run_cli(["logs", "list", "--project", str(root)]) == 0
    listed = capsys.readouterr().out
    assert "pg-one" in listed and "pg-two" in listed
    assert postgres_server.password not in shown + listed + replayed.out + replayed.err


def test_the_connection_string_may_come_from_the_config_itself(
    project: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, session, dsn = project
    config = root / "config" / root.name / "default.yaml"
    original = config.read_text(encoding="utf-8")
    try:
        config.write_text(original.replace("${LLLM_POSTGRES_DSN}", f'"{dsn}"'), encoding="utf-8")
        assert run_cli(["logs", "list", "--project", str(root)]) == 0
        assert session in capsys.readouterr().out
    finally:
        config.write_text(original, encoding="utf-8")


def test_a_missing_connection_string_says_what_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["create", "nodsn", "--dir", str(tmp_path)]) == 0
    project = tmp_path / "nodsn"
    _use_postgres(project, None)
    capsys.readouterr()
    code = run_cli(["run", TASK, "--model", "scripted", "--project", str(project)])
    err = capsys.readouterr().err
    assert code != 0
    assert "LLLM_POSTGRES_DSN" in err and "log_dsn" in err


def test_a_wrong_password_is_a_clear_error_that_never_shows_a_password(
    project: tuple[Path, str, str],
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _, dsn = project
    wrong = "not-the-password-" + "x" * 12
    monkeypatch.setenv("LLLM_POSTGRES_DSN", conninfo.make_conninfo(dsn, password=wrong))
    capsys.readouterr()
    assert run_cli(["logs", "list", "--project", str(root)]) != 0
    err = capsys.readouterr().err
    assert "cannot connect to the PostgreSQL log database" in err
    assert "password=***" in err and "LLLM_POSTGRES_DSN" in err
    assert wrong not in err and postgres_server.password not in err
