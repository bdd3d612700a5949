"""Traffic at a chosen rate for the saturation tests: open loop (requests start on a
schedule, whatever the answers) or closed loop (N callers back to back)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fleet.demo.traffic import _make_input, _new_client, client_address


def open_loop(url: str, model: str, rate_per_s: float, seconds: float) -> int:
    """Start a request every 1/rate s for `seconds`; wait for all; return how many."""
    address = client_address(url)
    count = int(rate_per_s * seconds)
    local = threading.local()
    start = time.monotonic()

    def one(i: int) -> None:
        delay = start + i / rate_per_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "client"):
            local.client = _new_client(address)
        local.client.infer(model, [_make_input(model)])

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(one, i) for i in range(count)]:
            future.result()
    return count


def closed_loop(url: str, model: str, callers: int, seconds: float) -> threading.Thread:
    """`callers` clients sending back to back for `seconds`, in the background."""
    address = client_address(url)
    deadline = time.monotonic() + seconds

    def caller() -> None:
        client = _new_client(address)
        try:
            while time.monotonic() < deadline:
                client.infer(model, [_make_input(model)])
        finally:
            client.close()

    def run() -> None:
        with ThreadPoolExecutor(max_workers=callers) as pool:
            for future in [pool.submit(caller) for _ in range(callers)]:
                future.result()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
