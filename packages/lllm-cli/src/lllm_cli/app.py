"""The `lllm` command line: sub-commands, global flags and the error boundary.

Start-up time matters (``lllm --help`` should answer in well under a quarter of a second), so
this module imports only cyclopts. Every command is registered by import path and loaded when it
runs; adapters (httpx2, tiktoken, jupyter_client, ...) are imported by the command that needs
them, never here.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cyclopts import App

DEBUG_FLAG = "--debug"
"""Show full tracebacks instead of one-line error messages, and debug log lines (also
``LLLM_DEBUG=1``)."""

USER_ERROR_EXIT = 2
"""Exit status for user errors: bad arguments, bad configuration, a missing API key, ..."""

PIPE_CLOSED_EXIT = 141
"""Exit status when the reader of our output went away (``lllm logs show S | head``): the
shell's convention for a process ended by SIGPIPE (128 + 13)."""

_DESCRIPTION = """\
LLLM: create, run and inspect agentic LLM systems.

Global flag: --debug shows full tracebacks instead of one-line error messages
(or set LLLM_DEBUG=1)."""


Command = tuple[str, str, str]
"""A command: its name, the ``module:function`` it runs, and its one-line help."""

COMMANDS: tuple[Command, ...] = (
    (
        "create",
        "lllm_cli.commands.create:create",
        "Create a new project from a template (init_template or example).",
    ),
    (
        "run",
        "lllm_cli.commands.run:run",
        "Run the project's system on a task, stream its events and print the result.",
    ),
)
"""The top-level commands."""

GROUPS: dict[str, tuple[str, tuple[Command, ...]]] = {
    "logs": (
        "Inspect logged sessions: list, show, cost, export.",
        (
            ("list", "lllm_cli.commands.logs:list_sessions", "List the logged sessions."),
            ("show", "lllm_cli.commands.logs:show", "Show a session as a readable transcript."),
            ("cost", "lllm_cli.commands.logs:cost", "Show a session's token usage and cost."),
            (
                "export",
                "lllm_cli.commands.logs:export",
                "Export a session as a self-contained HTML timeline.",
            ),
        ),
    ),
    "batch": (
        "Run a system over many rows (a JSONL file), resumably; watch and report on batches.",
        (
            (
                "run",
                "lllm_cli.commands.batch:run",
                "Run the project's system once per row of a JSONL file.",
            ),
            (
                "status",
                "lllm_cli.commands.batch:status",
                "Show a batch's progress from the log store.",
            ),
            (
                "report",
                "lllm_cli.commands.batch:report",
                "Write a batch's report as one self-contained HTML page.",
            ),
        ),
    ),
    "prompts": (
        "Prompts that discovery finds in the project.",
        (
            (
                "list",
                "lllm_cli.commands.prompts:list_prompts",
                "List the project's registered prompts.",
            ),
        ),
    ),
    "proxies": (
        "Proxies (declarative external APIs) of the project.",
        (
            (
                "list",
                "lllm_cli.commands.proxies:list_proxies",
                "List the project's registered proxies and their endpoints.",
            ),
            (
                "catalog",
                "lllm_cli.commands.proxies:catalog",
                "Print the API catalog of the project's proxies (as prompts see it).",
            ),
            (
                "test",
                "lllm_cli.commands.proxies:test",
                "Call every endpoint of the activated proxies with its examples.",
            ),
        ),
    ),
    "mcp": (
        "MCP (Model Context Protocol): serve the project's tools to any MCP client.",
        (
            (
                "serve",
                "lllm_cli.commands.mcp:serve",
                "Serve the activated proxies (and --sandbox's run_python) over stdio or HTTP.",
            ),
        ),
    ),
}
"""The command groups (``lllm logs ...``): their help and their commands."""

INSTALL_COMPLETION: Command = (
    "--install-completion",
    # Registered by path like the others: cyclopts' own helper imports its completion engine.
    "lllm_cli.commands.completion:install_completion",
    "Install shell completion for lllm (bash, zsh, fish or powershell).",
)

_HELP_FLAGS = ("--help", "-h")


