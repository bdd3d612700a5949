"""A server with a response cache: the internals show each cached model's hits and misses."""

from __future__ import annotations

from typing import Any

import requests

from fleet.demo.localfleet import TritonProcess
from fleet.demo.machine import backend_directory
from fleet.inside.internals import internals
from tests.actions_support import demo_copy


def test_it_shows_hits_and_misses_per_model(db, tmp_path, server_for) -> None:
    repo = demo_copy(tmp_path)
    config = repo / "versioned" / "config.pbtxt"
    config.write_text(config.read_text() + "\nresponse_cache { enable: true }\n")
    caches = backend_directory().parent / "caches"  # next to the backends, in any layout
    triton = TritonProcess(
        repo, "triton-cache", models=["versioned"], log_path=tmp_path / "triton.log",
        extra_args=["--cache-config=local,size=1048576", f"--cache-directory={caches}"],
    )  # fmt: skip
    triton.start()
    try:
        triton.wait_ready()
        server = server_for(triton)
        tensor = {"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [1.0]}
        body: dict[str, Any] = {"inputs": [tensor]}
        for _ in range(3):  # one miss, then two hits of the same request
            requests.post(
                f"{triton.http_url}/v2/models/versioned/infer", json=body, timeout=10
            ).raise_for_status()

        cache = internals(server)["cache"]
    finally:
        triton.stop()

    assert cache["enabled"] is True
    assert cache["models"] == [
        {"model": "versioned", "hits": 2.0, "misses": 1.0, "lookups": 3.0, "hit_ratio": 2 / 3}
    ]
