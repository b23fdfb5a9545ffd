"""What the blocking and async Jupyter sessions share: the notebook, its cells, its metadata.

Everything here is synchronous file work; running code is left to the subclasses, which differ
only in how they talk to the kernel.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict

from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import (
    Cell,
    CellKind,
    RunResult,
    RunStatus,
)

from lllm_adapters.jupyter.init_cell import init_cell_source
from lllm_adapters.jupyter.kernel import KernelLaunch
from lllm_adapters.jupyter.metadata import SessionMetadata
from lllm_adapters.jupyter.notebook_file import (
    INIT_CELL_ROLE,
    METADATA_KEY,
    NotebookFile,
    _nbformat,
    output_from_dict,
)
from lllm_adapters.jupyter.output_collector import DEFAULT_MAX_OUTPUT_CHARS, OutputCollector
from lllm_adapters.observability.redaction import Redactor

# nbformat's NotebookNode; Any-typed like ``_nbformat`` (nbformat carries no type hints).
Node = Any

NOTEBOOK_NAME = "notebook.ipynb"
"""The notebook's file name inside the session folder."""

DEFAULT_TIMEOUT = 60.0
"""Seconds a cell may run before it is interrupted, unless the session or the call says else."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check_session_name(name: str) -> str:
    """``name`` if it is a safe folder name, else a :class:`SandboxError` saying what to use."""
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise SandboxError(
            f"session name {name!r} is not usable as a folder name: use 1-128 letters, digits, "
            "'_', '.' or '-', starting with a letter or digit"
        )
    return name


def _metadata(value: SessionMetadata | Mapping[str, Any] | None) -> SessionMetadata:
    if isinstance(value, SessionMetadata):
        return value
    if value is not None and not isinstance(value, Mapping):
        raise SandboxError(
            f"session metadata must be a SessionMetadata or a mapping, not "
            f"{type(value).__name__}; pass SessionMetadata(...) or its to_dict()"
        )
    try:
        return SessionMetadata.from_dict(value)
    except (TypeError, ValueError) as exc:
        raise SandboxError(
            f"session metadata {dict(value or {})!r} is not valid ({exc}); use the keys of "
            "SessionMetadata.to_dict()"
        ) from exc


def check_metadata(value: SessionMetadata | Mapping[str, Any] | None) -> SessionMetadata:
    """``value`` as :class:`SessionMetadata` if a session can be built from it (its init cell
    can be generated), else a :class:`SandboxError` saying what is wrong."""
    metadata = _metadata(value)
    init_cell_source(metadata)
    return metadata


class NotebookOptions(TypedDict, total=False):
    """The options of a :class:`NotebookSession` that a session manager passes on to each
    session it opens (see the session for their meaning and defaults)."""

    launch: KernelLaunch | None
    default_timeout: float | None
    max_output_chars: int | None
    validate_on_save: bool
    redactor: Redactor | None


class NotebookSession:
    """A notebook in a session folder, with the metadata that generated its init cell.

    ``default_timeout`` (seconds, None for no limit) applies when a run gives none;
    ``max_output_chars`` caps the text kept per cell; ``validate_on_save`` checks the notebook
    against the nbformat schema on every save.

    ``redactor`` knows the secrets to keep from the kernel (by default: built from the
    environment when the session is made). Every output a run records passes through it, with
    the launch's own secrets added (see :meth:`KernelLaunch.output_redactor`), before it is
    written to the notebook or returned: a cell that prints a key, or reads its parent's
    environment from ``/proc``, shows ``[REDACTED]`` instead.
    """

    def __init__(
        self,
        folder: Path,
        *,
        name: str | None = None,
        metadata: SessionMetadata | Mapping[str, Any] | None = None,
        launch: KernelLaunch | None = None,
        default_timeout: float | None = DEFAULT_TIMEOUT,
        max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
        validate_on_save: bool = True,
        redactor: Redactor | None = None,
    ) -> None:
        self.folder = Path(folder).resolve()
        self._name = check_session_name(name or self.folder.name)
        self.launch = launch or KernelLaunch()
        self.redactor = self.launch.output_redactor(redactor)
        self.default_timeout = default_timeout
        self.max_output_chars = max_output_chars
        self.validate_on_save = validate_on_save
        path = self.folder / NOTEBOOK_NAME
        if path.exists():
            self.notebook = NotebookFile.load(path)
            stored = self.notebook.lllm_metadata.get("metadata")
            self._metadata = _metadata(metadata if metadata is not None else stored)
        else:
            self._metadata = _metadata(metadata)
            self.notebook = NotebookFile.new(path)
        self.notebook.notebook.metadata[METADATA_KEY] = {
            "session": self._name,
            "metadata": self._metadata.to_dict(),
        }
        # The cell a run is executing, so edits can tell it apart (see _edit).
        self._running: Node | None = None
        self._ensure_init_cell()
        self.save()

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The session's name (its folder's name unless given)."""
        return self._name

    @property
    def metadata(self) -> SessionMetadata:
        """What the session was created with."""
        return self._metadata

    @property
    def path(self) -> Path:
        """The notebook file."""
        return self.notebook.path

    def save(self) -> None:
        """Write the notebook to disk."""
        self.notebook.save(validate=self.validate_on_save)

    # -- cells -------------------------------------------------------------------------------

    def _ensure_init_cell(self) -> None:
        source = init_cell_source(self._metadata)
        index = self.init_cell_index()
        if index is None:
            node = self.notebook.new_node(
                source, CellKind.CODE, {METADATA_KEY: {"role": INIT_CELL_ROLE}}
            )
            self.notebook.insert(0, node)
        elif self.notebook.node(index).source != source:
            self.notebook.set_source(index, source)

    def init_cell_index(self) -> int | None:
        """Where the init cell is (0 unless cells were inserted before it)."""
        for i, node in enumerate(self.notebook.notebook.cells):
            if node.get("metadata", {}).get(METADATA_KEY, {}).get("role") == INIT_CELL_ROLE:
                return i
        return None

    def init_source(self) -> str:
        """The init cell's source."""
        return init_cell_source(self._metadata)

    def cells(self) -> list[Cell]:
        """Every cell, in order (the init cell included)."""
        return self.notebook.cells()

    def read_cell(self, index: int) -> Cell:
        """The cell at ``index``."""
        return self.notebook.cell(index)

    @contextlib.contextmanager
    def _edit(self) -> Iterator[None]:
        """Held while a cell edit changes the notebook and saves it.

        The blocking session takes its run lock here, so an edit from another thread waits for
        the running cell. The async session cannot wait in a synchronous method; its runs
        write to the cell object they started with, so edits elsewhere are safe, and
        :meth:`_check_not_running` refuses to delete or rewrite the running cell itself.
        """
        yield

    def _check_not_running(self, index: int) -> None:
        if self._running is not None and self.notebook.node(index) is self._running:
            raise SandboxError(
                f"cell {index} is running; wait for its run to finish (or interrupt it) before "
                "deleting or overwriting it"
            )

    def append_cell(self, source: str, kind: CellKind | str = CellKind.CODE) -> int:
        """Add a cell at the end; return its index."""
        with self._edit():
            return self._insert(len(self.notebook), source, kind)

    def insert_cell(self, index: int, source: str, kind: CellKind | str = CellKind.CODE) -> int:
        """Insert a cell before ``index``; return its index."""
        with self._edit():
            return self._insert(index, source, kind)

    def _insert(self, index: int, source: str, kind: CellKind | str) -> int:
        self.notebook.insert(index, self.notebook.new_node(source, kind))
        self.save()
        return index

    def overwrite_cell(self, index: int, source: str) -> None:
        """Replace the source of a cell (its outputs are cleared)."""
        with self._edit():
            self._check_not_running(index)
            self.notebook.set_source(index, source)
            self.save()

    def delete_cell(self, index: int) -> None:
        """Remove a cell."""
        with self._edit():
            self._check_not_running(index)
            self.notebook.delete(index)
            self.save()

    def _init_node(self) -> Node | None:
        index = self.init_cell_index()
        return None if index is None else self.notebook.node(index)

    def _code_nodes_after_init(self) -> list[Node]:
        """The code cells ``run_all`` runs, fixed when it starts (edits during it do not shift
        which cells run)."""
        init = self._init_node()
        return [n for n in self.notebook.notebook.cells if n is not init and n.cell_type == "code"]

    # -- runs --------------------------------------------------------------------------------

    def _timeout(self, timeout: float | None) -> float | None:
        return self.default_timeout if timeout is None else timeout

    def _record(
        self,
        node: Node,
        collector: OutputCollector,
        status: RunStatus,
        *,
        restarted: bool,
        started: float,
    ) -> RunResult:
        """Write a finished run into the cell that ran (wherever it is now) and describe it."""
        collector.finish()
        # Redacted here, the one place both drivers record a run: the notebook, the RunResult and
        # so the code-execution tool's text all see the same redacted outputs.
        outputs: list[dict[str, Any]] = [self.redactor.redact(o) for o in collector.outputs]
        if status is RunStatus.KERNEL_DIED:
            outputs.append(
                _error(
                    "KernelDied",
                    "the kernel died while running this cell; it "
                    "was restarted and its state is lost",
                )
            )
        elif status is RunStatus.TIMEOUT and restarted:
            outputs.append(
                _error(
                    "CellTimeout",
                    "the cell ran past its timeout and did not stop "
                    "when interrupted; the kernel was restarted",
                )
            )
        self.notebook.set_outputs(node, outputs, collector.execution_count)
        self.save()
        # The index is read now: cells inserted or deleted during the run moved the cell. (It
        # cannot have been deleted itself: see _edit and _check_not_running.)
        index = self.notebook.index_of(node)
        return RunResult(
            index=-1 if index is None else index,
            status=status,
            outputs=tuple(output_from_dict(o) for o in outputs),
            execution_count=collector.execution_count,
            truncated=collector.truncated,
            kernel_restarted=restarted,
            duration=time.monotonic() - started,
        )

    def _init_failed(self, result: RunResult) -> SandboxError:
        return SandboxError(
            f"the init cell of session {self.name!r} failed ({result.status.value}):\n"
            + result.text(max_chars=4000)
            + "check the session's project root and proxy settings"
        )

    # -- files and data ----------------------------------------------------------------------

    def tree(self, max_depth: int = 3, max_entries: int = 200) -> str:
        """The session folder as an indented listing (hidden files left out)."""
        lines = [f"{self.folder.name}/"]

        def walk(folder: Path, depth: int) -> None:
            for entry in sorted(folder.iterdir(), key=lambda p: (p.is_file(), p.name)):
                if entry.name.startswith("."):
                    continue
                if len(lines) > max_entries:
                    lines.append("  " * depth + "...")
                    return
                lines.append("  " * depth + entry.name + ("/" if entry.is_dir() else ""))
                if entry.is_dir() and depth < max_depth:
                    walk(entry, depth + 1)

        walk(self.folder, 1)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The session as plain data: name, metadata and the whole notebook."""
        return {
            "name": self.name,
            "metadata": self._metadata.to_dict(),
            "notebook": json.loads(_nbformat.v4.writes(self.notebook.notebook)),
        }

    @staticmethod
    def check_dict(data: Mapping[str, Any]) -> tuple[str, SessionMetadata, Any]:
        """The name, metadata and nbformat notebook in :meth:`to_dict` output, or a
        :class:`SandboxError` naming what is missing or malformed."""
        if not isinstance(data, Mapping):
            raise SandboxError(
                f"session data must be a mapping (the output of to_dict), not {type(data).__name__}"
            )
        name = data.get("name")
        if not isinstance(name, str):
            raise SandboxError(
                f"session data has no usable 'name' (got {name!r}); pass the output of to_dict"
            )
        check_session_name(name)
        metadata = check_metadata(data.get("metadata"))
        raw = data.get("notebook")
        if not isinstance(raw, Mapping):
            raise SandboxError(
                f"session data for {name!r} has no 'notebook' mapping (got "
                f"{type(raw).__name__}); pass the output of to_dict"
            )
        try:
            nb = _nbformat.from_dict(dict(raw))
            if nb.get("nbformat") != 4:
                raise ValueError(f"nbformat {nb.get('nbformat')!r}, expected 4")
            _nbformat.validate(nb)
        except Exception as exc:
            raise SandboxError(
                f"the notebook in the data for session {name!r} is not a valid nbformat 4 "
                f"notebook ({type(exc).__name__}: {str(exc)[:300]}); pass the output of to_dict"
            ) from exc
        return name, metadata, nb

    @staticmethod
    def write_from_dict(data: Mapping[str, Any], folder: Path) -> None:
        """Rebuild a session's notebook in ``folder`` from :meth:`to_dict` output (checked with
        :meth:`check_dict` first)."""
        name, metadata, nb = NotebookSession.check_dict(data)
        nb.metadata[METADATA_KEY] = {"session": name, "metadata": metadata.to_dict()}
        NotebookFile(Path(folder) / NOTEBOOK_NAME, nb).save()


def _error(ename: str, evalue: str) -> dict[str, Any]:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [f"{ename}: {evalue}"],
    }
