"""What the PostgreSQL log store adds to the log-store contract (which it also passes): tables
created safely by many processes at once, a turn written in one transaction, a forked child
that never touches its parent's connection, a connection lost and found again, and a
connection string whose password never shows."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psycopg
import pytest
from lllm_adapters.logs import LogStoreError, open_log_store
from lllm_adapters.logs.postgres_store import PostgresLogStore, redact_dsn
from lllm_adapters.observability import Redactor
from lllm_domain.ports import LogEntry
from psycopg import conninfo

from tests.support.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]


def _store(server: PostgresServer, key: Path, **kwargs: object) -> PostgresLogStore:
    return PostgresLogStore(server.schema_dsn(key), redactor=Redactor(), **kwargs)  # type: ignore[arg-type]


def _open_at_once(dsn: str, count: int) -> list[PostgresLogStore]:
    """``count`` stores opened by as many threads released together."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    stores: list[PostgresLogStore] = []

    def open_one() -> None:
        barrier.wait()
        try:
            stores.append(PostgresLogStore(dsn, redactor=Redactor()))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    return stores


def test_many_stores_creating_the_tables_at_once_all_succeed(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    for attempt in range(4):
        stores = _open_at_once(postgres_server.schema_dsn(tmp_path / str(attempt)), 8)
        for i, store in enumerate(stores):
            store.append("messages", "s", {"i": i})
        assert len(stores[0].read("messages", "s")) == 8
        for store in stores:
            store.close()


def test_a_turn_is_written_in_one_transaction_all_or_nothing(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    store = _store(postgres_server, tmp_path)
    turn = [
        LogEntry("messages" if i % 2 else "calls", f"session {i % 3}", {"i": i}) for i in range(30)
    ]
    store.append_entries(turn)
    with psycopg.connect(postgres_server.schema_dsn(tmp_path)) as conn:
        writers = conn.execute("SELECT DISTINCT xmin::text FROM lllm_log_records").fetchall()
    assert len(writers) == 1  # one transaction wrote every record of the turn
    assert [r.data["i"] for r in store.read("messages", "session 1")] == [1, 7, 13, 19, 25]

    # A record the server refuses (a NUL in a text column) fails the whole turn: none is kept.
    bad = [LogEntry("messages", "s2", {"i": 0}), LogEntry("bad\x00collection", "s2", {"i": 1})]
    with pytest.raises(LogStoreError, match=r"cannot store a record .*0x00"):
        store.append_entries(bad)
    assert store.read("messages", "s2") == []
    assert "s2" not in store.sessions()
    store.close()


def test_a_forked_child_uses_its_own_connection_and_leaves_the_parents_alone(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    store = _store(postgres_server, tmp_path)
    store.append("messages", "s", {"who": "parent", "i": -1})
    pid = os.fork()
    if pid == 0:  # the child writes and reads while the parent does, then closes the store
        code = 1
        try:
            for i in range(100):
                store.append("messages", "s", {"who": "child", "i": i})
                store.read("messages", "other")
            store.close()  # must not end the parent's session with the server
            code = 0
        finally:
            os._exit(code)
    for i in range(100):
        store.append("messages", "s", {"who": "parent", "i": i})
        store.read("messages", "other")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.append("messages", "s", {"who": "parent", "i": 100})  # still connected
    records = [r.data for r in store.read("messages", "s")]
    for who, expected in (("parent", list(range(-1, 101))), ("child", list(range(100)))):
        assert [d["i"] for d in records if d["who"] == who] == expected
    store.close()


def test_a_lost_connection_is_opened_again(postgres_server: PostgresServer, tmp_path: Path) -> None:
    store = _store(postgres_server, tmp_path)
    store.append("messages", "s", {"i": 0})
    postgres_server.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'lllm' AND pid <> pg_backend_pid()"
    )
    assert [r.data["i"] for r in store.read("messages", "s")] == [0]  # reads retry at once
    store.append("messages", "s", {"i": 1})
    assert [r.data["i"] for r in store.read("messages", "s")] == [0, 1]
    store.close()


def test_the_password_never_shows(postgres_server: PostgresServer, tmp_path: Path) -> None:
    password = postgres_server.password
    dsn = postgres_server.schema_dsn(tmp_path)
    store = PostgresLogStore(dsn, redactor=Redactor())
    assert password not in repr(store) and password not in store.dsn
    assert "password=***" in repr(store)
    # A record that quotes the connection string is stored without the password.
    store.append("messages", "s", {"text": f"connected with {dsn}"})
    [record] = store.read("messages", "s")
    assert password not in str(record.data)
    store.close()
    with pytest.raises(LogStoreError, match="is closed"):
        store.read("messages", "s")

    url = f"postgresql://lllm:{password}@127.0.0.1:1/db?sslmode=disable"
    assert password not in redact_dsn(url)
    assert "password=***" in redact_dsn(url) and "port=1" in redact_dsn(url)
    assert redact_dsn("host='unterminated") == "an unreadable connection string"
    with pytest.raises(LogStoreError) as refused:
        PostgresLogStore(url, connect_timeout=2)
    assert password not in str(refused.value)
    assert "port=1" in str(refused.value) and "LLLM_POSTGRES_DSN" in str(refused.value)


def test_the_factory_reads_the_connection_string_from_the_environment(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    dsn = postgres_server.schema_dsn(tmp_path)
    store = open_log_store("postgres", environ={"LLLM_POSTGRES_DSN": dsn})
    assert isinstance(store, PostgresLogStore)
    store.append("messages", "s", {"i": 1})
    store.close()
    # An explicit connection string wins over the environment.
    other = open_log_store("postgresql", dsn=dsn, environ={"LLLM_POSTGRES_DSN": "host=nowhere"})
    assert [r.data for r in other.read("messages", "s")] == [{"i": 1}]
    assert isinstance(other, PostgresLogStore)
    other.close()
    with pytest.raises(LogStoreError, match="LLLM_POSTGRES_DSN"):
        open_log_store("postgres", environ={})


def test_durable_false_turns_synchronous_commit_off_for_its_connection_only(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    fast = _store(postgres_server, tmp_path, durable=False)
    fast.append("messages", "s", {"i": 1})
    assert fast._run(  # the store's own session
        lambda: "show", lambda conn: conn.execute("SHOW synchronous_commit").fetchone()
    ) == ("off",)
    durable = _store(postgres_server, tmp_path)
    assert durable._run(
        lambda: "show", lambda conn: conn.execute("SHOW synchronous_commit").fetchone()
    ) == ("on",)
    fast.close()
    durable.close()


def test_records_are_in_bytea_json_that_sql_can_read(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    store = _store(postgres_server, tmp_path)
    store.append("messages", "sql-readable", {"status": "ok", "n": 3})
    with psycopg.connect(postgres_server.schema_dsn(tmp_path)) as conn:
        row = conn.execute(
            "SELECT convert_from(s.session, 'UTF8'), convert_from(r.data, 'UTF8')::jsonb->>'status'"
            " FROM lllm_log_records r JOIN lllm_log_sessions s USING (session_key)"
        ).fetchone()
    assert row == ("sql-readable", "ok")
    store.close()


def test_conninfo_options_survive_redaction() -> None:
    shown = redact_dsn(conninfo.make_conninfo("host=h dbname=d", password="p4ssw0rd-long"))
    assert "p4ssw0rd-long" not in shown and "dbname=d" in shown
