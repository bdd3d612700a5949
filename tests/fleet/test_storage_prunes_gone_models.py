"""Pruning forgets a long-gone model: its series, events and config go; a model still in
the repository, or still with history, keeps them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fleet import storage
from fleet.derive import Derived
from fleet.models import ModelConfig, ModelEvent, ModelVersion, Series, Server

pytestmark = pytest.mark.django_db


def test_it_prunes_the_series_events_and_config_of_a_long_gone_model(settings) -> None:
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    now = timezone.now()
    long_ago = now - settings.FLEET_HOUR_RETENTION - timedelta(days=1)
    storage.store(
        server,
        long_ago,
        [Derived("inferences_per_s", 1.0, "gone", "1"), Derived("inferences_per_s", 2.0, "kept", "1")],
    )
    storage.store(server, now, [Derived("inferences_per_s", 3.0, "kept", "1")])
    ModelVersion.objects.create(server=server, name="kept", version="1", state="READY")
    for name in ("gone", "kept"):
        ModelEvent.objects.create(
            server=server, name=name, version="1", at=now - timedelta(days=1), new_state="READY"
        )
        ModelConfig.objects.create(server=server, name=name, config={"name": name})
    ModelEvent.objects.create(server=server, name="kept", version="1", at=long_ago, new_state="LOADING")

    later = now + timedelta(hours=3)  # the block of `now` is rolled up by then
    storage.rollup(now=later)
    counts = storage.prune(now=later)

    assert set(Series.objects.filter(server=server).values_list("model", flat=True)) == {"kept"}
    assert list(ModelEvent.objects.filter(server=server).values_list("name", "new_state")) == [
        ("kept", "READY")
    ]
    assert list(ModelConfig.objects.filter(server=server).values_list("name", flat=True)) == ["kept"]
    assert (counts["series"], counts["events"], counts["configs"]) == (1, 2, 1)
    # What is left still answers: the kept model's hour, from its chunk.
    q = storage.SeriesQuery(server, "inferences_per_s", timedelta(days=1), "kept")
    assert [v for _, v in storage.query(q, now=later)] == [3.0]


def test_it_keeps_a_model_that_is_gone_from_the_index_but_has_history() -> None:
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    now = timezone.now()
    storage.store(server, now, [Derived("inferences_per_s", 1.0, "unloaded", "1")])
    ModelEvent.objects.create(server=server, name="unloaded", version="1", at=now, new_state="UNAVAILABLE")
    storage.rollup(now=now + timedelta(hours=3))
    storage.prune(now=now + timedelta(hours=3))
    assert Series.objects.filter(server=server, model="unloaded").exists()
    assert ModelEvent.objects.filter(server=server, name="unloaded").exists()
