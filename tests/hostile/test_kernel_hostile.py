"""Jupyter kernels under a tight memory limit: a kernel starts under a 256 MiB limit, a huge
allocation is a MemoryError, and a limit too small to start is refused up front."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lllm_adapters.jupyter import MIN_MEMORY_LIMIT, AsyncJupyterSandbox, KernelLaunch
from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import RunStatus

MiB = 1024**2


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
