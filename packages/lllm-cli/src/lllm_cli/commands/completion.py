"""`lllm --install-completion`: shell completion for bash, zsh, fish or PowerShell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from lllm_cli.errors import CommandError

Shell = Literal["bash", "zsh", "fish", "powershell"]


def install_completion(
    *,
    shell: Shell | None = None,
    output: Annotated[Path | None, Parameter(name=["--output", "-o"])] = None,
    add_to_startup: bool = True,
) -> int:
    """Install shell completion for lllm.

    Parameters
    ----------
    shell
        The shell to install for (default: detected from the environment).
    output
        Where to write the completion script (default: the shell's usual place).
    add_to_startup
        Also add a line to the shell's start-up file that loads the script.
    """
    from cyclopts.completion.detect import ShellDetectionError, detect_shell

    from lllm_cli.app import build_app

    if shell is None:
        try:
            shell = detect_shell()
        except ShellDetectionError:
            raise CommandError(
                "could not detect your shell; pass --shell bash, zsh, fish or powershell"
            ) from None
    try:
        path = build_app().install_completion(
            shell=shell, output=output, add_to_startup=add_to_startup
        )
    except OSError as exc:
        where = exc.filename or output or "the completion script"
        raise CommandError(
            f"cannot write {str(where)!r}: {exc.strerror or exc}; choose a writable --output"
        ) from None
    print(f"Installed {shell} completion for lllm in {path}; restart your shell to use it.")
    return 0
