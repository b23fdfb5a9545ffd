"""A log store of plain JSON files: one file per append under
``<log_dir>/<collection>/<session key>/``.

An append is one file, ``<number>.json``: a single record (``append``) is one JSON document, a
batch (``append_many``) one JSON array of them. The file is written under a temporary name,
flushed to disk (``fsync``), then published under its final name with a hard link — an atomic
rename that refuses to overwrite — and the folder is synced. A reader therefore sees whole
batches or nothing: a writer killed mid-batch leaves only a temporary file, which the next store
to open the log folder removes. Because publishing never overwrites, several processes may append
to the same session: the loser of a race for a file number simply takes the next one. A record's
``seq`` is its position in the session (files in number order, records in file order).

Session names are data: the folder is :func:`~lllm_adapters.logs.session_key.session_key` of the
name, and the (redacted) name itself is kept in ``_session.json`` beside the records.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time as _time
import uuid
from collections.abc import Callable, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import msgspec
from lllm_domain.ports import LogEntry, LogRecord

from lllm_adapters.logs.host_link import HostedWrites, host_link
from lllm_adapters.logs.record_codec import LogStoreError, StoredRecord, encode_record
from lllm_adapters.logs.session_key import collection_key, session_hash, session_key
from lllm_adapters.observability.redaction import Redactor

_RECORD_NAME = re.compile(r"(\d{12})\.json")
_NAME_FILE = "_session.json"
_TMP_PREFIX = ".tmp-"
# Temporary files carry their writer's pid, so a store opening the folder can tell a dead
# writer's leftover from a file another process is about to publish.
_TMP_NAME = re.compile(r"\.tmp-(?:(\d+)-)?[0-9a-f]{32}")
_LEGACY_TMP_AGE = 600.0
"""Seconds after which a temporary file from a version that did not name its writer is
removed (no writer holds one that long)."""
_file_decoder = msgspec.json.Decoder(StoredRecord | list[StoredRecord])


class FileLogStore(HostedWrites):
    """Records as JSON files in ``log_dir`` (see the module docstring for the layout).

    ``durable=False`` skips the ``fsync`` calls: records still appear atomically, but the last
    ones may be lost if the machine (not just the process) goes down. ``redactor`` removes secrets
    from every record before it is written (by default: built from the environment now).

    Opening a store removes the temporary files that writers killed mid-append left in the log
    folder (those of live processes on this machine are kept).

    While several async agent calls log here at once, the log writer sends their records to a
    log host process that writes these files for them (see :meth:`log_pipeline`);
    ``log_host=False`` writes everything in this process. :meth:`close` (or the store as a
    context manager) writes what is on its way and stops the host.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        durable: bool = True,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = _time.time,
        log_host: bool = True,
    ) -> None:
        self.log_dir = Path(log_dir).resolve()
        self.durable = durable
        self._redactor = redactor if redactor is not None else Redactor.from_environment()
        self._clock = clock
        self._guard = threading.Lock()
        self._locks: dict[Path, threading.Lock] = {}
        self._next: dict[Path, int] = {}  # the next file number to try, per folder
        self._folders: dict[tuple[str, str], Path] = {}
        _remove_leftovers(self.log_dir)
        spec = {"store": "localfile", "path": str(self.log_dir), "durable": durable}
        self._link = host_link(spec, self._redactor, repr(self)) if log_host else None

    def __repr__(self) -> str:
        return f"FileLogStore({str(self.log_dir)!r}, durable={self.durable})"

    def close(self) -> None:
        """Write the records already handed to this store's log writer, then let the log host
        (if one was started) write what it has, sync and exit. The store stays usable: records
        appended later are written in this process."""
        from lllm_domain.log_writer import writer_for

        writer_for(self).flush()
        if self._link is not None:
            self._link.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store one record (durably unless ``durable=False``)."""
        self.append_many(collection, session, [data])

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store several records, in order, all or nothing: they are published as one file, so
        a reader (or a writer killed midway) never leaves part of the batch visible."""
        if not records:
            return
        now = self._clock()
        self._write_batch(collection, session, [(now, r) for r in records])

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store entries of any collections and sessions, in order, each with the time it was
        made (what the log writer hands over for a turn): every run of entries for one
        collection and session is published as one file, whole or not at all."""
        for (collection, session), run in groupby(entries, key=lambda e: (e.collection, e.session)):
            self._write_batch(collection, session, [(e.time, e.data) for e in run])

    def _write_batch(
        self, collection: str, session: str, records: Sequence[tuple[float, Mapping[str, Any]]]
    ) -> None:
        bodies = [encode_record(collection, session, t, r, self._redactor) for t, r in records]
        body = bodies[0] if len(bodies) == 1 else b"[" + b",".join(bodies) + b"]"
        folder = self._folder(collection, session)
        with self._lock_for(folder):
            if folder not in self._next:
                self._ensure_folder(folder, session)
                self._next[folder] = _next_number(folder)
            self._next[folder] = self._publish(folder, self._next[folder], body) + 1
            if self.durable:
                _fsync_dir(folder)

    def _publish(self, folder: Path, number: int, body: bytes) -> int:
        """Write ``body`` to a temporary file and publish it as the first free
        ``<number>.json`` from ``number`` on; return the number it took."""
        tmp = _tmp_path(folder)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view) :]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            while True:
                try:
                    os.link(tmp, folder / f"{number:012d}.json")
                    return number
                except FileExistsError:
                    number += 1  # another process took this number: take the next one
        finally:
            with contextlib.suppress(FileNotFoundError):
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
                tmp = _tmp_path(folder)
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
        records: list[LogRecord] = []
        for _, name in numbered:
            path = folder / name
            for stored in _decode_file(path):
                records.append(LogRecord(len(records), stored.time, stored.data))
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


def _decode_file(path: Path) -> list[StoredRecord]:
    """The records of one published file: a single record, or a batch."""
    try:
        stored = _file_decoder.decode(path.read_bytes())
    except msgspec.DecodeError as error:
        raise LogStoreError(f"{path} is damaged ({error}); restore it or delete it") from None
    return stored if isinstance(stored, list) else [stored]


def _tmp_path(folder: Path) -> Path:
    return folder / f"{_TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"


def _remove_leftovers(log_dir: Path) -> None:
    """Remove the temporary files of writers that died mid-append (``<log_dir>/*/*/.tmp-*``).

    Best effort: a folder that cannot be listed or a file that cannot be removed is left for a
    later store (reading needs no write access).
    """
    now = _time.time()
    for folder in _subfolders(log_dir, depth=2):
        try:
            names = [n for n in os.listdir(folder) if n.startswith(_TMP_PREFIX)]
        except OSError:
            continue
        for name in names:
            match = _TMP_NAME.fullmatch(name)
            if match is None:
                continue
            path = folder / name
            pid = match.group(1)
            with contextlib.suppress(OSError):
                if pid is None:
                    if now - path.stat().st_mtime < _LEGACY_TMP_AGE:
                        continue
                elif _alive(int(pid)):
                    continue
                path.unlink()


def _subfolders(root: Path, *, depth: int) -> list[Path]:
    folders = [root]
    for _ in range(depth):
        found: list[Path] = []
        for folder in folders:
            with contextlib.suppress(OSError), os.scandir(folder) as entries:
                found.extend(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))
        folders = found
    return folders


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (our own counts as alive: another store
    object in this process may be mid-append)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but is not ours to signal
    return True


def _next_number(folder: Path) -> int:
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
