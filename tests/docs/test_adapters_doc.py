"""docs/adapters.md: its example adapters type-check under ``mypy --strict``.

(The page's blocks also run, against the fake OpenAI server, in ``test_doc_blocks.py``.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.docs.doc_blocks import Block, parse

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "adapters.md"


def page_module() -> str:
    """The page's Python blocks, in order, as one module (as they run: one namespace)."""
    blocks = [
        item
        for item in parse(PAGE)
        if isinstance(item, Block) and item.is_python and item.marker not in ("fragment", "skip")
    ]
    return "\n\n".join(block.code for block in blocks)


def test_the_adapters_page_has_the_two_adapters() -> None:
    """The page builds a caller and a log store (and the type check below sees them)."""
    source = page_module()
    assert "class UrllibCaller" in source
    assert "class SQLiteRecords" in source


def test_the_adapters_page_type_checks_strictly(tmp_path: Path) -> None:
    """``mypy --strict`` finds nothing in the page's code."""
    module = tmp_path / "adapters_page.py"
    module.write_text(page_module(), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-error-summary",
            str(module),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, f"mypy --strict on docs/adapters.md:\n{done.stdout}{done.stderr}"
