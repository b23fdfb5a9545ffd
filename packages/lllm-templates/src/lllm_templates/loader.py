"""Listing scaffolds and reading their files through :mod:`importlib.resources`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

PLACEHOLDER = "__project_name__"
"""Replaced by the project name in file contents and in file and folder names."""

_SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


class UnknownTemplateError(LookupError):
    """No scaffold has the requested name."""


@dataclass(frozen=True, slots=True)
class TemplateFile:
    """One file of a scaffold: its ``/``-separated path inside the scaffold, and its source."""

    path: str
    source: Traversable

    def read_bytes(self) -> bytes:
        """The file's exact bytes."""
        return self.source.read_bytes()


def _root() -> Traversable:
    return files("lllm_templates") / "scaffolds"


def available_templates() -> list[str]:
    """The names of every scaffold, sorted."""
    return sorted(
        entry.name
        for entry in _root().iterdir()
        if entry.is_dir() and entry.name not in _SKIPPED_DIRS and not entry.name.startswith(".")
    )


def template_files(name: str) -> Iterator[TemplateFile]:
    """Every file of scaffold ``name``, in a stable order (caches and bytecode skipped)."""
    known = available_templates()
    if name not in known:
        raise UnknownTemplateError(
            f"no template called {name!r}; choose one of: {', '.join(known)}"
        )
    yield from _walk(_root() / name, "")


def _walk(folder: Traversable, prefix: str) -> Iterator[TemplateFile]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            if entry.name not in _SKIPPED_DIRS:
                yield from _walk(entry, f"{path}/")
        elif not entry.name.endswith(_SKIPPED_SUFFIXES):
            yield TemplateFile(path, entry)
