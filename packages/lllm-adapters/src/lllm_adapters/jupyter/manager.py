"""Managers that create, find, shut down and delete Jupyter sessions under one root folder.

Each session lives in ``<root>/<name>/`` with its notebook (``notebook.ipynb``) and whatever files
its code writes. Sessions are found again from disk after a restart of the program.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

from lllm_domain.errors import SandboxError
from lllm_domain.sandbox import (
    AsyncSandboxSession,
    Sandbox,
    SandboxSession,
    SessionNotFoundError,
)

from lllm_adapters.jupyter.async_session import AsyncJupyterSession
from lllm_adapters.jupyter.metadata import SessionMetadata
from lllm_adapters.jupyter.notebook_session import (
    NOTEBOOK_NAME,
    NotebookOptions,
    NotebookSession,
    check_metadata,
    check_session_name,
)
from lllm_adapters.jupyter.session import JupyterSession

S = TypeVar("S", bound=NotebookSession)


class _Sessions(Generic[S]):
    """Bookkeeping shared by both managers (the options are those of
    :class:`~lllm_adapters.jupyter.notebook_session.NotebookSession`)."""

    _session_type: type[S]

    def __init__(self, root: Path | str, **options: Unpack[NotebookOptions]) -> None:
        unknown = sorted(set(options) - NotebookOptions.__optional_keys__)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unknown options {', '.join(unknown)}; the options "
                f"are {', '.join(sorted(NotebookOptions.__optional_keys__))}"
            )
        self.root = Path(root).resolve()
        self._options = options
        self._open: dict[str, S] = {}

    def _folder(self, name: str) -> Path:
        return self.root / check_session_name(name)

    def create_session(
        self, name: str, metadata: SessionMetadata | Mapping[str, Any] | None = None
    ) -> S:
        """A new session called ``name`` (its folder must not exist yet).

        Bad metadata raises :class:`SandboxError` before anything is written; if building the
        session fails anyway, its folder is removed, so the name stays free.
        """
        folder = self._folder(name)
        if folder.exists():
            raise SandboxError(
                f"session {name!r} already exists in {self.root}; use get_session to open it or "
                "delete_session to remove it first"
            )
        checked = check_metadata(metadata)
        folder.mkdir(parents=True)
        try:
            session = self._session_type(folder, name=name, metadata=checked, **self._options)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._open[name] = session
        return session

    def get_session(self, name: str) -> S:
        """The session called ``name``: the open one, or reopened from its folder."""
        if name in self._open:
            return self._open[name]
        folder = self._folder(name)
        if not (folder / NOTEBOOK_NAME).exists():
            raise SessionNotFoundError(
                f"no sandbox session {name!r} in {self.root}; create it with create_session "
                f"(existing: {', '.join(self.list_sessions()) or 'none'})"
            )
        session = self._session_type(folder, name=name, **self._options)
        self._open[name] = session
        return session

    def list_sessions(self) -> list[str]:
        """The names of every session on disk."""
        if not self.root.exists():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{NOTEBOOK_NAME}"))

    def from_dict(self, data: Mapping[str, Any]) -> S:
        """Rebuild a session from :meth:`NotebookSession.to_dict` output (replacing none).

        Malformed data raises :class:`SandboxError` naming what is wrong, before anything is
        written; if building the session fails anyway, its folder is removed.
        """
        name, _, _ = NotebookSession.check_dict(data)
        folder = self._folder(name)
        if folder.exists():
            raise SandboxError(f"session {name!r} already exists in {self.root}; delete it first")
        folder.mkdir(parents=True)
        try:
            NotebookSession.write_from_dict(data, folder)
            return self.get_session(name)
        except BaseException:
            self._open.pop(name, None)
            shutil.rmtree(folder, ignore_errors=True)
            raise


class JupyterSandbox(_Sessions[JupyterSession]):
    """Blocking session manager. Starting kernels is lazy: a session's kernel starts on its
    first run. Use as a context manager to shut every kernel down at the end."""

    _session_type = JupyterSession

    def shutdown_session(self, name: str) -> None:
        """Stop the session's kernel; its folder stays on disk."""
        session = self._open.pop(name, None)
        if session is not None:
            session.shutdown()

    def delete_session(self, name: str) -> None:
        """Stop the session's kernel and remove its folder."""
        self.shutdown_session(name)
        folder = self._folder(name)
        if not folder.exists():
            raise SessionNotFoundError(f"no sandbox session {name!r} in {self.root} to delete")
        shutil.rmtree(folder)

    def shutdown_all(self) -> None:
        """Stop every open session's kernel."""
        for name in list(self._open):
            self.shutdown_session(name)

    def __enter__(self) -> JupyterSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown_all()


class AsyncJupyterSandbox(_Sessions[AsyncJupyterSession]):
    """Async session manager (sessions are :class:`AsyncJupyterSession`)."""

    _session_type = AsyncJupyterSession

    async def shutdown_session(self, name: str) -> None:
        """Stop the session's kernel; its folder stays on disk."""
        session = self._open.pop(name, None)
        if session is not None:
            await session.shutdown()

    async def delete_session(self, name: str) -> None:
        """Stop the session's kernel and remove its folder."""
        await self.shutdown_session(name)
        folder = self._folder(name)
        if not folder.exists():
            raise SessionNotFoundError(f"no sandbox session {name!r} in {self.root} to delete")
        shutil.rmtree(folder)

    async def shutdown_all(self) -> None:
        """Stop every open session's kernel."""
        for name in list(self._open):
            await self.shutdown_session(name)

    async def __aenter__(self) -> AsyncJupyterSandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown_all()


if TYPE_CHECKING:
    # mypy checks here that the adapters satisfy the domain's protocols.
    def _session_conforms(s: JupyterSession) -> SandboxSession:
        return s

    def _async_session_conforms(s: AsyncJupyterSession) -> AsyncSandboxSession:
        return s

    def _sandbox_conforms(s: JupyterSandbox) -> Sandbox:
        return s
