"""A real two-node Ray cluster on 127.0.0.1 for tests: a head and a second node, each started
with ``ray start --block`` in a process group of its own, so one node can be killed (SIGKILL to
its whole group: raylet, object store, workers) while the other goes on, and both are stopped
by their own process ids at the end (never ``ray stop``, which would end every Ray on the
machine)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
            # Notice a dead node within seconds, not the default half-minute.
            "RAY_health_check_period_ms": "500",
            "RAY_health_check_timeout_ms": "500",
            "RAY_health_check_failure_threshold": "3",
        }
    )
    return env


class RayCluster:
    """Two Ray nodes on this machine; ``address`` is the head's ``127.0.0.1:PORT``."""

    def __init__(self, temp_dir: Path, *, cpus_per_node: int = 2) -> None:
        self.temp_dir = temp_dir
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.cpus = cpus_per_node
        self.head: subprocess.Popen[bytes] | None = None
        self.node: subprocess.Popen[bytes] | None = None

    def _start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = (self.temp_dir / log).open("wb")
        return subprocess.Popen(
            [str(RAY), "start", "--block", "--node-ip-address=127.0.0.1", *args],
            env=_ray_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> RayCluster:
        """Start the head, then the second node; return once both run."""
        self.head = self._start(
            "--head",
            f"--port={self.port}",
            f"--num-cpus={self.cpus}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={self.temp_dir / 'ray'}",
            log="head.log",
        )
        self._wait_started("head.log")
        self.node = self._start(
            f"--address={self.address}", f"--num-cpus={self.cpus}", log="node.log"
        )
        self._wait_started("node.log")
        return self

    def _wait_started(self, log: str, timeout: float = 120.0) -> None:
        """Wait for ``ray start`` to say the node runs (cheaper than asking the cluster: the
        machine has two cores, and a node that starts slowly is failed by Ray)."""
        path = self.temp_dir / log
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = path.read_text(errors="replace") if path.exists() else ""
            if "Ray runtime started" in text:
                return
            for proc in (self.head, self.node):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"a Ray node exited while starting:\n{text[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"a Ray node did not start in {timeout} s; see {path}")

    def node_processes(self) -> dict[int, bytes]:
        """The second node's processes, by pid, with their command lines: its process group
        and every descendant (Ray starts its workers in process groups of their own, so a
        signal to the group alone leaves them running)."""
        if self.node is None or self.node.poll() is not None:
            return {}
        parents: dict[int, int] = {}
        groups: dict[int, int] = {}
        lines: dict[int, bytes] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                lines[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry)] = int(fields[1])
            groups[int(entry)] = int(fields[2])
        members = {pid for pid, group in groups.items() if group == self.node.pid}
        grown = True
        while grown:
            children = {pid for pid, parent in parents.items() if parent in members}
            grown = not children <= members
            members |= children
        return {pid: lines.get(pid, b"") for pid in members}

    def node_actor_pids(self) -> list[int]:
        """The second node's processes that host an actor of the batch engine (Ray titles
        them ``ray::_Worker...``): a kill meant to hit running rows waits for one."""
        return [pid for pid, line in self.node_processes().items() if b"_Worker" in line]

    def kill_node(self) -> None:
        """SIGKILL the second node as a dead machine would go: its process group (raylet,
        object store) and every process it started (the workers)."""
        if self.node is not None and self.node.poll() is None:
            doomed = list(self.node_processes())
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.node.pid, signal.SIGKILL)
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.node.wait(10)

    def stop(self) -> None:
        """SIGKILL both nodes' process groups (the ones this object started; a graceful stop
        drains for up to 30 s and there is nothing to keep)."""
        for proc in (self.node, self.head):
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
