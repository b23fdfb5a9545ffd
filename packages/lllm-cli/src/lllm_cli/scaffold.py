"""Creating a project from a scaffold: name checks, placeholder rendering, byte-exact copies."""

from __future__ import annotations

import keyword
import shutil
import sys
from pathlib import Path

from lllm_cli.errors import CommandError

_RESERVED = frozenset(
    {
        # Names of LLLM's own packages and of the project's own folders.
        "lllm",
        "lllm_domain",
        "lllm_adapters",
        "lllm_cli",
        "lllm_templates",
        "config",
        "prompts",
        "proxies",
        "system",
        "tests",
        "logs",
        # Windows device names cannot be folder names there.
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{i}" for i in range(10)),
        *(f"lpt{i}" for i in range(10)),
    }
)

_TEXT_SUFFIXES = frozenset(
    {".py", ".toml", ".yaml", ".yml", ".md", ".txt", ".json", ".cfg", ".ini", ".html", ".css"}
)


def check_project_name(name: str) -> str:
    """``name`` if it is a safe project name; otherwise a :class:`CommandError` saying why.

    A project name becomes a folder name and a Python identifier (system type, config folder),
    so it must be a plain identifier: letters, digits and underscores, not starting with a digit.
    """
    problem = _name_problem(name)
    if problem:
        raise CommandError(f"cannot use {name!r} as a project name: {problem}")
    return name


MAX_NAME_LENGTH = 100
"""Longest project name: it becomes a folder name and part of file names, which file systems
limit to 255 bytes."""


def _name_problem(name: str) -> str:
    if not name or not name.strip():
        return "it is empty; pass --name with a name such as my_agent"
    if len(name) > MAX_NAME_LENGTH:
        return (
            f"it is {len(name)} characters long; pass a --name of at most {MAX_NAME_LENGTH} "
            "characters"
        )
    if "/" in name or "\\" in name or name in (".", ".."):
        return "it is a path; pass a bare name and choose the parent folder with --dir"
    if ".." in name:
        return "it contains '..'; use letters, digits and underscores"
    if not name.isidentifier() or not name.isascii():
        return (
            "use ASCII letters, digits and underscores, not starting with a digit "
            "(it becomes a Python identifier), e.g. my_agent"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "it is a Python keyword; choose another name"
    if name.startswith("__"):
        return "names starting with '__' are reserved for Python; choose another name"
    if name.lower() in _RESERVED:
        return "it is reserved (an LLLM package, a project folder or a device name)"
    if name in sys.stdlib_module_names:
        return f"it would shadow the standard-library module {name!r}; choose another name"
    return ""


def is_text(path: str, data: bytes) -> bool:
    """Whether a scaffold file is rendered (text) or copied byte for byte (binary)."""
    if Path(path).suffix.lower() in _TEXT_SUFFIXES:
        return True
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return Path(path).suffix == ""


def create_project(name: str, template: str, parent: Path) -> Path:
    """Copy scaffold ``template`` into ``parent/name``, rendering the project name.

    Refuses an unsafe name, an unknown template and an existing target before writing anything.
    Returns the new project folder.
    """
    from lllm_templates import PLACEHOLDER, UnknownTemplateError, template_files

    check_project_name(name)
    target = parent / name
    try:
        if not parent.is_dir():
            raise CommandError(f"the parent folder {str(parent)!r} does not exist; create it first")
        exists = target.exists() or target.is_symlink()
    except OSError as exc:
        # A --dir too long for the file system (ENAMETOOLONG), unreadable, ...
        raise CommandError(
            f"cannot use --dir {str(parent)!r}: {exc.strerror or exc}; choose another folder"
        ) from None
    if exists:
        raise CommandError(
            f"{str(target)!r} already exists; choose another --name or --dir (nothing was "
            "overwritten)"
        )
    try:
        entries = list(template_files(template))
    except UnknownTemplateError as exc:
        raise CommandError(str(exc)) from None

    # Build every file in memory first, so a failure leaves no half-written project.
    planned: list[tuple[Path, bytes]] = []
    for entry in entries:
        relative = entry.path.replace(PLACEHOLDER, name)
        data = entry.read_bytes()
        if is_text(entry.path, data):
            data = data.decode("utf-8").replace(PLACEHOLDER, name).encode("utf-8")
        planned.append((target.joinpath(*relative.split("/")), data))

    try:
        target.mkdir()
    except OSError as exc:
        raise CommandError(
            f"cannot create {str(target)!r}: {exc.strerror or exc}; choose a writable --dir"
        ) from None
    try:
        for path, data in planned:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    except OSError as exc:
        # Leave nothing half-written: the folder is ours, we just created it.
        shutil.rmtree(target, ignore_errors=True)
        raise CommandError(
            f"cannot write {str(exc.filename or target)!r}: {exc.strerror or exc}; nothing "
            "was created"
        ) from None
    return target
