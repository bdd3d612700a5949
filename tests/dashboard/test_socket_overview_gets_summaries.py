"""The overview's socket carries one summary per server per scrape, computed by the worker:
status, times, inferences/s, models ready/total, memory, and the server's own entries for
the fleet's rankings; never a model's series values."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from fleet import services
from fleet.demo.traffic import send_inferences
from fleet.frames import RANK_LIMIT, RANKINGS, ServerSummary
from tests.dashboard.sockets import communicator, private_layer, receive_until  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("private_layer")]


def test_it_sends_the_overview_summaries_and_no_model_values(
    viewer,
    triton,
    server_for,
) -> None:
    server = server_for(triton)
    services.scrape_server(server.id)  # baseline: the next scrape has rates
    ws = communicator("/ws/fleet/", user=viewer)

    async def scenario() -> dict:
        try:
            assert (await ws.connect())[0]
            await sync_to_async(send_inferences)(server.url, "fast", 20)
            await sync_to_async(services.scrape_server)(server.id)
            (summary,) = await receive_until(ws, lambda m: True)
            await sync_to_async(services.scrape_server)(server.id)
            (second,) = await receive_until(ws, lambda m: True)
            assert second["at"] > summary["at"]  # one per scrape
            return summary
        finally:
            await ws.disconnect()

    summary = async_to_sync(scenario)()
    assert summary["type"] == "fleet.summary"
    assert set(summary) == {"type", *ServerSummary.__annotations__}
    assert "values" not in summary
    assert summary["server_id"] == server.id
    assert summary["name"] == server.name
    assert summary["status"] == "up"
    assert summary["last_scrape_at"] == summary["at"]
    assert summary["inferences_per_s"] > 0
    assert (summary["ready"], summary["total"]) == (5, 6)  # longtail is in the repository only
    assert [bar["label"] for bar in summary["memory"]] == ["CPU"]
    assert summary["memory"][0]["used"] > 0
    # The rankings' share: at most RANK_LIMIT models each, with that ranking's metrics only.
    for name, by in RANKINGS.items():
        assert len(summary[name]) <= RANK_LIMIT
        assert all(set(entry["values"]) == set(by) for entry in summary[name])
    busiest = summary["busiest"][0]
    assert busiest["model"] == "fast"
    assert busiest["values"]["inferences_per_s"] > 0
