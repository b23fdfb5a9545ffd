"""Importing any part of LLLM configures no logging: that is the composition root's job."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, logging, pkgutil, sys
import structlog
import lllm_domain, lllm_adapters, lllm_cli

for package in (lllm_domain, lllm_adapters, lllm_cli):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print(structlog.is_configured(), len(logging.getLogger().handlers), len(sys.modules) > 100)
"""


def test_importing_every_module_configures_no_logging() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "0", "True"]
