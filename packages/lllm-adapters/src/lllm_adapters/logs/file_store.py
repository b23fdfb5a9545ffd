"""A log store of plain JSON files: one file per record under
``<log_dir>/<collection>/<session key>/``.

Each record is written to a temporary file, flushed to disk (``fsync``), then published under its
final name with a hard link — an atomic rename that refuses to overwrite — and the folder is
synced. A reader therefore sees whole records or nothing: a writer killed mid-record leaves only
an ignored temporary file. Because publishing never overwrites, several processes may append to
the same session: the loser of a race for a sequence number simply takes the next one.

Session names are data: the folder is :func:`~lllm_adapters.logs.session_key.session_key` of the
name, and the (redacted) name itself is kept in ``_session.json`` beside the records.
"""

from __future__ import annotations

import os
import re
import threading
import time as _time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from lllm_domain.ports import LogRecord

from lllm_adapters.logs.record_codec import LogStoreError, decode_record, encode_record
from lllm_adapters.logs.session_key import collection_key, session_hash, session_key
from lllm_adapters.observability.redaction import Redactor

_RECORD_NAME = re.compile(r"(\d{12})\.json")
_NAME_FILE = "_session.json"


class FileLogStore:
    """Records as JSON files in ``log_dir`` (see the module docstring for the layout).

    ``durable=False`` skips the ``fsync`` calls: records still appear atomically, but the last
    ones may be lost if the machine (not just the process) goes down. ``redactor`` removes secrets
    from every record before it is written (by default: built from the environment now).
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        durable: bool = True,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = _time.time,
    ) -> None:
        self.log_dir = Path(log_dir).resolve()
        self.durable = durable
        self._redactor = redactor if redactor is not None else Redactor.from_environment()
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[Path, threading.Lock] = {}
        self._next: dict[Path, int] = {}
        self._folders: dict[tuple[str, str], Path] = {}

    def __repr__(self) -> str:
        return f"FileLogStore({str(self.log_dir)!r}, durable={self.durable})"

    # -- writing -----------------------------------------------------------------------------

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store one record (durably unless ``durable=False``)."""
        self.append_many(collection, session, [data])

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store several records, in order; the folder is synced once for all of them."""
        if not records:
            return
        now = self._clock()
        bodies = [encode_record(collection, session, now, r, self._redactor) for r in records]
        folder = self._folder(collection, session)
        with self._lock_for(folder):
            if folder not in self._next:
                self._ensure_folder(folder, session)
                self._next[folder] = _next_seq(folder)
            seq = self._next[folder]
            for body in bodies:
                seq = self._publish(folder, seq, body) + 1
            self._next[folder] = seq
            if self.durable:
                _fsync_dir(folder)

    def _publish(self, folder: Path, seq: int, body: bytes) -> int:
        tmp = folder / f".tmp-{uuid.uuid4().hex}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        try:
            while True:
                try:
                    os.link(tmp, folder / f"{seq:012d}.json")
                    return seq
                except FileExistsError:
                    seq += 1  # another process took this number: take the next one
        finally:
            os.unlink(tmp)

    def _folder(self, collection: str, session: str) -> Path:
        cached = self._folders.get((collection, session))
        if cached is not None:
            return cached
        # The slug is cosmetic (made from the redacted name, which depends on the environment);
        # the hash is the identity, so an existing folder is found by its hash suffix.
        redact = self._redactor.redact_text
        parent = self.log_dir / collection_key(collection, readable=redact(collection))
        folder = parent / session_key(session, readable=redact(session))
        if not folder.exists() and parent.is_dir():
            suffix = "-" + session_hash(session)
            folder = next((p for p in parent.iterdir() if p.name.endswith(suffix)), folder)
        # Keys are built from a safe alphabet; this is a second line of defence.
        if folder.parent.parent != self.log_dir:
            raise LogStoreError(f"session {session!r} maps outside the log folder {self.log_dir}")
        if folder.exists():
            self._folders[(collection, session)] = folder
        return folder

    def _lock_for(self, folder: Path) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(folder)
            if lock is None:
                lock = self._locks[folder] = threading.Lock()
            return lock

    def _ensure_folder(self, folder: Path, session: str) -> None:
        try:
            created = not folder.exists()
            folder.mkdir(parents=True, exist_ok=True)
            name_file = folder / _NAME_FILE
            if not name_file.exists():
                tmp = folder / f".tmp-{uuid.uuid4().hex}"
                tmp.write_bytes(
                    self._redactor.redact_json(msgspec.json.encode({"session": session}))
                )
                if self.durable:
                    _fsync_file(tmp)
                os.replace(tmp, name_file)
            if created and self.durable:
                for directory in (folder, folder.parent, self.log_dir):
                    _fsync_dir(directory)
        except OSError as error:
            raise LogStoreError(
                f"cannot create the log folder {folder} for session {session!r}: {error}; "
                "check that the log folder is writable"
            ) from error

    # -- reading -----------------------------------------------------------------------------

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Every record of (collection, session), in the order appended."""
        folder = self._folder(collection, session)
        if not folder.exists() and self._redactor.placeholder in session:
            folder = self._listed_folder(collection, session) or folder
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        numbered = sorted(
            (int(m.group(1)), name) for name in names if (m := _RECORD_NAME.fullmatch(name))
        )
        records = []
        for seq, name in numbered:
            path = folder / name
            records.append(decode_record(seq, path.read_bytes(), where=str(path)))
        return records

    def _listed_folder(self, collection: str, listed: str) -> Path | None:
        """The folder of the one session that :meth:`sessions` lists as ``listed`` (a redacted
        name), if it is unambiguous."""
        parent = self._folder(collection, listed).parent
        if not parent.is_dir():
            return None
        matches = [
            folder
            for folder in parent.iterdir()
            if (folder / _NAME_FILE).is_file() and _session_name(folder / _NAME_FILE) == listed
        ]
        if len(matches) > 1:
            raise LogStoreError(
                f"{len(matches)} sessions are listed as {listed!r} (their names held secrets); "
                "read them by their real names"
            )
        return matches[0] if matches else None

    def sessions(self) -> list[str]:
        """The names of every session with at least one record, sorted."""
        found: set[str] = set()
        if not self.log_dir.is_dir():
            return []
        for collection in self.log_dir.iterdir():
            if not collection.is_dir():
                continue
            for folder in collection.iterdir():
                name_file = folder / _NAME_FILE
                if not name_file.is_file():
                    continue
                if any(_RECORD_NAME.fullmatch(n) for n in os.listdir(folder)):
                    found.add(_session_name(name_file))
        return sorted(found)


def _session_name(name_file: Path) -> str:
    try:
        name = msgspec.json.decode(name_file.read_bytes())["session"]
    except (msgspec.DecodeError, KeyError, TypeError) as error:
        raise LogStoreError(
            f"{name_file} is damaged ({error}); restore it, or delete its folder to drop that "
            "session"
        ) from None
    if not isinstance(name, str):
        raise LogStoreError(f"{name_file} is damaged (no session name); restore it")
    return name


def _next_seq(folder: Path) -> int:
    numbers = [int(m.group(1)) for n in os.listdir(folder) if (m := _RECORD_NAME.fullmatch(n))]
    return max(numbers) + 1 if numbers else 0


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Syncing a folder makes the names in it durable; some platforms cannot open folders.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
