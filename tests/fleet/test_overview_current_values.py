"""fleet.overview counts only values of a server's newest scrape, and only while it is up."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet import overview
from fleet.derive import Derived
from fleet.models import Server
from fleet.storage import store

pytestmark = pytest.mark.django_db


def test_it_takes_the_newest_scrape_and_drops_series_that_left_it() -> None:
    now = timezone.now()
    earlier = now - timedelta(seconds=5)
    server = Server.objects.create(name="s", url="http://127.0.0.1:9", status="up", last_scrape_at=now)
    store(
        server,
        earlier,
        [Derived("inferences_per_s", 1.0, "a", "1"), Derived("inferences_per_s", 9.0, "gone", "1")],
    )
    store(
        server, now, [Derived("inferences_per_s", 2.0, "a", "1"), Derived("inferences_per_s", 3.0, "a", "2")]
    )

    values = {(p.model, p.version): p.value for p in overview.current([server], ["inferences_per_s"])}
    assert values == {("a", "1"): 2.0, ("a", "2"): 3.0}  # "gone" was unloaded: no stale number

    server.status = Server.Status.DOWN
    assert overview.current([server], ["inferences_per_s"]) == []


def test_it_reads_the_value_an_hour_ago_from_the_point_at_or_before_it() -> None:
    now = timezone.now()
    server = Server.objects.create(name="s", url="http://127.0.0.1:9", status="up", last_scrape_at=now)
    store(server, now - timedelta(minutes=61), [Derived("inferences_per_s", 4.0, "a", "1")])
    store(server, now - timedelta(minutes=59), [Derived("inferences_per_s", 5.0, "a", "1")])
    (point,) = overview.latest_points([server.id], ["inferences_per_s"], "a", before=now - timedelta(hours=1))
    assert point.value == 4.0
