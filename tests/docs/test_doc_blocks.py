"""Every Python block of the README and docs/*.md runs, chained per file as a reader would.

Each file runs in its own interpreter and temporary folder (``tests.docs.doc_blocks``), so
registries, logging configuration and environment variables a doc changes stay with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from tests.docs.doc_blocks import Block, DocBlockError, parse, run

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "LLLM_CONFIG",
    "LLLM_DEBUG",
)


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_doc_blocks_run(doc: Path, tmp_path: Path) -> None:
    """The file's Python blocks run in order, offline, in one namespace."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.docs.doc_blocks", str(doc)],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, f"{doc.name}: a block failed\n{done.stdout}\n{done.stderr}"


def test_every_python_block_is_run_or_says_why() -> None:
    """A Python block that does not run carries a marker with its reason."""
    for doc in DOCS:
        for item in parse(doc):
            if isinstance(item, Block) and item.is_python and item.marker in ("fragment", "skip"):
                assert item.argument, f"{item.where}: {item.marker} without a reason"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_blocks_share_one_namespace_and_fragments_do_not_run(tmp_path: Path) -> None:
    """Later blocks see earlier names; a fragment is only compiled."""
    doc = _write(
        tmp_path,
        "```python\nx = 2\n```\n\n<!-- fragment: a method body -->\n```python\n"
        "raise SystemExit(self)\n```\n\n- item\n\n  ```python\n  assert x == 2\n  ```\n",
    )
    work = tmp_path / "work"
    work.mkdir()
    assert run(doc, work) == 2


def test_a_failing_block_is_reported_at_its_markdown_line(tmp_path: Path) -> None:
    """The traceback names the Markdown file and the line inside it."""
    doc = _write(tmp_path, "# title\n\n```python\nok = 1\nundefined_name\n```\n")
    with pytest.raises(NameError) as info:
        run(doc, tmp_path)
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(info.tb)]
    assert (str(doc), 5) in frames


def test_a_fragment_with_a_syntax_error_fails(tmp_path: Path) -> None:
    """Fragments are compiled, so their syntax cannot drift."""
    doc = _write(tmp_path, "<!-- fragment: a piece -->\n```python\ndef f(:\n```\n")
    with pytest.raises(SyntaxError):
        run(doc, tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- fragment -->\n```python\nx\n```\n", "needs a reason"),
        ("<!-- fragmnt: typo -->\n```python\nx\n```\n", "unknown doc-block marker 'fragmnt'"),
        ("<!-- skip: why -->\n\nSome text.\n\n```python\nx\n```\n", "right before a fence"),
        ("text\n\n<!-- skip: why -->\n", "has no block after it"),
    ],
)
def test_bad_markers_are_errors(tmp_path: Path, text: str, message: str) -> None:
    """A marker that names nothing, or is misspelt, fails instead of being ignored."""
    with pytest.raises(DocBlockError, match=message):
        parse(_write(tmp_path, text))


def test_file_marker_writes_the_block_for_later_blocks(tmp_path: Path) -> None:
    """``file:`` saves a non-Python block where the next blocks read it."""
    doc = _write(
        tmp_path,
        "<!-- file: conf/a.yaml -->\n```yaml\nname: a\n```\n\n"
        "```python\nfrom pathlib import Path\n"
        "assert Path('conf/a.yaml').read_text() == 'name: a\\n'\n```\n",
    )
    work = tmp_path / "work"
    work.mkdir()
    assert run(doc, work) == 1


def test_blocks_cannot_reach_the_network(tmp_path: Path) -> None:
    """A block that tries to resolve a remote host fails."""
    doc = _write(
        tmp_path, "```python\nimport socket\nsocket.getaddrinfo('example.com', 443)\n```\n"
    )
    with pytest.raises(OSError, match="may not reach the network"):
        run(doc, tmp_path)
