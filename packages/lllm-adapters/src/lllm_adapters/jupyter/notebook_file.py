"""A notebook file on disk (nbformat v4) and its conversion to the domain's cell values."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat as _nbformat_module
from lllm_domain.sandbox import (
    Cell,
    CellIndexError,
    CellKind,
    CellOutput,
    DisplayData,
    ErrorOutput,
    ExecuteResult,
    StreamOutput,
)
from nbformat import NotebookNode

# nbformat's functions carry no type hints; one Any-typed alias keeps mypy --strict precise
# everywhere else.
_nbformat: Any = _nbformat_module

METADATA_KEY = "lllm"
"""Key of the notebook-level metadata block where the session's metadata is stored."""

INIT_CELL_ROLE = "init"
"""``cell.metadata.lllm.role`` of the generated init cell."""


class NotebookFile:
    """One ``.ipynb`` file: an nbformat notebook in memory, written back on :meth:`save`.

    Saving writes a temporary file and renames it over the notebook, so a crash never leaves a
    half-written notebook behind.
    """

    def __init__(self, path: Path, notebook: NotebookNode) -> None:
        self.path = path
        self.notebook = notebook

    @classmethod
    def new(cls, path: Path, metadata: Mapping[str, Any] | None = None) -> NotebookFile:
        """An empty notebook (not yet saved) with a Python kernel spec and our metadata."""
        nb = _nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        nb.metadata[METADATA_KEY] = dict(metadata or {})
        return cls(path, nb)

    @classmethod
    def load(cls, path: Path) -> NotebookFile:
        """Read a notebook from disk (upgraded to nbformat 4)."""
        nb = _nbformat.read(path, as_version=4)
        return cls(path, nb)

    @property
    def lllm_metadata(self) -> dict[str, Any]:
        """The session metadata stored in the notebook."""
        return dict(self.notebook.metadata.get(METADATA_KEY, {}))

    def save(self, *, validate: bool = True) -> None:
        """Write the notebook to disk atomically (validated against the nbformat schema unless
        ``validate`` is False — validation is the slow part of a save)."""
        if validate:
            _nbformat.validate(self.notebook)
        text = _nbformat.v4.writes(self.notebook)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".", suffix=".ipynb.tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- cells -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.notebook.cells)

    def node(self, index: int) -> NotebookNode:
        """The raw nbformat cell at ``index``."""
        self._check(index)
        cell: NotebookNode = self.notebook.cells[index]
        return cell

    def new_node(
        self, source: str, kind: CellKind | str, metadata: Mapping[str, Any] | None = None
    ) -> NotebookNode:
        """A new nbformat cell of ``kind``."""
        kind = CellKind(kind)
        make = (
            _nbformat.v4.new_code_cell if kind is CellKind.CODE else _nbformat.v4.new_markdown_cell
        )
        node: NotebookNode = make(source=source, metadata=dict(metadata or {}))
        return node

    def insert(self, index: int, node: NotebookNode) -> int:
        """Insert ``node`` before ``index`` (``len(self)`` appends); return its index."""
        if not 0 <= index <= len(self):
            raise CellIndexError(
                f"cannot insert at index {index}: the notebook {self.path.name} has "
                f"{len(self)} cells; use 0..{len(self)}"
            )
        self.notebook.cells.insert(index, node)
        return index

    def delete(self, index: int) -> None:
        """Remove the cell at ``index``."""
        self._check(index)
        del self.notebook.cells[index]

    def set_source(self, index: int, source: str) -> None:
        """Replace a cell's source, clearing its outputs."""
        node = self.node(index)
        node.source = source
        if node.cell_type == "code":
            node.outputs = []
            node.execution_count = None

    def index_of(self, node: NotebookNode) -> int | None:
        """Where ``node`` (this very cell object) is now, or None once it was deleted."""
        for i, cell in enumerate(self.notebook.cells):
            if cell is node:
                return i
        return None

    @staticmethod
    def set_outputs(
        node: NotebookNode, outputs: Sequence[Mapping[str, Any]], execution_count: int | None
    ) -> None:
        """Store a code cell's outputs and execution count on the cell object ``node``.

        A run writes to the cell it started with, not to an index: cells inserted or deleted
        while it ran move that cell, and an index would then point at another (maybe markdown)
        cell.
        """
        node.outputs = [_nbformat.from_dict(dict(o)) for o in outputs]
        node.execution_count = execution_count

    def cell(self, index: int) -> Cell:
        """The cell at ``index`` as a domain value."""
        return cell_from_node(self.node(index))

    def cells(self) -> list[Cell]:
        """Every cell as a domain value."""
        return [cell_from_node(n) for n in self.notebook.cells]

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self):
            raise CellIndexError(
                f"no cell at index {index}: the notebook {self.path.name} has {len(self)} cells "
                f"(indices 0..{len(self) - 1}, the init cell is 0)"
            )


def cell_from_node(node: Mapping[str, Any]) -> Cell:
    """A domain :class:`Cell` from an nbformat cell (raw cells read as markdown)."""
    source = node.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    if node.get("cell_type") != "code":
        return Cell(kind=CellKind.MARKDOWN, source=source, id=node.get("id"))
    return Cell(
        kind=CellKind.CODE,
        source=source,
        outputs=tuple(output_from_dict(o) for o in node.get("outputs", [])),
        execution_count=node.get("execution_count"),
        id=node.get("id"),
    )


def output_from_dict(output: Mapping[str, Any]) -> CellOutput:
    """A domain output from an nbformat output dict."""
    kind = output["output_type"]
    if kind == "stream":
        text = output.get("text", "")
        return StreamOutput(
            name=output["name"], text="".join(text) if isinstance(text, list) else text
        )
    if kind == "execute_result":
        return ExecuteResult(
            data=dict(output.get("data", {})),
            execution_count=output.get("execution_count"),
            metadata=dict(output.get("metadata", {})),
        )
    if kind == "display_data":
        return DisplayData(
            data=dict(output.get("data", {})), metadata=dict(output.get("metadata", {}))
        )
    return ErrorOutput(
        ename=output.get("ename", ""),
        evalue=output.get("evalue", ""),
        traceback=tuple(output.get("traceback", [])),
    )
