"""The README's main job, run as written from a "clone" folder, leaves the project where the
user finds it (./lllm-demo/demo), and every follow-up command it prints works when pasted into
the user's own shell — where `lllm` is not on PATH (it lives in the workspace's virtual
environment, reached only through `uv run`) and the current folder is the clone, not the
project."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli_runner import clean_env

README = Path(__file__).resolve().parents[3] / "README.md"
VENV_BIN = Path(sys.executable).parent


def main_job() -> str:
    """The shell command `uv run --frozen` runs in the README's main job."""
    text = README.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("python3 -m pip install uv && "))
    prefix = "python3 -m pip install uv && python3 -m uv run --frozen "
    assert line.startswith(prefix), line
    return line[len(prefix) :]


def _path_without_venv() -> str:
    return os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != VENV_BIN
    )


def as_uv_run(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the main job's command as `uv run` would: the workspace's environment first on
    PATH, with uv's own variables set."""
    env = clean_env(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{_path_without_venv()}",
            "VIRTUAL_ENV": str(VENV_BIN.parent),
            "UV_RUN_RECURSION_DEPTH": "1",
        }
    )
    return subprocess.run(
        ["sh", "-c", main_job()],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def in_users_shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a printed command as pasted into the user's shell (no `lllm` on PATH, no uv)."""
    env = {
        k: v
        for k, v in clean_env({"PATH": _path_without_venv()}).items()
        if not k.startswith("UV") and k != "VIRTUAL_ENV"
    }
    return subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def hints(output: str) -> dict[str, str]:
    found = {}
    for pattern, name in (
        (r"see them with: (.+)$", "show"),
        (r"replay it offline with: (.+)$", "replay"),
    ):
        match = re.search(pattern, output, flags=re.MULTILINE)
        if match:
            found[name] = match.group(1)
    return found


@pytest.fixture(scope="module")
def clone(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("clone")
    return folder, as_uv_run(folder)


def test_the_main_job_leaves_the_project_in_lllm_demo(
    clone: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, job = clone
    assert job.returncode == 0, job.stdout + job.stderr
    assert (folder / "lllm-demo" / "demo" / "lllm.toml").is_file()
    assert "[scripted model:" in job.stdout
    # `lllm` is really not on the user's PATH (else this test would prove nothing).
    assert in_users_shell("command -v lllm", folder).returncode != 0


@pytest.mark.parametrize("where", ["clone", "elsewhere"])
def test_every_printed_hint_works_as_printed_in_the_users_shell(
    clone: tuple[Path, subprocess.CompletedProcess[str]], where: str
) -> None:
    folder, job = clone
    cwd = folder
    if where == "elsewhere":
        cwd = folder / "elsewhere"
        cwd.mkdir(exist_ok=True)
    commands = hints(job.stdout)
    assert set(commands) == {"show", "replay"}, job.stdout
    shown = in_users_shell(commands["show"], cwd)
    assert shown.returncode == 0, commands["show"] + "\n" + shown.stderr
    assert "What" in shown.stdout or "words" in shown.stdout
    replayed = in_users_shell(commands["replay"], cwd)
    assert replayed.returncode == 0, commands["replay"] + "\n" + replayed.stderr
    assert "[replay of session" in replayed.stdout
    # The replay prints hints of its own; they work too.
    again = in_users_shell(hints(replayed.stdout)["show"], cwd)
    assert again.returncode == 0, again.stderr


def test_the_main_job_can_be_run_again(
    clone: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = clone
    again = as_uv_run(folder)
    assert again.returncode == 0, again.stdout + again.stderr
