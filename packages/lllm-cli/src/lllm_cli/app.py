"""The `lllm` command line (placeholder until the CLI issue lands)."""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the `lllm` command."""
    from lllm_cli import __version__

    print(f"lllm {__version__}")
    sys.exit(0)
