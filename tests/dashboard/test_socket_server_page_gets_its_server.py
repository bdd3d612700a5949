"""A server page's socket carries that server's frames only, with the values the page draws:
its models' table columns and the server's memory and GPU panels."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from fleet import services
from fleet.demo.traffic import send_inferences
from fleet.frames import SERVER_METRICS, TABLE_METRICS
from fleet.models import Series
from tests.dashboard.sockets import communicator, private_layer, receive_until  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_layer")]


def test_it_sends_a_server_page_its_own_server_and_what_it_draws(
    viewer,
    triton,
    server_for,
) -> None:
    # Two fleet servers on one real Triton: the same models and series under two ids.
    mine, other = server_for(triton, name="mine"), server_for(triton, name="other")
    for server in (mine, other):
        services.scrape_server(server.id)
    ws = communicator(f"/ws/servers/{mine.id}/", user=viewer)

    async def scenario() -> list[dict]:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(send_inferences)(mine.url, "fast", 10)
            # The other server's frame is published first: it would arrive first.
            await sync_to_async(services.scrape_server)(other.id)
            await sync_to_async(services.scrape_server)(mine.id)
            return await receive_until(ws, lambda m: m.get("server_id") == mine.id)
        finally:
            await ws.disconnect()

    (frame,) = async_to_sync(scenario)()
    assert frame["type"] == "fleet.frame"
    assert frame["status"] == "up"
    values = frame["values"]
    model_metrics = {v["metric"] for v in values if v["model"]}
    server_metrics = {v["metric"] for v in values if not v["model"]}
    assert model_metrics == set(TABLE_METRICS)
    assert {"cpu_memory_used_bytes", "cpu_memory_total_bytes"} <= server_metrics <= set(SERVER_METRICS)
    assert {v["model"] for v in values if v["model"]} >= {"fast", "versioned"}
    fast = [v for v in values if v["model"] == "fast" and v["metric"] == "inferences_per_s"]
    assert fast and fast[0]["value"] > 0
    # What the scrape stored but the page does not draw stays off the socket.
    stored = set(Series.objects.filter(server=mine).values_list("metric", flat=True))
    assert {"compute_infer_us_per_request", "avg_batch_size", "cpu_utilization"} <= stored
    assert not {"compute_infer_us_per_request", "avg_batch_size", "cpu_utilization"} & {
        v["metric"] for v in values
    }
