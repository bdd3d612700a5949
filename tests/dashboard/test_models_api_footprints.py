"""The models API, the server page and the model page show each model's measured memory
(the median of its last five observations), its last load time and its last inference."""

from datetime import UTC, datetime

import pytest

from fleet.models import Action, Footprint, ModelVersion, Server
from tests.conftest import client_for
from tests.dashboard.test_pages_render import signed_in

MIB = 2**20


@pytest.fixture
def measured(db: None) -> Server:
    server = Server.objects.create(name="tail", url="http://127.0.0.1:9")
    ModelVersion.objects.create(
        server=server, name="big", version="1", state="READY", last_inference_ms=1_700_000_000_500
    )
    ModelVersion.objects.create(server=server, name="cold", version="", state="UNAVAILABLE")
    # Six observations: the oldest (a wild one) is outside the last five.
    for size in (4000, 500, 520, 100, 530, 510):
        Footprint.objects.create(
            server=server, name="big", version="1", bytes=size * MIB, gauge="nv_cpu_memory_used_bytes"
        )
    for seconds in (9.0, 2.5):
        action = Action.objects.create(
            kind="load", server=server, model="big", state="succeeded", load_duration_s=seconds
        )
        Action.objects.filter(id=action.id).update(finished_at=datetime.now(UTC))
    return server


def test_it_gives_memory_load_time_and_last_inference_per_model(viewer, measured) -> None:
    rows = client_for(viewer).get(f"/api/servers/{measured.id}/models/").json()

    by_name = {row["name"]: row for row in rows}
    assert by_name["big"]["memory_bytes"] == 510 * MIB  # median of 500, 520, 100, 530, 510
    assert by_name["big"]["load_s"] == 2.5  # the last load
    assert by_name["big"]["last_inference_at"] == "2023-11-14T22:13:20.500000Z"
    assert (
        by_name["cold"]["memory_bytes"],
        by_name["cold"]["load_s"],
        by_name["cold"]["last_inference_at"],
    ) == (
        None,
        None,
        None,
    )


def test_it_shows_memory_and_load_time_on_the_server_and_model_pages(viewer, measured) -> None:
    client = signed_in(viewer)
    for page in (f"/servers/{measured.id}/", f"/servers/{measured.id}/models/big/"):
        html = client.get(page).content.decode()
        assert 'id="footprints"' in html, page
        assert f'data-memory="{510 * MIB}"' in html and "510.0 MiB" in html, page
        assert 'data-load-s="2.5"' in html and "2.50 s" in html, page
