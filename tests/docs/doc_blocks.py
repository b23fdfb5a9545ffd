"""Run the Python blocks of a Markdown file as a reader would (see docs/README.md).

The blocks of one file run in order in one namespace, in a fresh temporary working folder. An
HTML comment right before a fence changes what happens to it:

- ``<!-- fragment: WHY -->``: a piece of a larger program (a method body, a value); it is
  compiled (so its syntax is checked) but not run.
- ``<!-- skip: WHY -->``: complete, but needs something the tests cannot give (a container);
  compiled, not run.
- ``<!-- openai-server -->``: needs an OpenAI API key. The file's blocks from here on run with
  ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` pointing at the fake OpenAI server of
  ``tests/support/openai_server.py`` on 127.0.0.1 (it answers ``Hello!``; a ``setup`` comment
  may script other replies through ``doc_openai_server``).
- ``<!-- file: PATH -->`` before a non-Python block: the block is written to ``PATH`` (relative
  to the working folder), as a reader would save it, for the next blocks to read.
- ``<!-- setup:`` code ``-->``: code the reader does not see, run in the file's namespace before
  the next block — only for what a reader's environment provides (a local server standing in
  for a remote API).

Nothing may reach the network: connections to hosts other than 127.0.0.1 / localhost fail.

Run one file by hand with ``python -m tests.docs.doc_blocks docs/proxies.md``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

MARKERS = ("fragment", "skip", "openai-server", "file", "setup")
"""The comment markers the runner understands."""

_NOT_A_FENCE = frozenset({"paragraph_open", "heading_open", "table_open", "hr", "code_block"})
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", None})


class DocBlockError(Exception):
    """A Markdown file whose blocks or markers cannot be run; the message names file and line."""


@dataclass(frozen=True)
class Block:
    """One fenced block, with the marker that precedes it (if any)."""

    path: Path
    line: int
    """1-based line of the block's first content line in the Markdown file."""
    info: str
    code: str
    marker: str | None = None
    argument: str = ""

    @property
    def is_python(self) -> bool:
        """Whether the fence is a Python block (``python`` or ``py``)."""
        return self.info.split(maxsplit=1)[:1] in (["python"], ["py"])

    @property
    def where(self) -> str:
        """``file:line`` of the block."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Setup:
    """Hidden setup code from a ``<!-- setup: ... -->`` comment."""

    path: Path
    line: int
    code: str


def _marker(comment: str, path: Path, line: int) -> tuple[str, str] | None:
    text = comment.strip()
    if not (text.startswith("<!--") and text.endswith("-->")):
        return None
    body = text[4:-3].strip()
    name, _, argument = body.partition(":")
    name = name.strip()
    if name.split(maxsplit=1)[:1] == [name] and name in MARKERS:
        return name, argument.strip()
    if name.replace("-", "").isalpha() and name.lower() == name and ":" in body[: len(name) + 1]:
        raise DocBlockError(
            f"{path}:{line}: unknown doc-block marker {name!r}; use one of {', '.join(MARKERS)}"
        )
    return None


def parse(path: Path, text: str | None = None) -> list[Block | Setup]:
    """The fenced blocks and setup comments of a Markdown file, in order."""
    source = path.read_text(encoding="utf-8") if text is None else text
    items: list[Block | Setup] = []
    pending: tuple[str, str, int] | None = None
    for token in MarkdownIt("commonmark").parse(source):
        start = token.map[0] + 1 if token.map else 0
        if token.type == "html_block":
            found = _marker(token.content, path, start)
            if found is None:
                continue
            name, argument = found
            if name == "setup":
                items.append(Setup(path, start, argument))
                continue
            if pending is not None:
                raise DocBlockError(
                    f"{path}:{pending[2]}: marker {pending[0]!r} has no block after it"
                )
            if name in ("fragment", "skip") and not argument:
                raise DocBlockError(f"{path}:{start}: '{name}:' needs a reason after the colon")
            pending = (name, argument, start)
        elif token.type == "fence":
            marker, argument = (pending[0], pending[1]) if pending else (None, "")
            pending = None
            block = Block(path, start + 1, token.info.strip(), token.content, marker, argument)
            if marker == "file" and not argument:
                raise DocBlockError(f"{block.where}: 'file:' needs a path")
            items.append(block)
        elif pending is not None and token.type in _NOT_A_FENCE:
            raise DocBlockError(
                f"{path}:{pending[2]}: marker {pending[0]!r} must come right before a fence"
            )
    if pending is not None:
        raise DocBlockError(f"{path}:{pending[2]}: marker {pending[0]!r} has no block after it")
    return items


def _compile(code: str, path: Path, line: int) -> Any:
    # Padding with blank lines makes tracebacks name the Markdown file's own line numbers.
    return compile("\n" * (line - 1) + code, str(path), "exec")


@contextlib.contextmanager
def _no_network() -> Iterator[None]:
    real = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in _LOCAL_HOSTS:
            raise OSError(f"doc blocks may not reach the network (asked for {name!r})")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = local_only
    try:
        yield
    finally:
        socket.getaddrinfo = real


def _hello(request: Any) -> Any:
    from tests.support.openai_server import chat_completion, response_object

    if request.is_responses:
        return response_object("Hello!")
    return chat_completion("Hello!")


def run(path: Path, workdir: Path) -> int:
    """Run every Python block of ``path`` in ``workdir``; returns how many blocks ran.

    The working folder and the environment are changed while the blocks run (as a reader's
    session would be); the caller's working folder is restored afterwards."""
    items = parse(path)
    namespace: dict[str, Any] = {"__name__": "__doc_block__"}
    setups: list[Setup] = []
    ran = 0
    here = Path.cwd()
    with contextlib.ExitStack() as stack:
        stack.callback(os.chdir, here)
        stack.enter_context(_no_network())
        os.chdir(workdir)
        for item in items:
            if isinstance(item, Setup):
                setups.append(item)  # runs right before the next block, after its marker
                continue
            if item.marker == "openai-server" and "doc_openai_server" not in namespace:
                from tests.support.openai_server import OpenAIServer

                server = stack.enter_context(OpenAIServer(handler=_hello))
                os.environ["OPENAI_API_KEY"] = "sk-doc-blocks-fake-key-0000000000"
                os.environ["OPENAI_BASE_URL"] = server.url
                namespace["doc_openai_server"] = server
            for setup in setups:
                exec(_compile(setup.code, path, setup.line), namespace)
            setups.clear()
            if item.marker == "file":
                target = workdir / item.argument
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(item.code, encoding="utf-8")
                continue
            if not item.is_python:
                continue
            code = _compile(item.code, path, item.line)
            if item.marker in ("fragment", "skip"):
                continue
            exec(code, namespace)
            ran += 1
    return ran


def main(argv: list[str] | None = None) -> int:
    """Run the Markdown files named on the command line, each in a new temporary folder."""
    args = sys.argv[1:] if argv is None else argv
    for name in args:
        path = Path(name).resolve()
        with tempfile.TemporaryDirectory(prefix="lllm-doc-") as folder:
            count = run(path, Path(folder))
        print(f"{name}: {count} Python block(s) ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
