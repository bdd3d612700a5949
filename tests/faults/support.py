"""Helpers the fault tests share: steady traffic that counts what it sent, and polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from fleet.demo.traffic import InferenceFailed, send_inferences

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll probe() until it returns something truthy; AssertionError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(interval)


class Traffic:
    """Requests to one model, one at a time, for as long as the block runs.

    `attempts` counts every request started, answered or not: Triton may count a request
    whose answer the kill swallowed, so attempts (not successes) bound what any rate can
    account for.
    """

    def __init__(self, url: str, model: str = "fast", batch: int = 5) -> None:
        self.url = url
        self.model = model
        self.batch = batch
        self.attempts = 0
        self.succeeded = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"traffic-{model}", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.attempts += self.batch
            try:
                send_inferences(self.url, self.model, self.batch)
                self.succeeded += self.batch
            except InferenceFailed:
                self._stop.wait(0.1)  # the server is down: try again shortly

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
