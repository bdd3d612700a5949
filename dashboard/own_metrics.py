"""GET /metrics: FleetDeck's own figures in Prometheus' format (prometheus-client).

Scrape duration, errors and queue lag per server, task queue lengths, actions by kind and
state, servers by status, and this process's connected websocket clients. Everything but
the websocket gauge comes from Redis or the database, so any web process exports the
figures of the whole installation; the websocket gauge is per process, as Prometheus
expects of a replica it scrapes one by one.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleet import own_stats
from fleet.models import Action, Server

websocket_clients = Gauge("fleetdeck_websocket_clients", "Websocket clients connected to this process.")


class FleetCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        servers = dict(Server.objects.values_list("id", "name"))
        # The scrape figures and queue lengths live in Redis. Redis down is exactly when an
        # operator needs this page, so it says so in a gauge instead of answering 500.
        redis_up = GaugeMetricFamily("fleetdeck_redis_up", "Whether Redis answered this scrape (1 or 0).")
        try:
            stats = own_stats.scrape_stats(list(servers))
            queues = own_stats.queue_lengths()
            saturation = own_stats.saturation(list(servers))
        except redis.RedisError:
            stats, queues, saturation = {}, {}, {}
            redis_up.add_metric([], 0)
        else:
            redis_up.add_metric([], 1)
        yield redis_up
        duration = GaugeMetricFamily(
            "fleetdeck_scrape_duration_seconds", "Duration of the last scrape.", labels=["server"]
        )
        lag = GaugeMetricFamily(
            "fleetdeck_scrape_queue_lag_seconds",
            "How long the last scrape task waited in the queue after beat dispatched it.",
            labels=["server"],
        )
        scrapes = CounterMetricFamily("fleetdeck_scrapes", "Scrapes run.", labels=["server"])
        errors = CounterMetricFamily("fleetdeck_scrape_errors", "Scrapes that failed.", labels=["server"])
        for server_id, figures in stats.items():
            name = servers[server_id]
            duration.add_metric([name], figures.get("duration_s", 0.0))
            if "lag_s" in figures:
                lag.add_metric([name], figures["lag_s"])
            scrapes.add_metric([name], figures.get("scrapes", 0.0))
            errors.add_metric([name], figures.get("errors", 0.0))
        yield from (duration, lag, scrapes, errors)
        yield from _saturation(servers, saturation)

        queue = GaugeMetricFamily(
            "fleetdeck_task_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"]
        )
        for name, length in queues.items():
            queue.add_metric([name], length)
        yield queue

        status = GaugeMetricFamily("fleetdeck_servers", "Servers by scrape status.", labels=["status"])
        counts = dict(Server.objects.values_list("status").annotate(n=Count("id")))
        for value in Server.Status.values:
            status.add_metric([value], counts.get(value, 0))
        yield status

        actions = GaugeMetricFamily(
            "fleetdeck_actions", "Control actions by kind and state.", labels=["kind", "state"]
        )
        for kind, state, n in Action.objects.values_list("kind", "state").annotate(n=Count("id")):
            actions.add_metric([kind, state], n)
        yield actions


# The saturation signal for autoscalers (fleet.alerting.saturation), from each server's
# last scrape; a figure unknown there (no config read yet, no request in the window) is
# left out rather than exported as 0.
SATURATION = (
    ("fleetdeck_model_busy_ratio", "Share of the model's instances' time spent computing (0..1).", 1.0),
    ("fleetdeck_model_queue_seconds_per_request", "Average queue time per request, seconds.", 1e-6),
    ("fleetdeck_model_pending_requests", "Requests pending in Triton for the model (gauge).", 1.0),
)


def _saturation(servers: dict[int, str], figures: dict[int, own_stats.Saturation]) -> Iterator[Metric]:
    for index, (name, text, scale) in enumerate(SATURATION):
        family = GaugeMetricFamily(name, text, labels=["server", "model"])
        for server_id, models in figures.items():
            if server_id not in servers:
                continue
            for model, values in sorted(models.items()):
                value = values[index]
                if value is not None:
                    family.add_metric([servers[server_id], model], float(value) * scale)
        yield family


def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.FLEET_METRICS_TOKEN
    if token and request.headers.get("Authorization") != f"Bearer {token}":
        return HttpResponse("a bearer token is required", status=401, content_type="text/plain")
    registry = CollectorRegistry()
    registry.register(FleetCollector())
    body = generate_latest(registry) + generate_latest(REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
