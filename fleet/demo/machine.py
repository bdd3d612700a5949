"""What the demo harness needs of this machine: the Triton install and free loopback ports.

Split from fleet/demo/localfleet.py, which runs the servers.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
_PYTRITON_SUBDIR = "pytriton/tritonserver"


class TritonNotInstalled(RuntimeError):
    """No tritonserver binary where FLEET_TRITON_HOME (or .venv-triton) points."""


# --------------------------------------------------------------------------- install


def triton_home() -> Path:
    """The Triton install: `$FLEET_TRITON_HOME`, else `<repo>/.venv-triton`.

    Raises TritonNotInstalled (with a "run make install" hint) when no
    tritonserver binary can be found there.
    """
    env = os.environ.get("FLEET_TRITON_HOME")
    home = Path(env).expanduser().resolve() if env else REPO_ROOT / ".venv-triton"
    _server_dir(home)  # validates
    return home


def _server_dir(home: Path) -> Path:
    """The directory holding bin/tritonserver and backends/ inside `home`.

    Two layouts: a tritonserver install (/opt/tritonserver in NGC images) has them
    at the top; nvidia-pytriton ships them inside its package in site-packages.
    """
    candidates = [home, *sorted(home.glob(f"lib/python3*/site-packages/{_PYTRITON_SUBDIR}"))]
    for candidate in candidates:
        if (candidate / "bin" / "tritonserver").is_file():
            return candidate
    source = "FLEET_TRITON_HOME" if os.environ.get("FLEET_TRITON_HOME") else "default"
    raise TritonNotInstalled(
        f"no tritonserver binary under {home} ({source}); run `make install` "
        "or point FLEET_TRITON_HOME at a Triton install"
    )


def tritonserver_binary(home: Path | None = None) -> Path:
    """Path of the tritonserver executable."""
    return _server_dir(home or triton_home()) / "bin" / "tritonserver"


def backend_directory(home: Path | None = None) -> Path:
    """The --backend-directory; the python backend must contain its stub binary."""
    backends = _server_dir(home or triton_home()) / "backends"
    if not (backends / "python" / "triton_python_backend_stub").is_file():
        raise TritonNotInstalled(f"{backends}/python has no triton_python_backend_stub; run `make install`")
    return backends


def _child_env(home: Path) -> dict[str, str]:
    """Environment for tritonserver.

    The python backend starts each model via the first `python3` on PATH, and the
    models need numpy<2 from the Triton venv, so its bin/ goes first. Variables
    that would make that interpreter pick up the *Django* venv are dropped.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    if (home / "bin" / "python3").exists():
        env["PATH"] = f"{home / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        env["VIRTUAL_ENV"] = str(home)
    return env


# --------------------------------------------------------------------------- ports

_ports_lock = threading.Lock()
# Ports already handed out by this process: a server that has not bound its ports
# yet would otherwise look free to the next free_port_block() call.
_ports_handed_out: set[int] = set()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_block(n: int = 3) -> int:
    """A base port P such that P .. P+n-1 are free on 127.0.0.1.

    Picked below the Linux ephemeral range (32768+) so that outgoing client
    connections cannot grab one between now and the server binding it. Not
    handed out twice by the same process.
    """
    rng = random.Random()
    with _ports_lock:
        for _ in range(200):
            base = rng.randrange(20000, 32000 - n)
            block = range(base, base + n)
            if any(p in _ports_handed_out for p in block):
                continue
            if all(_port_is_free(p) for p in block):
                _ports_handed_out.update(block)
                return base
    raise RuntimeError(f"no block of {n} free ports found on {HOST}")
