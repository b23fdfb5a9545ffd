"""Follow-up commands `lllm` prints (``lllm logs show S``, ``lllm run T --replay S``), written
so that they work when pasted into the user's own shell.

Two things can break a printed command there: ``lllm`` may not be on the shell's PATH (it ran
through ``uv run``, which puts the workspace's environment on PATH only for its child), and the
shell's current folder may not be the project (the README's one-liner ``cd``s inside
``sh -c``). So the command names ``lllm`` by its full path unless the shell would find this
same ``lllm`` itself, and names the project with ``--project`` unless this is a plain ``lllm``
run from inside the project.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

UV_RUN_MARKER = "UV_RUN_RECURSION_DEPTH"
"""Set by ``uv run`` for its child: PATH then holds the environment only for this process."""


def lllm_program(
    argv0: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, bool]:
    """How to invoke this ``lllm`` from the user's shell, and whether that is the bare name.

    The bare ``lllm`` when the shell finds this very script on PATH outside ``uv run``; else the
    script's full path; else (``python -m lllm_cli``, an embedding program) this Python with
    ``-m lllm_cli``.
    """
    env = os.environ if environ is None else environ
    script = Path(sys.argv[0] if argv0 is None else argv0)
    if script.name == "lllm" and script.is_file():
        found = shutil.which("lllm", path=env.get("PATH"))
        same = found is not None and Path(found).resolve() == script.resolve()
        if same and UV_RUN_MARKER not in env:
            return "lllm", True
        return shlex.quote(str(script.absolute())), False
    return f"{shlex.quote(sys.executable)} -m lllm_cli", False


def command_hint(
    args: Sequence[str],
    *,
    project: Path,
    config: Path | None = None,
    cwd: Path | None = None,
    argv0: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The shell command running ``lllm ARGS`` on ``project`` (and ``config``, when one was
    given explicitly), quoted, that works in the user's shell as printed."""
    program, bare = lllm_program(argv0, environ)
    here = (cwd or Path.cwd()).resolve()
    root = project.resolve()
    words = [shlex.quote(arg) for arg in args]
    if not (bare and here.is_relative_to(root)):
        words += ["--project", shlex.quote(str(root))]
    if config is not None:
        words += ["--config", shlex.quote(str(config.resolve()))]
    return " ".join([program, *words])
