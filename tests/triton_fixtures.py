"""pytest plugin: real tritonserver processes on loopback (see fleet/demo/localfleet.py).

- `triton`: one server on the demo repository for the whole session. Shared, so
  tests must compare metric *deltas* and must not kill, restart or unload on it.
- `triton_factory`: call it to get more servers (ready, or just started with
  wait=False); each is stopped when the test ends. Use it for anything
  destructive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from fleet.demo.localfleet import DEMO_MODELS_AT_START, DEMO_REPOSITORY, TritonProcess


class TritonFactory(Protocol):
    def __call__(
        self,
        repository: Path | str = ...,
        models: Iterable[str] = ...,
        *,
        name: str | None = ...,
        wait: bool = ...,
    ) -> TritonProcess: ...


@pytest.fixture(scope="session")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonProcess]:
    """The session's demo-repository server, ready."""
    server = TritonProcess(
        DEMO_REPOSITORY,
        "triton-session",
        models=DEMO_MODELS_AT_START,
        log_path=tmp_path_factory.mktemp("triton") / "triton-session.log",
    )
    server.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def triton_factory(tmp_path: Path) -> Iterator[TritonFactory]:
    """Start extra servers (demo repository and models by default); all stopped at teardown."""
    started: list[TritonProcess] = []

    def make(
        repository: Path | str = DEMO_REPOSITORY,
        models: Iterable[str] = DEMO_MODELS_AT_START,
        *,
        name: str | None = None,
        wait: bool = True,
    ) -> TritonProcess:
        name = name or f"triton-{len(started) + 1}"
        server = TritonProcess(repository, name, models=models, log_path=tmp_path / f"{name}.log")
        started.append(server)
        server.start()
        if wait:
            server.wait_ready()
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()
