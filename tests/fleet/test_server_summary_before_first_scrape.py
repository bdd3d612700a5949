"""A server registered but not yet scraped: its page's header counts the models that its
mirrored inventory already holds, as the page's model table shows them (it said 0 / 0)."""

from fleet import overview
from fleet.models import ModelVersion, Server


def test_it_counts_ready_models_from_the_inventory_until_a_scrape_summarizes(db: None) -> None:
    server = Server.objects.create(name="fresh", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="ranker", version="1", state=ModelVersion.State.READY)
    ModelVersion.objects.create(server=server, name="ranker", version="2", state=ModelVersion.State.READY)
    ModelVersion.objects.create(server=server, name="tail", version="1", state=ModelVersion.State.UNAVAILABLE)

    header = overview.server_summary(server)
    assert (header["ready"], header["total"]) == (1, 2)

    server.summary = {**header, "ready": 0, "total": 0}  # a scrape summarized it: that wins
    server.save(update_fields=["summary"])
    assert (overview.server_summary(server)["ready"], overview.server_summary(server)["total"]) == (0, 0)
