"""scrape_errors: a server whose metrics answer but whose inventory is refused (started with
--http-restricted-api, registered without the header) fires with the inventory's error;
once the header is set, the next scrape resolves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet import services
from fleet.demo.localfleet import DEMO_REPOSITORY, TritonProcess
from fleet.models import Alert, AlertRule, Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(tmp_path: Path) -> Iterator[TritonProcess]:
    triton = TritonProcess(
        DEMO_REPOSITORY,
        "restricted-alerts",
        models=["fast"],
        log_path=tmp_path / "restricted.log",
        extra_args=["--http-restricted-api=model-repository,statistics:x-fleet-key=s3cret"],
    )
    triton.start()
    try:
        triton.wait_ready()
        yield triton
    finally:
        triton.stop()


def test_it_fires_on_inventory_errors_and_resolves(restricted: TritonProcess) -> None:
    rule = AlertRule.objects.create(name="scrape errors", kind="scrape_errors", for_s=0)
    server = Server.objects.create(name="locked", url=restricted.http_url, metrics_url=restricted.metrics_url)
    services.scrape_server(server.id)
    alert = Alert.objects.get(rule=rule)
    assert (alert.state, alert.server_id, alert.model) == ("firing", server.id, "")
    assert alert.cause.startswith("inventory:")

    Server.objects.filter(id=server.id).update(auth_header_name="x-fleet-key", auth_header_value="s3cret")
    services.scrape_server(server.id)  # the inventory read now succeeds and clears the error
    alert.refresh_from_db()
    assert alert.state == "resolved"
