"""A log store in a PostgreSQL database (psycopg 3): one log for many processes and machines.

The store holds one connection per process, guarded by a lock (the log writer's thread and any
reader share it); a child made by ``fork`` opens its own on first use and never touches the
parent's. Every write is one statement in autocommit mode, so one round trip and one commit:
``append_entries`` sends a whole turn's records as arrays that the server unnests in order, and
registers new session names in the same statement. The tables are created on first use, under
an advisory lock, so many processes may start at once against an empty database.

Data is the redacted JSON document of each record (``bytea``; ``convert_from(data, 'UTF8')``
reads it in SQL); session names live in their own table, keyed like the other stores by a hash
of the full name, with the name stored redacted (``bytea`` too: a name may hold any character,
NUL included). The connection string's password never appears in an error or a ``repr``.
"""

from __future__ import annotations

import os
import threading
import time as _time
import weakref
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from lllm_domain.ports import LogEntry, LogRecord

from lllm_adapters.extras import requires_extra
from lllm_adapters.logs.factory import POSTGRES_DSN_VARIABLE
from lllm_adapters.logs.record_codec import LogStoreError, decode_data, encode_data
from lllm_adapters.logs.session_key import session_hash
from lllm_adapters.observability.redaction import Redactor

with requires_extra("postgres", __name__):
    import psycopg
    from psycopg import conninfo as _conninfo

if TYPE_CHECKING:
    from psycopg import Connection

_T = TypeVar("_T")

RECORDS_TABLE = "lllm_log_records"
"""The table of records (in the first schema of the connection's ``search_path``)."""

SESSIONS_TABLE = "lllm_log_sessions"
"""The table of session names: one row per session, keyed by the hash of its name."""