def build_app() -> App:
    """The `lllm` application (commands are imported only when they run)."""
    from cyclopts import App

    from lllm_cli import __version__

    app = App(
        name="lllm",
        help=_DESCRIPTION,
        version=f"lllm {__version__}",
        help_format="plaintext",
        result_action="return_value",
    )
    for name, target, text in COMMANDS:
        app.command(target, name=name, help=text)
    for group, (text, commands) in GROUPS.items():
        sub = App(name=group, help=text)
        for name, target, command_help in commands:
            sub.command(target, name=name, help=command_help)
        app.command(sub)
    name, target, text = INSTALL_COMPLETION
    app.command(target, name=name, help=text)
    return app


def quick_help(args: Sequence[str]) -> str | None:
    """The help of ``lllm`` or of a command group when ``args`` ask for it (``--help``,
    ``-h``, or nothing), rendered from the command table as cyclopts renders it, but without
    importing cyclopts and rich (most of the start-up time); ``None`` for anything else."""
    if not args or (len(args) == 1 and args[0] in _HELP_FLAGS):
        rows = [(name, text) for name, _, text in COMMANDS]
        rows += [(group, text) for group, (text, _) in GROUPS.items()]
        rows.sort()
        rows += [
            ("--help (-h)", "Display this message and exit."),
            (INSTALL_COMPLETION[0], INSTALL_COMPLETION[2]),
            ("--version", "Display application version."),
        ]
        return _help_page("lllm COMMAND", _DESCRIPTION, rows)
    group = GROUPS.get(args[0])
    if group is not None and (len(args) == 1 or (len(args) == 2 and args[1] in _HELP_FLAGS)):
        text, commands = group
        rows = sorted((name, command_help) for name, _, command_help in commands)
        return _help_page(f"lllm {args[0]} COMMAND", text, rows)
    return None


def _help_page(usage: str, description: str, rows: list[tuple[str, str]]) -> str:
    import shutil
    import textwrap

    width = max(shutil.get_terminal_size((80, 24)).columns, 40)
    inner = width - 4  # "│ " and " │"
    names = max(len(name) for name, _ in rows) + 2
    lines = [f"Usage: {usage}", "", description, ""]
    title = "╭─ Commands "
    lines.append(title + "─" * (width - len(title) - 1) + "╮")
    for name, text in rows:
        wrapped = textwrap.wrap(text, max(inner - names, 10)) or [""]
        for index, part in enumerate(wrapped):
            left = name if index == 0 else ""
            lines.append(f"│ {left:<{names}}{part:<{inner - names}} │")
    lines.append("╰" + "─" * (width - 2) + "╯")
    return "\n".join(lines)


def _debug_requested(args: list[str]) -> bool:
    if DEBUG_FLAG in args:
        # The flag is global: accept it anywhere before the end-of-options marker.
        end = args.index("--") if "--" in args else len(args)
        if args.index(DEBUG_FLAG) < end:
            args.remove(DEBUG_FLAG)
            return True
    return os.environ.get("LLLM_DEBUG", "") not in ("", "0", "false", "no")


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run `lllm` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    User errors (any :class:`~lllm_domain.errors.LLLMError` and bad arguments) print one line
    to stderr and return 2; ``--debug`` lets them propagate with a traceback instead.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    if debug:
        # --debug also shows the framework's own log lines, unless a level was chosen already.
        os.environ.setdefault("LLLM_LOG_LEVEL", "DEBUG")
    if args == ["--version"]:
        # Answered without building the app: scripts call this often and want it instant.
        from lllm_cli import __version__

        print(f"lllm {__version__}")
        return 0
    page = quick_help(args)
    if page is not None:
        # Static text from the command table (no secrets to redact), without cyclopts.
        print(page)
        return 0
    from lllm_cli.redacted_output import redacted_output

    # Everything printed from here on (errors quoting a server, tool results, the user's own
    # prints) passes through the same redactor as the logs.
    with redacted_output() as output:
        code = _run_app(args, debug)
    return PIPE_CLOSED_EXIT if output.pipe_closed else code


