"""A server exporting more series than FLEET_MAX_SERIES_PER_SERVER is refused with an error on
it, and stores nothing; the rest of the fleet is scraped as usual."""

from collections.abc import Iterator

import pytest

from fleet import services, storage
from fleet.demo.machine import free_port_block
from fleet.demo.simulator import SimOptions
from fleet.demo.simulator_http import SimFleet
from fleet.models import Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet() -> Iterator[list[Server]]:
    # Server 0 has a label explosion: 300 models instead of 3.
    options = SimOptions(servers=2, models=3, explode_servers=(0,), explode_models=300)
    with SimFleet(options, free_port_block(2)) as sim:
        yield [
            Server.objects.create(name=f"sim-{i}", url=sim.url(i), metrics_url=sim.metrics_url(i))
            for i in range(2)
        ]


def test_it_refuses_a_server_over_the_series_cap_and_scrapes_the_others(
    fleet: list[Server], settings
) -> None:
    settings.FLEET_MAX_SERIES_PER_SERVER = 1000
    exploded, normal = fleet
    for _ in range(2):
        for server in fleet:
            services.scrape_server(server.id)

    exploded.refresh_from_db()
    assert exploded.status == Server.Status.DOWN
    assert exploded.last_error.startswith("refused: exports ")
    assert "more than FLEET_MAX_SERIES_PER_SERVER=1000" in exploded.last_error
    assert not storage.points(exploded) and not exploded.series.exists() and exploded.last_counters is None

    normal.refresh_from_db()
    assert (normal.status, normal.last_error) == (Server.Status.UP, "")
    assert any(p.metric == "inferences_per_s" and p.value for p in storage.points(normal))


def test_it_takes_the_server_back_once_under_the_cap(fleet: list[Server], settings) -> None:
    settings.FLEET_MAX_SERIES_PER_SERVER = 1000
    exploded = fleet[0]
    services.scrape_server(exploded.id)
    settings.FLEET_MAX_SERIES_PER_SERVER = 20_000
    services.scrape_server(exploded.id)
    exploded.refresh_from_db()
    assert (exploded.status, exploded.last_error) == (Server.Status.UP, "")
    assert storage.points(exploded)  # the first scrape after: gauges (rates need a baseline)
