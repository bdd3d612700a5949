"""/metrics keeps answering when Redis is down, and says so, instead of a 500."""

from collections.abc import Iterator

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from fleet import own_stats
from fleet.demo.machine import free_port_block
from fleet.models import Server

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_client() -> Iterator[None]:
    own_stats._client.cache_clear()  # the Redis client is made once per process
    yield
    own_stats._client.cache_clear()


def test_it_answers_with_redis_down(settings) -> None:
    Server.objects.create(name="t1", url="http://127.0.0.1:1")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port_block(1)}/0"  # nothing listens there

    response = Client().get("/metrics")
    own_stats._client.cache_clear()

    assert response.status_code == 200
    values = {
        s.name: s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }
    assert values["fleetdeck_redis_up"] == 0
    assert "fleetdeck_servers" in values  # what the database knows is still there


def test_it_says_redis_is_up_when_it_is() -> None:
    response = Client().get("/metrics")
    assert b"fleetdeck_redis_up 1.0" in response.content
