"""Helpers for the inside-a-server tests (issue 14): steady concurrent load on a model."""

from __future__ import annotations

import threading
import time

from fleet.demo.traffic import _make_input, _new_client, client_address


def hammer(url: str, model: str, clients: int, seconds: float) -> int:
    """`clients` concurrent callers, each sending one request after the other for `seconds`;
    returns how many requests succeeded (any failure fails the test)."""
    address = client_address(url)
    deadline = time.monotonic() + seconds
    done: list[int] = []
    errors: list[BaseException] = []

    def caller() -> None:
        client = _new_client(address)
        count = 0
        try:
            while time.monotonic() < deadline:
                client.infer(model, [_make_input(model)])
                count += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()
            done.append(count)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    assert not errors, errors[0]
    return sum(done)
