"""A log store in one SQLite database file (WAL mode): the embedded default for real runs.

Many threads and asyncio tasks may append at once: the store holds one connection guarded by a
lock (SQLite lets one writer in at a time anyway), and other processes may share the file thanks
to SQLite's own locking and a generous busy timeout. Records are indexed by (collection, session)
and by (session, time); sessions are looked up by their key (a hash of the full name) and the
name is stored redacted, so a secret in a task text never lands in the database.
``append_many`` writes a batch in one transaction, ``append_entries`` a batch across collections
and sessions, and ``commit_entries`` / ``sync_commits`` do the same for the log writer, which
syncs its commits itself.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time as _time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from lllm_domain.ports import LogEntry, LogRecord

from lllm_adapters.logs.background_sync import BackgroundSync, fsync_path
from lllm_adapters.logs.database_store import DatabaseLogStore, EncodedRow, sole_key
from lllm_adapters.logs.host_link import HostedWrites, host_link
from lllm_adapters.logs.record_codec import LogStoreError, decode_data
from lllm_adapters.logs.session_key import session_hash
from lllm_adapters.observability.redaction import Redactor

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    session_key TEXT NOT NULL,
    session TEXT NOT NULL,
    time REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_session ON records (collection, session_key, id);
CREATE INDEX IF NOT EXISTS records_by_time ON records (session_key, time);
"""
_INSERT = (
    "INSERT INTO records (collection, session_key, session, time, data) VALUES (?, ?, ?, ?, ?)"
)
_ROWS_PER_STATEMENT = 1000
"""Rows per multi-row INSERT (5 parameters each, well under SQLite's 32 766)."""


@lru_cache(maxsize=64)
def _insert_sql(rows: int) -> str:
    return _INSERT + ", (?, ?, ?, ?, ?)" * (rows - 1)


