"""Record once, replay forever from the command line: every `lllm run` with a log store records
its model calls, and `lllm run --replay SESSION` re-runs the task from that recording alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.cli_runner import lllm

pytestmark = pytest.mark.slow

TASK = "What is 17 + 25?"


def _create(tmp_path: Path) -> Path:
    result = lllm("create", "demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "demo"


def _session(output: str) -> str:
    match = re.search(r"^session (\S+) ·", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def _result(output: str) -> str:
    return output.split("result:\n", 1)[1].split("\ncost:", 1)[0]


def _transcript(project: Path, session: str) -> str:
    """`lllm logs show SESSION` without what differs between runs by design: the session name,
    clock times and random dialog ids (numbered in order of appearance instead)."""
    shown = lllm("logs", "show", session, cwd=project)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.replace(session, "SESSION")
    text = re.sub(r"^\d\d:\d\d:\d\d  ", "", text, flags=re.MULTILINE)
    ids: dict[str, str] = {}
    return re.sub(r"\b[0-9a-f]{32}\b", lambda m: ids.setdefault(m[0], f"D{len(ids)}"), text)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A project with one session recorded with the scripted model: (project, session, out)."""
    project = _create(tmp_path_factory.mktemp("replay"))
    run = lllm("run", TASK, "--model", "scripted", cwd=project)
    assert run.returncode == 0, run.stderr
    session = _session(run.stdout)
    assert f"--replay {session}" in run.stdout  # the run says how to replay it
    return project, session, run.stdout


def test_replaying_the_same_task_gives_the_same_result_and_transcript(
    recorded: tuple[Path, str, str],
) -> None:
    project, session, original = recorded

    replay = lllm("run", TASK, "--replay", session, cwd=project)

    assert replay.returncode == 0, replay.stderr
    label = f"[replay of session {session}: answers come from the recording]"
    assert replay.stdout.startswith(label + "\n")
    assert replay.stdout.rstrip().endswith(label)
    assert "scripted model" not in replay.stdout  # the answers are the recording's, not a model's
    assert _result(replay.stdout) == _result(original)
    assert '"answer": "42.0"' in replay.stdout
    replayed = _session(replay.stdout)
    assert replayed != session
    assert _transcript(project, replayed) == _transcript(project, session)


def test_the_replay_needs_no_key_and_no_network(recorded: tuple[Path, str, str]) -> None:
    project, session, _ = recorded
    # A base URL nobody listens on: any model request would fail to connect.
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": ""}

    replay = lllm("run", TASK, "--replay", session, "--stream", cwd=project, env=env)

    assert replay.returncode == 0, replay.stderr
    assert "<answer>42.0</answer>" in replay.stdout  # the recorded text, streamed again


def test_a_replay_is_itself_recorded_and_replayable(recorded: tuple[Path, str, str]) -> None:
    project, session, _ = recorded
    first = lllm("run", TASK, "--replay", session, cwd=project)
    assert first.returncode == 0, first.stderr

    second = lllm("run", TASK, "--replay", _session(first.stdout), cwd=project)

    assert second.returncode == 0, second.stderr
    assert '"answer": "42.0"' in second.stdout


def test_a_changed_task_makes_the_replay_diverge(recorded: tuple[Path, str, str]) -> None:
    project, session, _ = recorded

    replay = lllm("run", "What is 17 + 26?", "--replay", session, cwd=project)

    assert replay.returncode == 2, replay.stdout + replay.stderr
    err = replay.stderr
    assert "Traceback" not in err
    assert err.startswith("lllm: error: replay diverged (agent 'assistant', turn ")
    assert "expected: user: 'What is 17 + 25?" in err
    assert "got:      user: 'What is 17 + 26?" in err
    assert "record the session again" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay", "no-such-session"], "no logged session 'no-such-session'"),
        (["--replay", "demo-20"], "did you mean"),
        (["--replay", "x", "--model", "scripted"], "drop --model"),
    ],
)
def test_replay_user_errors_exit_2_with_a_clear_message(
    recorded: tuple[Path, str, str], args: list[str], message: str
) -> None:
    project, _, _ = recorded

    result = lllm("run", TASK, *args, cwd=project)

    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_session_without_recorded_calls_says_so(recorded: tuple[Path, str, str]) -> None:
    project, _, _ = recorded
    # A session whose calls were not recorded (e.g. logged by an older lllm).
    bare = lllm("run", TASK, "--model", "scripted", "--session", "bare", cwd=project)
    assert bare.returncode == 0, bare.stderr
    import sqlite3

    # The template logs to SQLite: drop the session's recorded calls from its database.
    with sqlite3.connect(project / "logs" / "logs.sqlite3") as db:
        gone = db.execute(
            "DELETE FROM records WHERE collection = 'calls' AND session = 'bare'"
        ).rowcount
    assert gone > 0

    result = lllm("run", TASK, "--replay", "bare", cwd=project)

    assert result.returncode == 2
    assert "session 'bare' has no recorded model calls to replay" in result.stderr
