"""Jupyter kernels against a hostile cell and a tight memory limit: no secret the redactor knows
reaches the kernel's environment, the notebook or the model; IPython keeps nothing in the user's
home; a kernel starts under a 256 MiB limit and a limit too small to start is refused up front."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lllm_adapters.jupyter import (
    MIN_MEMORY_LIMIT,
    AsyncJupyterSandbox,
    JupyterSession,
    KernelLaunch,
)
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import RunStatus

MiB = 1024**2

SECRETS = {
    "OPENWEATHER_API_KEY": "owm-0123456789abcdef",
    # The same key under a name no filter recognises: dropped for its value.
    "OPENWEATHER_APPID": "owm-0123456789abcdef",
    "DATABASE_URL": "postgres://app:db-pass-0123456789@localhost/app",
    "DB_PASSWORD": "db-pass-0123456789",
    "FMP_API_KEY": "fmp-kept-for-the-proxy-42",  # kept: the kernel needs it, output hides it
    "OPENAI_API_KEY": "sk-proj-" + "A1b2C3d4" * 6,
}

# Run in a fresh interpreter so the secrets are in the environment it was started with: that is
# what /proc/<ppid>/environ shows a cell (changes to os.environ after start-up are not there).
# The sync and the async session each read the parent's environment into a cell, once directly
# and once through the code-execution tool, and report what the model and the kernel saw.
_SCENARIO = r"""
import asyncio, json, sys
from pathlib import Path
from lllm_adapters.jupyter import AsyncJupyterSession, JupyterSession, KernelLaunch
from lllm_domain.message import FunctionCall
from lllm_domain.sandbox import async_code_execution_tool, code_execution_tool

root = Path(sys.argv[1])
launch = KernelLaunch(keep_secrets=("FMP_API_KEY",))
READ = "import os\nprint(open(f'/proc/{os.getppid()}/environ', 'rb').read().decode())"
# Written to file descriptor 1 by another process: ipykernel also echoes it to .kernel.log (and
# forwards it to the notebook from a thread, maybe after the cell has finished).
CAT = "import os\nos.system(f'cat /proc/{os.getppid()}/environ; echo')"
ENV = (
    "import os\n"
    "print(sorted(n for n in ('OPENWEATHER_API_KEY', 'OPENWEATHER_APPID', 'DATABASE_URL',"
    " 'DB_PASSWORD', 'FMP_API_KEY', 'OPENAI_API_KEY') if n in os.environ))"
)
seen = {}
with JupyterSession(root / "sync", launch=launch) as session:
    tool = code_execution_tool(session)
    done = tool.invoke(FunctionCall(id="c", name=tool.name, arguments={"code": READ}))
    seen["sync"] = [
        session.run_code(READ).text(),
        done.result_text,
        session.run_code(ENV).text(),
        session.run_code(CAT).text(),
    ]

async def run_async():
    async with AsyncJupyterSession(root / "async", launch=launch) as session:
        tool = async_code_execution_tool(session)
        done = await tool.ainvoke(FunctionCall(id="c", name=tool.name, arguments={"code": READ}))
        read = await session.run_code(READ)
        env = await session.run_code(ENV)
        cat = await session.run_code(CAT)
        seen["async"] = [read.text(), done.result_text, env.text(), cat.text()]

asyncio.run(run_async())
print(json.dumps(seen))
"""


def test_no_secret_reaches_the_kernel_env_the_notebook_or_the_model(tmp_path: Path) -> None:
    env = {**os.environ, **SECRETS, "HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _SCENARIO, str(tmp_path / "sessions")],
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    for kind in ("sync", "async"):
        read, tool_text, names, cat = seen[kind]
        assert "HOME=" in read and "[REDACTED]" in read  # the cell did read the environment
        assert tool_text.startswith("[cell ") and "[REDACTED]" in tool_text
        # Only the kept key reaches the kernel; the same key under another name, a URL holding
        # a password and the password itself do not.
        assert names == "['FMP_API_KEY']\n"
        for value in SECRETS.values():
            assert value not in read and value not in tool_text and value not in cat
    # Nothing written in the session folders holds a secret either: notebooks, kernel logs.
    written = [p for p in (tmp_path / "sessions").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"notebook.ipynb", ".kernel.log"}
    assert b"HOME=" in (tmp_path / "sessions" / "sync" / ".kernel.log").read_bytes()
    for path in written:
        raw = path.read_bytes()
        for value in SECRETS.values():
            assert value.encode() not in raw, f"{path} holds a secret"


def test_ipython_keeps_nothing_in_the_users_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("IPYTHONDIR", raising=False)
    with JupyterSession(tmp_path / "s") as session:
        session.run_code("x = 'a cell the history would keep'")
        where = session.run_code(
            "import IPython\n"
            "hm = get_ipython().history_manager\n"
            "print(IPython.paths.get_ipython_dir(), hm.enabled)"
        )
        ipython_dir, enabled = where.text().split()
    assert Path(ipython_dir).is_relative_to(session.folder)
    assert enabled == "False"  # history is off: the notebook already keeps every cell
    assert not (home / ".ipython").exists()
    assert not list(session.folder.rglob("history.sqlite"))


def test_a_memory_limit_too_small_to_start_a_kernel_is_refused_up_front() -> None:
    with pytest.raises(SandboxError, match=r"at least 134217728 bytes \(128 MiB\)"):
        KernelLaunch(memory_limit=64 * MiB)
    with pytest.raises(SandboxError, match="memory_limit"):
        KernelLaunch(memory_limit=0)
    assert 128 * MiB == MIN_MEMORY_LIMIT
    KernelLaunch(memory_limit=MIN_MEMORY_LIMIT)  # the minimum itself is fine


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_ten_kernels_start_under_256_mib_and_a_huge_allocation_is_a_memory_error(
    tmp_path: Path,
) -> None:
    launch = KernelLaunch(memory_limit=256 * MiB, startup_timeout=90)

    async def scenario() -> None:
        async with AsyncJupyterSandbox(tmp_path, launch=launch) as sandbox:
            sessions = [sandbox.create_session(f"k{i}") for i in range(10)]
            results = await asyncio.gather(*(s.run_code("6 * 7") for s in sessions))
            assert [r.text() for r in results] == ["42\n"] * 10
            session = sessions[0]
            at_once = await session.run_code("blob = bytearray(4 * 1024**3)")
            assert at_once.status is RunStatus.ERROR
            assert at_once.error_output is not None
            assert at_once.error_output.ename == "MemoryError"
            bit_by_bit = await session.run_code("blobs = [bytearray(2**20) for _ in range(4096)]")
            assert bit_by_bit.status is RunStatus.ERROR
            assert bit_by_bit.error_output is not None
            assert bit_by_bit.error_output.ename == "MemoryError"
            after = await session.run_code("6 * 7")  # the same kernel, still usable
            assert after.text() == "42\n" and not after.kernel_restarted

    asyncio.run(scenario())
