"""Kernel launch options against a real ipykernel: the memory limit, and a kernel reached through
its connection file (as a remote or containerised kernel would be)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lllm_adapters.jupyter import JupyterSession, KernelLaunch
from lllm_domain.sandbox import RunStatus

from tests.support.external_kernel import external_kernel as start_external_kernel


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_memory_limit_turns_a_huge_allocation_into_memory_error(tmp_path: Path) -> None:
    launch = KernelLaunch(memory_limit=1024**3)
    with JupyterSession(tmp_path / "limited", launch=launch) as session:
        limit = session.run_code("import resource\nresource.getrlimit(resource.RLIMIT_AS)[0]")
        assert limit.text() == f"{1024**3}\n"
        big = session.run_code("blob = bytearray(2 * 1024**3)")
        assert big.status is RunStatus.ERROR
        assert big.error_output is not None and big.error_output.ename == "MemoryError"
        assert session.run_code("1 + 1").text() == "2\n"


@pytest.fixture
def external_kernel(tmp_path: Path) -> Iterator[str]:
    """A kernel someone else started; yields its connection file."""
    with start_external_kernel(tmp_path) as connection_file:
        yield connection_file


def test_a_kernel_reached_through_its_connection_file(tmp_path: Path, external_kernel: str) -> None:
    launch = KernelLaunch(connection_file=external_kernel, interrupt_grace=3.0)
    session = JupyterSession(tmp_path / "remote", launch=launch)
    try:
        session.run_code("shared = 21")
        assert session.run_code("shared * 2").text() == "42\n"
        stuck = session.run_code("while True: pass", timeout=1.0)
        assert stuck.status is RunStatus.TIMEOUT and not stuck.kernel_restarted
        assert session.run_code("shared").text() == "21\n"
        session.restart()  # not our process: a restart clears the namespace instead
        assert session.run_code("'shared' in dir()").text() == "False\n"
    finally:
        session.shutdown()


def test_the_kernel_does_not_inherit_secrets_unless_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-never-in-a-kernel-000000")
    monkeypatch.setenv("SERVICE_TOKEN", "token-never-in-a-kernel")
    monkeypatch.setenv("FMP_API_KEY", "fmp-kept-for-the-proxy")
    monkeypatch.setenv("LLLM_HARMLESS", "visible")
    launch = KernelLaunch(keep_secrets=("FMP_API_KEY",))
    with JupyterSession(tmp_path / "secrets", launch=launch) as session:
        seen = session.run_code(
            "import os\n"
            "[os.environ.get(n) for n in "
            "('OPENAI_API_KEY', 'SERVICE_TOKEN', 'FMP_API_KEY', 'LLLM_HARMLESS')]"
        )
        # The kept key is there for the proxy, but never printed into the notebook.
        assert seen.text() == "[None, None, '[REDACTED]', 'visible']\n"
        kept = session.run_code("os.environ['FMP_API_KEY'] == 'fmp-kept-for-the-proxy'")
        assert kept.text() == "True\n"
