"""Several versions of a model as one number: rates add, averages weigh by their requests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet import storage
from fleet.catalog import combine
from fleet.derive import Derived
from fleet.models import Server


def test_it_weighs_per_request_averages_by_requests() -> None:
    # v1: 9 requests/s waiting 100 µs each; v2: 1 request/s waiting 1000 µs.
    assert combine("queue_us_per_request", [100.0, 1000.0], [9.0, 1.0]) == pytest.approx(190.0)
    assert combine("requests_per_s", [9.0, 1.0]) == 10.0


def test_it_falls_back_to_a_plain_mean_without_usable_weights() -> None:
    assert combine("queue_us_per_request", [100.0, 1000.0], [None, 1.0]) == 550.0
    assert combine("queue_us_per_request", [100.0, 1000.0], [0.0, 0.0]) == 550.0
    assert combine("gpu_utilization", [0.2, 0.6]) == pytest.approx(0.4)  # no weight: mean
    assert combine("queue_us_per_request", []) is None


@pytest.mark.django_db
def test_it_answers_the_api_with_the_weighted_model_average() -> None:
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    at = timezone.now()
    storage.store(
        server,
        at,
        [
            Derived("queue_us_per_request", 100.0, "m", "1"),
            Derived("requests_per_s", 9.0, "m", "1"),
            Derived("queue_us_per_request", 1000.0, "m", "2"),
            Derived("requests_per_s", 1.0, "m", "2"),
        ],
    )
    query = storage.SeriesQuery(server, "queue_us_per_request", timedelta(minutes=5), "m")
    assert [v for _, v in storage.query(query)] == [pytest.approx(190.0)]
    one = storage.SeriesQuery(server, "queue_us_per_request", timedelta(minutes=5), "m", version="2")
    assert [v for _, v in storage.query(one)] == [1000.0]
