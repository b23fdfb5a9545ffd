"""Adapters log through structlog without importing it (and rich, pygments with it) up front."""

from __future__ import annotations

import subprocess
import sys

import structlog
from lllm_adapters.observability.lazy_logger import LazyLogger, get_logger

CHECK = """
import sys
import lllm_adapters.openai, lllm_adapters.logs, lllm_adapters.mcp, lllm_adapters.proxies
print(sorted({"structlog", "rich", "pygments"} & set(sys.modules)))
"""


def test_importing_the_callers_and_stores_imports_no_structlog() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_lazy_logger_logs_through_structlog_under_the_current_configuration() -> None:
    log = get_logger("lllm.test")
    assert isinstance(log, LazyLogger)
    assert repr(log) == "LazyLogger('lllm.test')"
    with structlog.testing.capture_logs() as captured:
        log.warning("test.event", server="alpha")
        log.info("test.other", n=2)
    assert captured == [
        {"event": "test.event", "server": "alpha", "log_level": "warning"},
        {"event": "test.other", "n": 2, "log_level": "info"},
    ]
