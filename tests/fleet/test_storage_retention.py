"""Rollups and retention: raw blocks become hourly chunks of 1-minute buckets, then go."""

from datetime import UTC, datetime, timedelta

import pytest

from fleet import storage
from fleet.derive import Derived
from fleet.models import Block, Chunk, Server

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, 10, 30, tzinfo=UTC)
HOUR_START = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Server:
    return Server.objects.create(name="s", url="http://127.0.0.1:1")


def add_points(server: Server, start: datetime, count: int, step: float, value: float) -> None:
    for i in range(count):
        storage.store(
            server, start + timedelta(seconds=i * step), [Derived("inferences_per_s", value + i, "m", "1")]
        )


def minutes(server: Server) -> list[tuple[float, float | None]]:
    q = storage.SeriesQuery(server, "inferences_per_s", timedelta(days=2), "m")
    return storage.query(q, now=NOW)


def test_it_rolls_closed_hours_up_and_is_idempotent(server: Server) -> None:
    add_points(server, HOUR_START + timedelta(minutes=57), count=36, step=5, value=0)  # 11:57 to 12:00
    first = storage.rollup(now=NOW)
    again = storage.rollup(now=NOW)
    (chunk,) = Chunk.objects.all()  # one row for the closed hour, whatever its points
    assert first[3600] == 1 and again[3600] == 0  # the second run has nothing new to roll
    assert (chunk.at, chunk.count, chunk.minimum, chunk.maximum) == (HOUR_START, 36, 0, 35)
    line = minutes(server)
    assert [v for t, v in line if t < NOW.replace(minute=0).timestamp()] == [
        pytest.approx(sum(range(12 * i, 12 * i + 12)) / 12) for i in range(3)
    ]


def test_it_prunes_each_level_after_its_retention(server: Server, settings) -> None:
    add_points(server, NOW - settings.FLEET_RAW_RETENTION - timedelta(minutes=1), count=2, step=5, value=1)
    add_points(server, NOW - timedelta(minutes=1), count=2, step=5, value=1)
    (series_id,) = {c for c in Block.objects.values_list("layout__series_ids", flat=True) for c in c}
    for days in (8, 6, 91):
        Chunk.objects.create(
            series_id=series_id,
            at=NOW - timedelta(days=days),
            count=1,
            total=1,
            minimum=1,
            maximum=1,
            minutes=b"\0" * 960,
        )
    storage.prune(now=NOW)
    assert Block.objects.count() == 2
    assert sorted(Chunk.objects.values_list("minutes", flat=True), key=bool) == [None, b"\0" * 960]


def test_it_answers_a_week_from_rollups_not_raw_points(server: Server) -> None:
    add_points(server, NOW - timedelta(minutes=20), count=240, step=5, value=0)
    storage.rollup(now=NOW)
    week = storage.query(storage.SeriesQuery(server, "inferences_per_s", timedelta(days=7), "m"), now=NOW)
    hour = storage.query(storage.SeriesQuery(server, "inferences_per_s", timedelta(hours=1), "m"), now=NOW)
    assert len(hour) == 240
    # 11:50:30 to 12:10:25: 10 one-minute buckets from the closed hour's chunk, 11 from the
    # open hour's blocks bucketed the same way.
    assert len(week) == 21
    assert week[0] == ((HOUR_START + timedelta(minutes=50)).timestamp(), pytest.approx(2.5))
    assert sum(v for _, v in week if v is not None) > 0


def test_it_leaves_gap_markers_out_of_rollups(server: Server) -> None:
    start = HOUR_START + timedelta(minutes=50)
    add_points(server, start, count=6, step=5, value=10)  # first half of a minute
    storage.mark_gap(server, since=start, at=start + timedelta(seconds=31))  # server down
    storage.mark_gap(server, since=start, at=start + timedelta(minutes=1, seconds=1))  # still down
    storage.rollup(now=NOW)
    (chunk,) = Chunk.objects.all()
    assert (chunk.count, chunk.minimum, chunk.maximum) == (6, 10, 15)
    assert [v for _, v in minutes(server)] == [pytest.approx(12.5)]  # the all-gap minute has no bucket
