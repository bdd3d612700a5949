"""Rollups and retention: old raw points become 1-minute and 1-hour rollups, then go."""

from datetime import UTC, datetime, timedelta

import pytest

from fleet import storage
from fleet.models import Point, Rollup, Series, Server

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def series() -> Series:
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    return Series.objects.create(server=server, model="m", version="1", metric="inferences_per_s")


def add_points(series: Series, start: datetime, count: int, step: float, value: float) -> None:
    Point.objects.bulk_create(
        [Point(series=series, at=start + timedelta(seconds=i * step), value=value + i) for i in range(count)]
    )


def test_it_rolls_complete_minutes_up_and_is_idempotent(series: Series) -> None:
    add_points(series, NOW.replace(second=0) - timedelta(minutes=3), count=36, step=5, value=0)  # 3 minutes
    first = storage.rollup(now=NOW)
    again = storage.rollup(now=NOW)
    minutes = list(Rollup.objects.filter(step=60).order_by("at"))
    assert first[60] == 3 and again[60] == 1  # the second run only redoes the newest bucket
    assert [r.count for r in minutes] == [12, 12, 12]
    assert minutes[0].mean == pytest.approx(sum(range(12)) / 12)
    assert (minutes[1].minimum, minutes[1].maximum) == (12, 23)


def test_it_prunes_each_level_after_its_retention(series: Series, settings) -> None:
    add_points(series, NOW - settings.FLEET_RAW_RETENTION - timedelta(minutes=1), count=2, step=5, value=1)
    add_points(series, NOW - timedelta(minutes=1), count=2, step=5, value=1)
    Rollup.objects.create(
        series=series, step=60, at=NOW - timedelta(days=8), count=1, total=1, minimum=1, maximum=1
    )
    Rollup.objects.create(
        series=series, step=60, at=NOW - timedelta(days=6), count=1, total=1, minimum=1, maximum=1
    )
    Rollup.objects.create(
        series=series, step=3600, at=NOW - timedelta(days=91), count=1, total=1, minimum=1, maximum=1
    )
    storage.prune(now=NOW)
    assert Point.objects.count() == 2
    assert list(Rollup.objects.values_list("step", flat=True)) == [60]


def test_it_answers_a_week_from_rollups_not_raw_points(series: Series) -> None:
    add_points(series, NOW - timedelta(minutes=10), count=120, step=5, value=0)
    storage.rollup(now=NOW)
    week = storage.query(
        storage.SeriesQuery(series.server, "inferences_per_s", timedelta(days=7), "m"), now=NOW
    )
    hour = storage.query(
        storage.SeriesQuery(series.server, "inferences_per_s", timedelta(hours=1), "m"), now=NOW
    )
    assert len(hour) == 120
    # 10 one-minute buckets plus the raw tail of the current, unfinished minute.
    assert len(week) < 20
    assert sum(v for _, v in week if v is not None) > 0


def test_it_leaves_gap_markers_out_of_rollups(series: Series) -> None:
    start = NOW.replace(second=0) - timedelta(minutes=2)
    add_points(series, start, count=6, step=5, value=10)  # first half of a minute
    Point.objects.create(series=series, at=start + timedelta(seconds=31), value=None)  # server down
    Point.objects.create(series=series, at=start + timedelta(minutes=1, seconds=1), value=None)  # still down
    storage.rollup(now=NOW)
    (rollup,) = Rollup.objects.filter(step=60)  # the all-gap minute has no row
    assert (rollup.count, rollup.minimum, rollup.maximum) == (6, 10, 15)
