"""A scrape writes one row, whatever the number of series: a block under the server's layout."""

from collections.abc import Iterator

import pytest
from django.apps import apps

from fleet import services, storage
from fleet.demo.machine import free_port_block
from fleet.demo.simulator import SimOptions
from fleet.demo.simulator_http import SimFleet
from fleet.demo.traffic import send_inferences
from fleet.models import Series, SeriesLayout, Server

pytestmark = pytest.mark.django_db


def rows(but: tuple[type, ...] = ()) -> int:
    """Every row of every fleet table (but those of the models `but`)."""
    return sum(m._default_manager.count() for m in apps.get_app_config("fleet").get_models() if m not in but)


def rows_per_scrape(server: Server, scrapes: int = 3, but: tuple[type, ...] = ()) -> list[int]:
    for _ in range(3):  # the counters' baseline, the series, the layout
        services.scrape_server(server.id)
    added = []
    for _ in range(scrapes):
        before = rows(but)
        services.scrape_server(server.id)
        added.append(rows(but) - before)
    return added


def test_it_writes_one_row_per_scrape_of_a_real_triton(triton, server_for) -> None:
    server = server_for(triton)
    Server.objects.filter(id=server.id).update(inventory_at=None)
    services.scrape_server(server.id)  # the inventory read, with its events and configs
    send_inferences(server.url, "fast", 5)
    assert rows_per_scrape(server) == [1, 1, 1]
    assert len({p.metric for p in storage.points(server)}) > 10  # many series, in those rows


@pytest.fixture
def big_server() -> Iterator[Server]:
    options = SimOptions(servers=1, models=60, versions=2)  # ~1,400 values a scrape
    with SimFleet(options, free_port_block(1)) as fleet:
        yield Server.objects.create(name="sim-big", url=fleet.url(0), metrics_url=fleet.metrics_url(0))


def test_it_writes_one_row_per_scrape_of_a_server_with_a_thousand_series(
    big_server: Server, settings
) -> None:
    # Tests read the inventory at every scrape; a real cadence reads it now and then, and
    # that read writes one block of per-model memory figures (see the real Triton above).
    settings.FLEET_INVENTORY_INTERVAL = 3600
    # A series seen for the first time (a per-request average once its model has traffic)
    # costs its Series row and a new layout, once; the scrape itself is one row.
    assert rows_per_scrape(big_server, but=(Series, SeriesLayout)) == [1, 1, 1]
    newest = max(p.at for p in storage.points(big_server))
    assert len([p for p in storage.points(big_server) if p.at == newest]) > 1000
