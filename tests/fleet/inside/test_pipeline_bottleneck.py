"""The step that adds the most time per request is the pipeline's bottleneck."""

from __future__ import annotations

import time

from fleet import services
from fleet.demo.traffic import send_inferences
from tests.actions_support import demo_copy
from tests.conftest import client_for


def test_it_marks_the_step_made_slow_as_the_bottleneck(viewer, tmp_path, triton_factory, server_for) -> None:
    repo = demo_copy(tmp_path)
    # The second step, so that "the first step" is not the answer by chance.
    fast = repo / "fast" / "1" / "model.py"
    fast.write_text(
        "import time\n"
        + fast.read_text().replace("responses = []", "time.sleep(0.03)\n        responses = []")
    )
    triton = triton_factory(repo, models=["fast", "preprocess", "pipeline"])
    server = server_for(triton)
    services.scrape_server(server.id)
    send_inferences(server.url, "pipeline", 15)
    time.sleep(0.2)
    services.scrape_server(server.id)

    body = client_for(viewer).get(f"/api/servers/{server.id}/models/pipeline/pipeline/").json()

    preprocess, fast_step = body["steps"]
    assert fast_step["compute_us"] > 30_000 > preprocess["time_us"]
    assert body["bottleneck"] == 1
    assert fast_step["bottleneck"] and not preprocess["bottleneck"]
