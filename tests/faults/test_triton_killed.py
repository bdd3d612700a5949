"""Triton SIGKILLed and restarted under traffic, again and again, scraped by a real worker
and beat: every stored rate is sane, every outage shows as a gap, and the server is marked
down within two scrape intervals of each kill."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from fleet import storage
from fleet.models import Server
from tests.faults.support import Traffic

pytestmark = pytest.mark.django_db(transaction=True)


def _moment(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, tz=UTC)


def test_it_survives_each_triton_kill_with_a_gap_and_sane_rates(
    triton_factory, server_for, celery_worker_factory, fault_row, faults_count
) -> None:
    row = fault_row("Triton SIGKILLed and restarted during traffic", faults_count)
    triton = triton_factory(models=["fast"], name="triton-killed")
    server = server_for(triton)
    worker = celery_worker_factory("scraper", beat=True)
    interval = worker.interval

    def fast_rates() -> list[storage.StoredPoint]:
        return [p for p in storage.points(server) if (p.model, p.metric) == ("fast", "inferences_per_s")]

    kills: list[tuple[float, float]] = []  # (killed at, up again at), unix seconds
    down_after: list[float] = []

    def a_rate_since(moment: float) -> bool:
        return any(p.value is not None and p.at > _moment(moment) for p in fast_rates())

    with Traffic(server.url) as traffic:
        since = time.time()
        for cycle in range(1, faults_count + 1):
            worker.wait_for(lambda since=since: a_rate_since(since), timeout=60)
            killed = time.time()
            triton.kill()
            worker.wait_for(
                lambda: Server.objects.filter(id=server.id, status=Server.Status.DOWN).exists(), timeout=30
            )
            down_after.append(time.time() - killed)
            if down_after[-1] > 2 * interval:
                row.lose(f"kill {cycle}: marked down after {down_after[-1]:.1f} s (interval {interval:g} s)")
            triton.start()
            triton.wait_ready()
            since = time.time()
            worker.wait_for(lambda since=since: a_rate_since(since), timeout=60)
            kills.append((killed, time.time()))
            row.survived += 1
        traffic_attempts = traffic.attempts

    # Every stored rate is a number >= 0.
    stored = storage.points(server)
    rates = [p for p in stored if p.metric.endswith("_per_s") and p.value is not None]
    negative = [(p.metric, p.at, p.value) for p in rates if (p.value or 0) < 0]
    for metric, at, value in negative:
        row.lose(f"negative {metric} {value} at {at:%H:%M:%S}")
    # No absurd rate: what the inference rates account for (rate x its window, the time since
    # the previous good scrape) is at most what the traffic sent. A reset read as a plain delta,
    # or a rate spanning an outage, would break this.
    good = sorted({p.at for p in stored if p.value is not None})
    window = {at: (at - before).total_seconds() for before, at in pairwise(good)}
    counted = sum(p.value * window[p.at] for p in fast_rates() if p.value is not None)
    if not 0 < counted <= traffic_attempts:
        row.lose(f"the rates account for {counted:.0f} inferences, {traffic_attempts} were sent")
    # Every outage shows as a gap: a null point between the kill and the next rate.
    nulls = [p.at for p in fast_rates() if p.value is None]
    for cycle, (killed, up_again) in enumerate(kills, 1):
        if not any(_moment(killed) <= at <= _moment(up_again) for at in nulls):
            row.lose(f"kill {cycle}: no gap marker")
    # ...and the read the API and the pages use shows one gap per kill.
    line = [
        v
        for _, v in storage.query(storage.SeriesQuery(server, "inferences_per_s", timedelta(hours=1), "fast"))
    ]
    runs = "".join("-" if v is None else "x" for v in line).split("-")
    if len([run for run in runs if run]) < faults_count + 1:
        row.lose(f"the series read shows {len(runs) - 1} gaps for {faults_count} kills")

    row.figures["rate points"] = str(len(rates))
    row.figures["inferences sent"] = str(traffic_attempts)
    row.figures["accounted by rates"] = f"{counted:.0f}"
    row.figures["slowest kill to down"] = f"{max(down_after):.2f} s (interval {interval:g} s)"
    row.check()
