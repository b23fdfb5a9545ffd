"""A real PostgreSQL server for the tests, in a temporary data directory on 127.0.0.1.

Use the session-scoped ``postgres_server`` pytest fixture (import it into a test module or a
``conftest.py``), or :func:`shared_postgres` from helpers that run outside fixtures. The server
is started once per test session, on first use: ``initdb`` and ``postgres`` from Debian's
``postgresql`` package (``scripts/test`` installs it when missing), run as a non-root user
(``lllm-test``, created when the tests run as root, since PostgreSQL refuses to run as root),
with password authentication over TCP. It stops when the session ends (or the test process
exits). Its connection string is exported in ``$LLLM_TEST_POSTGRES_DSN``, so subprocesses the
tests start (crash tests, workers) use the same server instead of starting their own.

Tests isolate themselves with a schema each: :meth:`PostgresServer.schema_dsn` creates one and
returns a connection string whose ``search_path`` is that schema. The server trades
durability against a machine crash for speed (``fsync=off``); a killed *client* still loses
no committed record, which is what the tests check.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

DSN_VARIABLE = "LLLM_TEST_POSTGRES_DSN"
"""Where a running test server's connection string is published to subprocesses."""

OS_USER = "lllm-test"
"""The system user the server runs as when the tests run as root."""

DB_USER = "lllm"
"""The database superuser the tests connect as (with a password, over TCP)."""


def _binaries() -> Path:
    """The folder holding ``initdb`` and ``postgres`` (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).resolve().parent
    pytest.fail(
        "PostgreSQL's initdb is not installed: run the tests with scripts/test (it installs "
        "Debian's postgresql package) or `apt-get install postgresql`",
        pytrace=False,
    )


def _run_as() -> tuple[int, int] | None:
    """The (uid, gid) to run the server as: ``lllm-test`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
            check=False,
            capture_output=True,
        )
        entry = pwd.getpwnam(OS_USER)  # another process may have created it meanwhile
    return entry.pw_uid, entry.pw_gid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_death_signal(command: list[str]) -> list[str]:
    """``command`` run so that it gets SIGINT (PostgreSQL's fast shutdown) if the thread that
    started it dies without stopping it (a test process killed by a timeout), when the test
    runs on the main thread and util-linux's ``setpriv`` is there; else ``command`` as it is."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return command
    return [setpriv, "--pdeathsig", "INT", *command]


class PostgresServer:
    """A PostgreSQL server of the tests (see the module's docs). ``dsn`` connects as the
    superuser ``lllm`` to the database ``postgres``."""

    def __init__(self, dsn: str, *, owned: bool) -> None:
        self.dsn = dsn
        self.password = str(conninfo.conninfo_to_dict(dsn).get("password") or "")
        self.owned = owned
        """Whether this process started the server (and stops it)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None

    @classmethod
    def start(
        cls, *, settings: Sequence[str] = ("fsync=off", "full_page_writes=off")
    ) -> PostgresServer:
        """Start a new server (``settings`` are ``postgres -c`` options); stop it with
        :meth:`stop`."""
        bin_dir = _binaries()
        run_as = _run_as()
        folder = Path(tempfile.mkdtemp(prefix="lllm-pg-"))
        password = secrets.token_hex(12)
        (folder / "pw").write_text(password + "\n")
        if run_as is not None:
            os.chown(folder, *run_as)
            os.chown(folder / "pw", *run_as)
        as_user: dict[str, object] = (
            {"user": run_as[0], "group": run_as[1], "extra_groups": []} if run_as else {}
        )
        data = folder / "data"
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                DB_USER,
                f"--pwfile={folder / 'pw'}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=False,
            capture_output=True,
            text=True,
            cwd=folder,
            **as_user,  # type: ignore[call-overload]
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed in {folder}:\n{initdb.stdout}{initdb.stderr}")
        port = _free_port()
        options = [f"-c{s}" for s in settings]
        log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed with the server
        command = _with_death_signal(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(folder),
                "-cmax_connections=200",
                *options,
            ]
        )
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            **as_user,  # type: ignore[call-overload]
        )
        log.close()
        dsn = conninfo.make_conninfo(
            host="127.0.0.1", port=port, user=DB_USER, password=password, dbname="postgres"
        )
        server = cls(dsn, owned=True)
        server._proc, server._folder = proc, folder
        server._wait_ready()
        return server

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL did not start:\n{self.server_log()}")
            try:
                with psycopg.connect(self.dsn, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def server_log(self) -> str:
        """What the server wrote to its log so far (for failure messages)."""
        if self._folder is None:
            return ""
        with contextlib.suppress(OSError):
            return (self._folder / "server.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        """Stop the server (a fast shutdown) and delete its data directory."""
        if not self.owned or self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def execute(self, sql: str) -> None:
        """Run ``sql`` as the superuser (autocommit)."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.encode())

    def schema_dsn(self, key: str | os.PathLike[str]) -> str:
        """A connection string whose ``search_path`` is a schema of its own for ``key`` (e.g.
        a test's ``tmp_path``): the same key gives the same schema, from any process."""
        schema = "t_" + hashlib.sha256(os.fspath(key).encode()).hexdigest()[:20]
        for _ in range(3):
            try:
                self.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                break
            except psycopg.errors.UniqueViolation:  # two processes created it at once
                continue
        return conninfo.make_conninfo(self.dsn, options=f"-csearch_path={schema}")


_SHARED: dict[str, PostgresServer] = {}
"""The test session's server, under ``"server"`` once started or found."""


def shared_postgres() -> PostgresServer:
    """The test session's server: the one ``$LLLM_TEST_POSTGRES_DSN`` names (a parent test
    process's), else one started now and stopped when this process exits."""
    server = _SHARED.get("server")
    if server is None:
        inherited = os.environ.get(DSN_VARIABLE)
        if inherited:
            server = PostgresServer(inherited, owned=False)
        else:
            server = PostgresServer.start()
            os.environ[DSN_VARIABLE] = server.dsn
            atexit.register(server.stop)
        _SHARED["server"] = server
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (started on first use, stopped at the end)."""
    server = shared_postgres()
    yield server
    if server.owned:
        server.stop()
        os.environ.pop(DSN_VARIABLE, None)
        _SHARED.pop("server", None)
