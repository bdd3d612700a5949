"""Real tritonserver processes on loopback, for tests and the local demo.

`TritonProcess` runs one server from a model repository; `LocalFleet` runs N of
them. Servers bind 127.0.0.1 only, write their log to a file, and are tied to the
Python process that started them so that no tritonserver outlives it (see
`_die_with_parent`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self

import requests

from .machine import (
    HOST,
    REPO_ROOT,
    _child_env,
    backend_directory,
    free_port_block,
    triton_home,
    tritonserver_binary,
)

DEMO_REPOSITORY: Path = REPO_ROOT / "fleet" / "demo" / "models"
# Everything in the demo repository except `longtail`, which stays unloaded so
# that on-demand loads have something to load.
DEMO_MODELS_AT_START: list[str] = ["fast", "versioned", "slow", "preprocess", "pipeline"]


class TritonStartError(RuntimeError):
    """A server exited, or never became ready, while we waited for it."""


# --------------------------------------------------------------------------- process

_PR_SET_DEATHSIG = 1
_prctl: Callable[..., int] | None
try:
    # Resolved in the parent: loading a library between fork and exec can deadlock.
    _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):  # not Linux/glibc: atexit is all we have
    _prctl = None


def _die_with_parent(parent_pid: int) -> None:
    """preexec_fn: have the kernel SIGKILL tritonserver when its parent dies.

    Covers the parent being SIGKILLed or crashing, where atexit never runs. Its
    python backend stubs notice their parent is gone and exit on their own.
    """
    if _prctl is not None:
        _prctl(_PR_SET_DEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl took effect.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


_START_MARKER = "=== fleetdeck: starting"


def _is_error_line(line: str) -> bool:
    # glog-style "E1125 15:28:09.616 ..." lines, plus python tracebacks from stubs.
    return (len(line) > 1 and line[0] == "E" and line[1].isdigit()) or "Error" in line or "error:" in line


_live: weakref.WeakSet[TritonProcess] = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    # Orderly interpreter exit without stop(): don't leave servers behind.
    for proc in list(_live):
        proc.kill()


class TritonProcess:
    """One tritonserver on 127.0.0.1: HTTP on `port`, gRPC on port+1, metrics on port+2.

    Explicit model control: only `models` are loaded at start; others in the
    repository can be loaded through the repository API. start() and restart()
    return at once; call wait_ready() to block until the server serves.

    Call start() from a thread that outlives the server (e.g. the main thread):
    Linux delivers the death signal when the *thread* that forked exits.
    """

    def __init__(
        self,
        repository: Path | str,
        name: str = "triton",
        *,
        port: int | None = None,
        models: Iterable[str] = (),
        log_path: Path | str | None = None,
        extra_args: Sequence[str] = (),
        home: Path | None = None,
    ) -> None:
        self.repository = Path(repository).resolve()
        self.name = name
        self.port = port if port is not None else free_port_block(3)
        self.models = list(models)
        self.log_path = (
            Path(log_path)
            if log_path is not None
            else Path(tempfile.gettempdir()) / f"fleetdeck-{name}-{self.port}.log"
        )
        self.extra_args = list(extra_args)
        self.home = home or triton_home()
        # Our own name prefix for the python backend's /dev/shm regions: a killed
        # server cannot unlink them (1 MiB per model instance), so kill() does.
        self.shm_prefix = f"fleetdeck_{os.getpid()}_{self.port}_{secrets.token_hex(3)}_"
        self._popen: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # ---- addresses

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def grpc_url(self) -> str:
        """host:port, the form tritonclient.grpc wants."""
        return f"{HOST}:{self.port + 1}"

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.port + 2}/metrics"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        """The process exists and has not exited (it may not be ready yet)."""
        return self._popen is not None and self._popen.poll() is None

    def command(self) -> list[str]:
        """The tritonserver command line."""
        p = self.port
        cmd = [
            str(tritonserver_binary(self.home)),
            f"--model-repository={self.repository}",
            f"--backend-directory={backend_directory(self.home)}",
            "--model-control-mode=explicit",
            f"--http-address={HOST}",
            f"--grpc-address={HOST}",
            f"--metrics-address={HOST}",
            f"--http-port={p}",
            f"--grpc-port={p + 1}",
            f"--metrics-port={p + 2}",
            "--allow-gpu-metrics=false",
            # Bound the graceful part of SIGTERM below stop()'s SIGKILL deadline.
            "--exit-timeout-secs=5",
            f"--backend-config=python,shm-region-prefix-name={self.shm_prefix}",
        ]
        cmd += [f"--load-model={m}" for m in self.models]
        return cmd + self.extra_args

    # ---- lifecycle

    def start(self) -> None:
        """Launch the server (non-blocking). Raises if it is already running."""
        with self._lock:
            if self.running:
                raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            cmd = self.command()
            with open(self.log_path, "ab") as log:
                # Appending keeps the log of a crashed run readable after restart().
                log.write(f"\n{_START_MARKER} {self.name} at {time.ctime()}\n".encode())
                log.flush()
                parent = os.getpid()
                self._popen = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_child_env(self.home),
                    # Own process group: kill() can take the backend stubs down
                    # with it, and a Ctrl-C in a terminal doesn't hit the server
                    # before the parent has decided how to stop it.
                    start_new_session=True,
                    preexec_fn=lambda: _die_with_parent(parent),
                )
            _live.add(self)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Block until GET /v2/health/ready answers 200; return the seconds waited.

        Raises TritonStartError, with the tail of the log, if the process exits
        first (e.g. a model failed to load, or a port was taken) or on timeout.
        """
        if self._popen is None:
            raise RuntimeError(f"{self.name} was never started")
        started = time.monotonic()
        ready_url = f"{self.http_url}/v2/health/ready"
        with requests.Session() as session:
            while True:
                code = self._popen.poll()
                if code is not None:
                    raise TritonStartError(
                        f"{self.name} exited with code {code} before becoming ready; "
                        f"log {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    # No keep-alive: an idle open connection makes Triton's SIGTERM
                    # wait out its whole exit timeout.
                    response = session.get(ready_url, timeout=1.0, headers={"Connection": "close"})
                    if response.status_code == 200:
                        return time.monotonic() - started
                except requests.RequestException:
                    pass  # not listening yet
                if time.monotonic() - started > timeout:
                    raise TritonStartError(
                        f"{self.name} not ready after {timeout:.0f}s; log {self.log_path}:\n{self.log_tail()}"
                    )
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait up to `timeout` seconds, then SIGKILL. Idempotent."""
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout)
        self._kill_group(popen)
        _live.discard(self)

    def kill(self) -> None:
        """SIGKILL the server and its backend stubs at once, like a crash. Idempotent."""
        popen = self._popen
        if popen is None:
            return
        self._kill_group(popen)
        _live.discard(self)

    def restart(self) -> None:
        """stop() if running, then start() again on the same ports (non-blocking)."""
        self.stop()
        self.start()

    def _kill_group(self, popen: subprocess.Popen[bytes]) -> None:
        # The group id is the server's pid (start_new_session); the kernel does
        # not reuse it while any member is alive, so this cannot hit strangers.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
        for region in Path("/dev/shm").glob(f"{self.shm_prefix}*"):
            region.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        """Error lines of the latest run, then its last `lines` lines ("" if no log yet).

        Triton prints the reason it gives up (a model that failed to load, a port
        in use) as `E...` lines *above* its long option table, so a plain tail
        would miss it.
        """
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * 1024))
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        run = text.rsplit(_START_MARKER, 1)[-1].splitlines()[1:]
        errors = [line for line in run if _is_error_line(line)]
        tail = run[-lines:]
        head = [line for line in errors[-20:] if line not in tail]
        return "\n".join([*head, *(["..."] if head else []), *tail])

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<TritonProcess {self.name} {self.http_url} {state}>"


class LocalFleet:
    """N TritonProcess servers named `<prefix>-1 .. <prefix>-N` on one repository.

    start() launches them all and waits for all to be ready in parallel (boot is
    mostly model loading, so N servers take about as long as one); if any fails
    the others are stopped too. Logs go to `log_dir/<name>.log`.
    """

    def __init__(
        self,
        n: int = 2,
        repository: Path | str = DEMO_REPOSITORY,
        *,
        models: Iterable[str] = DEMO_MODELS_AT_START,
        log_dir: Path | str | None = None,
        prefix: str = "triton",
        home: Path | None = None,
    ) -> None:
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="fleetdeck-"))
        model_list = list(models)
        self.servers: list[TritonProcess] = [
            TritonProcess(
                repository,
                f"{prefix}-{i}",
                models=model_list,
                log_path=self.log_dir / f"{prefix}-{i}.log",
                home=home,
            )
            for i in range(1, n + 1)
        ]

    def __iter__(self) -> Iterator[TritonProcess]:
        return iter(self.servers)

    def __len__(self) -> int:
        return len(self.servers)

    def __getitem__(self, index: int) -> TritonProcess:
        return self.servers[index]

    def start(self, timeout: float = 60.0) -> None:
        """Start every server and wait until all are ready."""
        try:
            # Popen stays in the calling thread (see TritonProcess on death signals).
            for server in self.servers:
                server.start()
            with ThreadPoolExecutor(max_workers=len(self.servers) or 1) as pool:
                for future in [pool.submit(s.wait_ready, timeout) for s in self.servers]:
                    future.result()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop all servers in parallel (each SIGTERM takes a few seconds)."""
        with ThreadPoolExecutor(max_workers=len(self.servers) or 1) as pool:
            list(pool.map(lambda s: s.stop(), self.servers))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