class SQLiteLogStore(DatabaseLogStore, HostedWrites):
    """Records in the SQLite database at ``path`` (created if missing).

    ``durable=True`` (the default) syncs every commit to disk. A commit returns once it is
    written, which is safe if the process is killed; the database's write-ahead log is synced
    moments later, once for every commit made meanwhile, so a commit survives a crash of the
    machine within one disk sync (:meth:`sync` waits for it). The log writer syncs the commits
    it made itself, in its own thread (:meth:`commit_entries`, :meth:`sync_commits`); other
    appends are synced by a background thread. With
    ``wait_for_sync=True`` every commit waits for its own sync (``synchronous=FULL``).
    ``durable=False`` never syncs but at checkpoints (``synchronous=NORMAL``): still safe if
    the process is killed, but the last commits may be lost if the machine goes down.
    ``redactor`` removes secrets from every record before it is written (by default: built from
    the environment now).

    While several async agent calls log here at once, the log writer sends their records to a
    log host process that writes this database for them (see :meth:`log_pipeline` and
    :mod:`lllm_adapters.logs.log_host`); ``log_host=False`` writes everything in this process.
    Close the store with :meth:`close` or use it as a context manager.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = True,
        wait_for_sync: bool = False,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = _time.time,
        busy_timeout: float = 30.0,
        log_host: bool = True,
    ) -> None:
        self.path = Path(path)
        self.durable = durable
        self.wait_for_sync = wait_for_sync
        self._syncer: BackgroundSync | None = None
        if durable and not wait_for_sync:
            wal = self.path.with_name(self.path.name + "-wal")
            self._syncer = BackgroundSync(lambda: fsync_path(wal), f"the SQLite log {wal}")
        self._redactor = redactor if redactor is not None else Redactor.from_environment()
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            full = durable and wait_for_sync
            self._db.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise LogStoreError(
                f"cannot open the SQLite log database {self.path}: {error}; "
                "check that the folder is writable and the file is an SQLite database"
            ) from error
        spec = {
            "store": "sqlite",
            "path": str(self.path.resolve()),
            "durable": durable,
            "wait_for_sync": wait_for_sync,
            "busy_timeout": busy_timeout,
        }
        self._link = host_link(spec, self._redactor, repr(self)) if log_host else None

    def __repr__(self) -> str:
        return (
            f"SQLiteLogStore({str(self.path)!r}, durable={self.durable}, "
            f"wait_for_sync={self.wait_for_sync})"
        )

    def _close(self) -> None:
        try:
            if self._link is not None:
                self._link.close()  # the host writes what it has, syncs and exits
            self.sync()
        finally:
            with self._lock:
                self._db.close()

    def sync(self) -> None:
        """Wait until every commit so far is synced to disk (at once when ``durable=False`` or
        ``wait_for_sync=True``: then there is nothing to wait for), the log host's too."""
        if self._link is not None:
            self._link.sync()
        if self._syncer is not None:
            self._syncer.wait()

    # -- writing -----------------------------------------------------------------------------

    def commit_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store entries of any collections and sessions at once, as ``append_entries`` does,
        but leave the sync to disk to :meth:`sync_commits` (the log writer's way: it syncs in
        its own thread once it has woken the calls waiting for the commit)."""
        if entries:
            rows = self._encode(entries)
            self._insert(entries[0].collection, entries[0].session, rows, background_sync=False)

    def sync_commits(self) -> None:
        """Sync to disk, in this thread, every commit not synced yet (at once when
        ``durable=False`` or ``wait_for_sync=True``: then there is nothing to sync). A failed
        sync raises here and at every later commit."""
        if self._syncer is not None:
            self._syncer.sync_requested()

    def _insert(
        self,
        collection: str,
        session: str,
        rows: Sequence[EncodedRow],
        *,
        background_sync: bool = True,
    ) -> None:
        names: dict[str, tuple[str, str]] = {}
        db_rows = []
        for row_collection, name, at, body in rows:
            key_name = names.get(name) or names.setdefault(name, self._names(name))
            db_rows.append((row_collection, *key_name, at, body))
        with self._lock:
            self._execute(collection, session, lambda: self._insert_rows(db_rows), background_sync)

    def _insert_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` atomically. Up to :data:`_ROWS_PER_STATEMENT` rows go in one
        multi-row INSERT, which is its own transaction: one step of the SQLite engine, so the
        GIL is released and taken back once, not once per row (a writer thread that must wait
        for the GIL after every row stalls behind a busy event loop)."""
        if len(rows) <= _ROWS_PER_STATEMENT:
            self._db.execute(_insert_sql(len(rows)), [v for row in rows for v in row])
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(rows), _ROWS_PER_STATEMENT):
                chunk = rows[start : start + _ROWS_PER_STATEMENT]
                self._db.execute(_insert_sql(len(chunk)), [v for row in chunk for v in row])
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _names(self, session: str) -> tuple[str, str]:
        # Look-ups use the key (a hash of the full name); the stored name is redacted.
        return session_hash(session), self._redactor.redact_text(session)

    def _execute(
        self,
        collection: str,
        session: str,
        action: Callable[[], object],
        background_sync: bool = True,
    ) -> None:
        if self._syncer is not None:
            self._syncer.check()
        try:
            action()
        except sqlite3.Error as error:
            raise LogStoreError(
                f"cannot store a record in {collection!r} for session {session!r} in "
                f"{self.path}: {error}"
            ) from error
        if self._syncer is not None:
            self._syncer.request(background=background_sync)

    # -- reading -----------------------------------------------------------------------------

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Every record of (collection, session), in the order appended."""
        with self._lock:
            key = session_hash(session)
            rows = self._db.execute(
                "SELECT time, data FROM records WHERE collection = ? AND session_key = ? "
                "ORDER BY id",
                (collection, key),
            ).fetchall()
            if not rows and self._redactor.placeholder in session:
                # sessions() lists names redacted; accept them back when they are unambiguous.
                keys = self._db.execute(
                    "SELECT DISTINCT session_key FROM records WHERE session = ?", (session,)
                ).fetchall()
                found = sole_key(session, keys)
                if found is not None:
                    rows = self._db.execute(
                        "SELECT time, data FROM records WHERE collection = ? AND session_key = ?"
                        " ORDER BY id",
                        (collection, found),
                    ).fetchall()
        where = f"record {{}} of {collection!r} for session {session!r} in {self.path}"
        return [
            LogRecord(seq, t, decode_data(data, where=where.format(seq)))
            for seq, (t, data) in enumerate(rows)
        ]

    def sessions(self) -> list[str]:
        """The names of every session with at least one record, sorted."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT session FROM records").fetchall()
        return sorted(name for (name,) in rows)
