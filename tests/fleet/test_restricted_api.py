"""A server started with --http-restricted-api: FleetDeck sends the configured header."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet import services
from fleet.control import requests, runner
from fleet.demo.localfleet import DEMO_MODELS_AT_START, DEMO_REPOSITORY, TritonProcess
from fleet.models import Action, ModelVersion, Server

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(tmp_path: Path) -> Iterator[TritonProcess]:
    triton = TritonProcess(
        DEMO_REPOSITORY,
        "restricted",
        models=DEMO_MODELS_AT_START,
        log_path=tmp_path / "restricted.log",
        extra_args=["--http-restricted-api=model-repository,statistics:x-fleet-key=s3cret"],
    )
    triton.start()
    try:
        triton.wait_ready()
        yield triton
    finally:
        triton.stop()


def register(triton: TritonProcess, **header: str) -> Server:
    return Server.objects.create(
        name=f"restricted-{len(header)}", url=triton.http_url, metrics_url=triton.metrics_url, **header
    )


def test_it_reads_the_inventory_only_with_the_header(restricted: TritonProcess) -> None:
    without = register(restricted)
    services.scrape_server(without.id)
    without.refresh_from_db()
    assert without.status == Server.Status.UP  # metrics are not restricted
    assert without.last_error.startswith("inventory:")
    assert not ModelVersion.objects.filter(server=without).exists()

    with_header = register(restricted, auth_header_name="x-fleet-key", auth_header_value="s3cret")
    services.scrape_server(with_header.id)
    with_header.refresh_from_db()
    assert with_header.last_error == ""
    assert ModelVersion.objects.get(server=with_header, name="fast", version="1").state == "READY"


def test_it_controls_models_with_the_header(restricted: TritonProcess, operator) -> None:
    server = register(restricted, auth_header_name="x-fleet-key", auth_header_value="s3cret")
    services.scrape_server(server.id)
    action = requests.request_action(server, "longtail", Action.Kind.LOAD, operator)
    runner.run_action(action.id)
    action.refresh_from_db()
    assert action.state == Action.State.SUCCEEDED, action.error
    assert ModelVersion.objects.get(server=server, name="longtail", version="1").state == "READY"
