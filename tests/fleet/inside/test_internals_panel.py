"""The internals API lists what a test client registered and what the configs declare."""

from __future__ import annotations

import tritonclient.http as triton_http
import tritonclient.utils.shared_memory as shm

from fleet import services
from tests.actions_support import demo_copy
from tests.conftest import client_for

RATE_LIMITED = """
instance_group [ {
  count: 1, kind: KIND_CPU, rate_limiter { resources [ { name: "R1", count: 2 } ] priority: 3 }
} ]
"""


def test_it_lists_a_registered_region_the_rate_limiter_and_the_version(
    viewer, tmp_path, triton_factory, server_for
) -> None:
    repo = demo_copy(tmp_path)
    config = repo / "slow" / "config.pbtxt"
    config.write_text(
        config.read_text().replace("instance_group [ { count: 1, kind: KIND_CPU } ]", RATE_LIMITED)
    )
    triton = triton_factory(repo, models=["slow", "fast"])
    server = server_for(triton)
    services.scrape_server(server.id)
    client = triton_http.InferenceServerClient(triton.http_url.split("//", 1)[1])
    key = f"/inside_{triton.port}"
    handle = shm.create_shared_memory_region("inside-region", key, 64)
    try:
        client.register_system_shared_memory("inside-region", key, 64)

        body = client_for(viewer).get(f"/api/servers/{server.id}/internals/").json()

        assert body["shared_memory"]["system"] == [
            {"name": "inside-region", "key": key, "offset": 0, "byte_size": 64}
        ]
        assert body["shared_memory"]["cuda"] == []
        assert body["triton"]["version"] == "2.51.0"
        assert {"system_shared_memory", "trace", "logging"} <= set(body["triton"]["extensions"])
        assert body["rate_limiter"] == [
            {
                "model": "slow",
                "groups": [
                    {
                        "name": "slow_0",
                        "count": 1,
                        "resources": [{"name": "R1", "count": 2, "global": False}],
                        "priority": 3,
                    }
                ],
                "pending": 0.0,
            }
        ]
        # Exported (0 bytes on a server without CUDA, as here), so not None: None means absent.
        assert (
            body["pinned_memory"]["total_bytes"] is not None
            and body["pinned_memory"]["used_bytes"] is not None
        )
        assert body["cache"]["enabled"] is False  # no --cache-config
    finally:
        client.unregister_system_shared_memory("inside-region")
        shm.destroy_shared_memory_region(handle)
        client.close()