def _run_app(args: list[str], debug: bool) -> int:
    from cyclopts import CycloptsError

    app = build_app()
    try:
        result = app(args, exit_on_error=False, print_error=False)
    except CycloptsError as exc:
        # A bad argument: one line with cyclopts' own words (and its "Did you mean ...?"),
        # never its box, and no traceback even under --debug (there is nothing to trace).
        print(f"lllm: error: {_one_line(exc)}", file=sys.stderr)
        return USER_ERROR_EXIT
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        print("lllm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader closed the pipe (`| head`): nothing is wrong and nobody is listening.
        return PIPE_CLOSED_EXIT
    except Exception as exc:
        if debug:
            raise
        return _report(exc)
    return result if isinstance(result, int) else 0


def _one_line(exc: Exception) -> str:
    """cyclopts' message for a bad argument, on one line."""
    return " ".join(str(exc).split())


def _report(exc: Exception) -> int:
    from lllm_domain.errors import LLLMError

    # What the command printed so far comes first, also when stdout is a block-buffered pipe
    # shared with stderr (CI logs): the error line must not land inside an output line.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    if isinstance(exc, LLLMError):
        print(f"lllm: error: {exc}", file=sys.stderr)
        return USER_ERROR_EXIT
    where = _project_frame(exc)
    if where is not None:
        # The user's own code failed (a KeyError in system/system.py, ...): not our bug.
        print(
            f"lllm: error: {where}: {type(exc).__name__}: {exc} (in your project's code; "
            "--debug shows the traceback)",
            file=sys.stderr,
        )
        return USER_ERROR_EXIT
    print(
        f"lllm: internal error: {type(exc).__name__}: {exc}\n"
        "Run again with --debug for the traceback, and please report it.",
        file=sys.stderr,
    )
    return 1


_LIBRARY_PACKAGES = ("lllm_domain", "lllm_adapters", "lllm_cli", "lllm_templates")


def _is_library_frame(filename: str, module: str) -> bool:
    """Whether a traceback frame belongs to Python, an installed package or LLLM itself."""
    import sysconfig
    from pathlib import Path

    if module.split(".", 1)[0] in _LIBRARY_PACKAGES or filename.startswith("<"):
        return True
    path = Path(filename)
    if {"site-packages", "dist-packages"} & set(path.parts):
        return True
    stdlib = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")}
    return any(path.is_relative_to(folder) for folder in stdlib)


def _project_frame(exc: BaseException) -> str | None:
    """``file:line`` (relative to the project) of the innermost frame of ``exc``'s traceback
    outside Python, installed packages and LLLM, when that frame is in the project's own
    modules; ``None`` otherwise (then the failure is LLLM's)."""
    import traceback
    from pathlib import Path

    from lllm_adapters.config import PROJECT_PACKAGE_PREFIX

    innermost: tuple[str, int] | None = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if not _is_library_frame(filename, str(frame.f_globals.get("__name__", ""))):
            innermost = (filename, line)
    if innermost is None:
        return None
    filename, line = innermost
    # Each opened project's modules live under a package whose __path__ is the project folder
    # (its sibling modules imported by absolute name are in that folder too).
    roots = [
        Path(folder)
        for name, package in list(sys.modules.items())
        if name.startswith(PROJECT_PACKAGE_PREFIX) and "." not in name
        for folder in getattr(package, "__path__", ())
    ]
    path = Path(filename)
    root = next((root for root in roots if path.is_relative_to(root)), None)
    if root is None:
        return None
    shown = path.relative_to(root).as_posix()
    return f"{shown}:{line}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush at shutdown does not report the
    closed pipe again ("Exception ignored ... BrokenPipeError"), as the Python docs advise
    (see the note on SIGPIPE in the ``signal`` module)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (an embedding host): nothing will flush to a pipe


def main() -> None:
    """Entry point of the `lllm` command."""
    code = run_cli()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = PIPE_CLOSED_EXIT
    if code == PIPE_CLOSED_EXIT:
        _silence_stdout()
    sys.exit(code)
