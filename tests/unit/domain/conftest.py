"""Fixtures for the domain unit tests."""

from __future__ import annotations

import pytest
from lllm_domain.testing import CountingIds, FakeClock

from tests.support.memory_log import MemoryLogStore


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock whose sleeps are recorded and instant."""
    return FakeClock()


@pytest.fixture
def ids() -> CountingIds:
    """Deterministic ids."""
    return CountingIds("t")


@pytest.fixture
def log_store() -> MemoryLogStore:
    """An empty in-memory log store."""
    return MemoryLogStore()
