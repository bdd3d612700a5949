"""A model page's socket carries its model's values only, from every server that has it (the
page charts its own server's and compares the model across the fleet); a model the server
does not have is refused."""

import shutil

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from dashboard.consumers import CLOSE_UNKNOWN
from fleet import services
from fleet.demo.localfleet import DEMO_REPOSITORY
from fleet.demo.traffic import send_inferences
from fleet.models import Series
from tests.dashboard.sockets import communicator, private_layer, receive_until  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_layer")]


def test_it_sends_a_model_page_that_model_from_every_server(
    viewer,
    triton,
    triton_factory,
    server_for,
    tmp_path,
) -> None:
    # Two fleet servers on the session's Triton, and a third Triton without `fast`.
    mine, twin = server_for(triton, name="mine"), server_for(triton, name="twin")
    repository = tmp_path / "repository"
    shutil.copytree(DEMO_REPOSITORY / "versioned", repository / "versioned")
    without = server_for(triton_factory(repository, models=["versioned"], name="triton-without-fast"))
    for server in (mine, twin, without):
        services.scrape_server(server.id)
    ws = communicator(f"/ws/servers/{mine.id}/models/fast/", user=viewer)

    async def scenario() -> list[dict]:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(send_inferences)(mine.url, "fast", 10)
            for server in (without, twin, mine):
                await sync_to_async(services.scrape_server)(server.id)
            return await receive_until(ws, lambda m: m.get("server_id") == mine.id)
        finally:
            await ws.disconnect()

    frames = async_to_sync(scenario)()
    assert [f["server_id"] for f in frames] == [twin.id, mine.id]
    for frame in frames:
        assert frame["type"] == "fleet.frame" and frame["status"] == "up"
        assert {v["model"] for v in frame["values"]} == {"fast"}
        metrics = {v["metric"] for v in frame["values"]}
        # Everything stored for the model, but memory from the statistics API (read with
        # the inventory, not per scrape).
        stored = set(Series.objects.filter(server=mine, model="fast").values_list("metric", flat=True))
        assert metrics == stored - {"memory_usage_bytes"}
        assert {"inferences_per_s", "compute_infer_us_per_request", "avg_batch_size"} <= metrics
        fast = [v for v in frame["values"] if v["metric"] == "inferences_per_s"]
        assert sum(v["value"] for v in fast) > 0


def test_it_refuses_a_model_the_server_does_not_have(viewer, triton, server_for) -> None:
    server = server_for(triton)
    services.scrape_server(server.id)

    paths = (f"/ws/servers/{server.id}/models/nope/", "/ws/servers/987654/models/fast/")
    sockets = [communicator(path, user=viewer) for path in paths]

    async def scenario() -> None:
        for path, ws in zip(paths, sockets, strict=True):
            connected, code = await ws.connect()
            assert (connected, code) == (False, CLOSE_UNKNOWN), path

    async_to_sync(scenario)()