_SCHEMA_LOCK = 0x6C6C6C6D_6C6F6773  # "lllmlogs": one advisory lock for creating the tables
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {SESSIONS_TABLE} (
    session_key TEXT PRIMARY KEY,
    session BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS {SESSIONS_TABLE}_by_name ON {SESSIONS_TABLE} (session);
CREATE TABLE IF NOT EXISTS {RECORDS_TABLE} (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection TEXT NOT NULL,
    session_key TEXT NOT NULL,
    time DOUBLE PRECISION NOT NULL,
    data BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS {RECORDS_TABLE}_by_session
    ON {RECORDS_TABLE} (collection, session_key, id);
CREATE INDEX IF NOT EXISTS {RECORDS_TABLE}_by_time ON {RECORDS_TABLE} (session_key, time);
"""
# One statement, so one round trip and (in autocommit) one atomic commit. New session names go
# in sorted by key, so concurrent writers take the key locks in one order and cannot deadlock.
_INSERT = f"""
WITH rows AS (
    SELECT * FROM unnest(%b::text[], %b::text[], %b::bytea[], %b::float8[], %b::bytea[])
        WITH ORDINALITY AS u(collection, session_key, session, time, data, n)
), new_sessions AS (
    INSERT INTO {SESSIONS_TABLE} (session_key, session)
    SELECT DISTINCT ON (session_key) session_key, session FROM rows ORDER BY session_key
    ON CONFLICT (session_key) DO NOTHING
)
INSERT INTO {RECORDS_TABLE} (collection, session_key, time, data)
SELECT collection, session_key, time, data FROM rows ORDER BY n
"""
_READ = (
    f"SELECT time, data FROM {RECORDS_TABLE} WHERE collection = %b AND session_key = %b ORDER BY id"
)
_KEYS_NAMED = f"SELECT session_key FROM {SESSIONS_TABLE} WHERE session = %b"
_SESSIONS = f"SELECT session FROM {SESSIONS_TABLE}"

_LIVE: weakref.WeakSet[PostgresLogStore] = weakref.WeakSet()
_INHERITED: list[object] = []
"""Connections a forked child inherited: kept (never used, never closed) so that neither the
child's garbage collector nor a close ends the parent's session with the server."""


def redact_dsn(dsn: str) -> str:
    """``dsn`` (a ``key=value`` string or a ``postgresql://`` URL) without its password, for
    messages and ``repr``: ``host=db port=5432 dbname=logs user=lllm password=***``. A string
    that cannot be parsed is not shown at all."""
    try:
        params = _conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        return "an unreadable connection string"
    shown = {k: ("***" if k == "password" else str(v)) for k, v in params.items()}
    return _conninfo.make_conninfo(**shown) if shown else "the libpq defaults"


def _name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogatepass")


def _name_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


class PostgresLogStore:
    """Records in the PostgreSQL database that ``dsn`` (a libpq connection string or URL)
    names; the tables are created on first use.

    ``durable=True`` (the default) waits for each commit to reach the server's disk (the
    server's ``synchronous_commit``); ``durable=False`` turns ``synchronous_commit`` off for
    this store's connection: still safe if this process is killed, but the server may lose its
    last commits if it goes down. ``redactor`` removes secrets from every record before it is
    written (by default: built from the environment now); the connection string's password is
    always among them. Close the store with :meth:`close` or use it as a context manager.
    """

    def __init__(
        self,
        dsn: str,
        *,
        durable: bool = True,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = _time.time,
        connect_timeout: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self.durable = durable
        self._shown = redact_dsn(dsn)
        self._password = self._password_of(dsn)
        base = redactor if redactor is not None else Redactor.from_environment()
        self._redactor = (
            Redactor([*base.secrets, self._password], placeholder=base.placeholder)
            if self._password
            else base
        )
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: Connection[Any] | None = None
        self._pid = os.getpid()
        self._closed = False
        with self._lock:
            self._connected(create_schema=True)
        _LIVE.add(self)

    @staticmethod
    def _password_of(dsn: str) -> str:
        try:
            return str(_conninfo.conninfo_to_dict(dsn).get("password") or "")
        except psycopg.Error:
            return ""

    @property
    def dsn(self) -> str:
        """The connection string with its password replaced by ``***``."""
        return self._shown

    def __repr__(self) -> str:
        return f"PostgresLogStore({self._shown!r}, durable={self.durable})"

    def __enter__(self) -> PostgresLogStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Write the records already handed to this store's log writer, then close this
        process's connection (further use raises)."""
        from lllm_domain.log_writer import writer_for

        writer_for(self).flush()
        with self._lock:
            self._closed = True
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # -- the connection ----------------------------------------------------------------------

    def _fail(self, what: str, error: BaseException, fix: str = "") -> LogStoreError:
        """The error for ``what`` failing: the database (password hidden), the server's words
        (any password in them hidden too) and ``fix``."""
        detail = " ".join(str(error).split()) or type(error).__name__
        if self._password:
            detail = detail.replace(self._password, "***")
        return LogStoreError(f"{what} ({self._shown}): {detail}" + (f"; {fix}" if fix else ""))

    def _connected(self, *, create_schema: bool = False) -> Connection[Any]:
        """This process's open connection (opened now if needed). Call with the lock held."""
        if self._closed:
            raise LogStoreError(f"the PostgreSQL log store ({self._shown}) is closed")
        conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        try:
            conn = psycopg.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=max(1, round(self._connect_timeout)),
                application_name="lllm",
            )
        except (psycopg.Error, OSError) as error:
            raise self._fail(
                "cannot connect to the PostgreSQL log database",
                error,
                "check the connection string (log_dsn in the system config, or "
                f"${POSTGRES_DSN_VARIABLE}) and that the server is up",
            ) from None
        try:
            if not self.durable:
                conn.execute("SET synchronous_commit = off")
            if create_schema:
                self._create_schema(conn)
        except psycopg.Error as error:
            conn.close()
            raise self._fail(
                f"cannot create the log tables {RECORDS_TABLE} and {SESSIONS_TABLE}",
                error,
                "grant the user CREATE on the schema, or create the tables once as their owner",
            ) from None
        self._conn = conn
        return conn

    @staticmethod
    def _create_schema(conn: Connection[Any]) -> None:
        # CREATE TABLE IF NOT EXISTS races with itself across sessions (both see no table, one
        # fails on the catalog's unique index): the advisory lock lets one process at a time in.
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
            (RECORDS_TABLE, SESSIONS_TABLE),
        ).fetchone()
        if row is not None and row[0]:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_SCHEMA)

    def _run(
        self,
        what: Callable[[], str],
        action: Callable[[Connection[Any]], _T],
        *,
        retry: bool = False,
    ) -> _T:
        """``action`` on this process's connection, under the lock. A connection found lost
        is opened again on the next call; ``retry`` (for reads) runs ``action`` again at once
        on a new connection. Writes are not retried: a write cut off in flight may have been
        committed, and a record must not be stored twice."""
        with self._lock:
            conn = self._connected()
            try:
                return action(conn)
            except psycopg.OperationalError as error:
                if not (retry and conn.closed):
                    raise self._fail(what(), error) from None
            except (psycopg.Error, UnicodeError) as error:
                raise self._fail(what(), error) from None
            conn = self._connected()
            try:
                return action(conn)
            except (psycopg.Error, UnicodeError) as error:
                raise self._fail(what(), error) from None

    # -- writing -----------------------------------------------------------------------------

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store one record (one statement, committed when this returns)."""
        body = encode_data(collection, session, data, self._redactor)
        self._insert(collection, session, [(collection, session, self._clock(), body)])

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store several records in one statement: all of them or none."""
        if not records:
            return
        now = self._clock()
        rows = [
            (collection, session, now, encode_data(collection, session, r, self._redactor))
            for r in records
        ]
        self._insert(collection, session, rows)

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store records of any collections and sessions in one statement (one round trip,
        one commit): all of them or none, each with the time it was made. The log writer
        commits each turn's records this way."""
        if not entries:
            return
        rows = [
            (
                e.collection,
                e.session,
                e.time,
                encode_data(e.collection, e.session, e.data, self._redactor),
            )
            for e in entries
        ]
        self._insert(entries[0].collection, entries[0].session, rows)

    def _insert(
        self, collection: str, session: str, rows: Sequence[tuple[str, str, float, bytes]]
    ) -> None:
        names: dict[str, tuple[str, bytes]] = {}
        for _, name, _, _ in rows:
            if name not in names:
                names[name] = (session_hash(name), _name_bytes(self._redactor.redact_text(name)))
        params = (
            [r[0] for r in rows],
            [names[r[1]][0] for r in rows],
            [names[r[1]][1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
        )
        self._run(
            lambda: f"cannot store a record in {collection!r} for session {session!r}",
            lambda conn: conn.execute(_INSERT, params),
        )

    # -- reading -----------------------------------------------------------------------------

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Every record of (collection, session), in the order appended."""

        def query(conn: Connection[Any]) -> list[tuple[Any, ...]]:
            rows = conn.execute(_READ, (collection, session_hash(session)), binary=True).fetchall()
            if not rows and self._redactor.placeholder in session:
                # sessions() lists names redacted; accept them back when they are unambiguous.
                keys = conn.execute(_KEYS_NAMED, (_name_bytes(session),)).fetchall()
                if len(keys) > 1:
                    raise LogStoreError(
                        f"{len(keys)} sessions are listed as {session!r} (their names held "
                        "secrets); read them by their real names"
                    )
                if keys:
                    rows = conn.execute(_READ, (collection, keys[0][0]), binary=True).fetchall()
            return rows

        rows = self._run(
            lambda: f"cannot read {collection!r} for session {session!r}", query, retry=True
        )
        where = f"record {{}} of {collection!r} for session {session!r} in {self._shown}"
        return [
            LogRecord(seq, float(t), decode_data(bytes(data), where=where.format(seq)))
            for seq, (t, data) in enumerate(rows)
        ]

    def sessions(self) -> list[str]:
        """The names of every session with at least one record, sorted."""
        rows = self._run(
            lambda: "cannot list the logged sessions",
            lambda conn: conn.execute(_SESSIONS, binary=True).fetchall(),
            retry=True,
        )
        return sorted({_name_text(bytes(raw)) for (raw,) in rows})


def _after_fork_in_child() -> None:
    # The child must not use (or close) the parent's connection, and a lock held by another
    # thread of the parent at the fork would stay held: start afresh, connect on first use.
    for store in list(_LIVE):
        store._lock = threading.Lock()
        if store._conn is not None:
            _INHERITED.append(store._conn)
            store._conn = None
        store._pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
