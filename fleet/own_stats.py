"""FleetDeck's own operational figures, kept in Redis.

Scrapes run in any worker process on any host, and any web process answers /metrics, so the
figures live where all of them reach: one Redis hash per server. They are monitoring data,
not records: losing them with Redis only resets counters, which Prometheus handles.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


def _key(server_id: int | str) -> str:
    return f"{settings.FLEET_REDIS_PREFIX}:scrape:{server_id}"


def record_scrape(server_id: int, duration_s: float, lag_s: float | None, ok: bool) -> None:
    """Count a scrape; keep its duration and how long its task waited in the queue."""
    fields: dict[str, float] = {"duration_s": duration_s}
    if lag_s is not None:
        fields["lag_s"] = max(0.0, lag_s)
    try:
        pipe = _client().pipeline()
        pipe.hset(_key(server_id), mapping=fields)  # type: ignore[arg-type]
        pipe.hincrby(_key(server_id), "scrapes", 1)
        if not ok:
            pipe.hincrby(_key(server_id), "errors", 1)
        pipe.execute()
    except redis.RedisError:
        log.warning("could not record scrape stats", exc_info=True)


def scrape_stats(server_ids: list[int]) -> dict[int, dict[str, float]]:
    """{server_id: {"duration_s", "lag_s", "scrapes", "errors"}} for servers with figures."""
    pipe = _client().pipeline()
    for server_id in server_ids:
        pipe.hgetall(_key(server_id))
    out: dict[int, dict[str, float]] = {}
    for server_id, raw in zip(server_ids, pipe.execute(), strict=True):
        if raw:
            out[server_id] = {k.decode(): float(v) for k, v in raw.items()}
    return out


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each Celery queue (the Redis transport keeps a queue as a list)."""
    queues = [settings.CELERY_TASK_DEFAULT_QUEUE, settings.FLEET_SCRAPE_QUEUE]
    pipe = _client().pipeline()
    for queue in queues:
        pipe.llen(queue)
    return dict(zip(queues, (int(n) for n in pipe.execute()), strict=True))


def _saturation_key(server_id: int | str) -> str:
    return f"{settings.FLEET_REDIS_PREFIX}:saturation:{server_id}"


# model -> (busy ratio, queue µs per request, pending requests); None where unknown.
Saturation = dict[str, tuple[float | None, float | None, float | None]]


def record_saturation(server_id: int, figures: Saturation) -> None:
    """Replace the server's per-model saturation figures (fleet.alerting.evaluate, each
    scrape); an empty mapping (a server down) removes them."""
    key = _saturation_key(server_id)
    try:
        pipe = _client().pipeline()
        pipe.delete(key)
        if figures:
            pipe.hset(key, mapping={model: json.dumps(values) for model, values in figures.items()})
            pipe.expire(key, int(max(60.0, 10 * settings.FLEET_SCRAPE_INTERVAL)))
        pipe.execute()
    except redis.RedisError:
        log.warning("could not record saturation figures", exc_info=True)


def saturation(server_ids: list[int]) -> dict[int, Saturation]:
    """{server_id: {model: (busy, queue µs, pending)}} for servers with figures."""
    pipe = _client().pipeline()
    for server_id in server_ids:
        pipe.hgetall(_saturation_key(server_id))
    out: dict[int, Saturation] = {}
    for server_id, raw in zip(server_ids, pipe.execute(), strict=True):
        if raw:
            out[server_id] = {k.decode(): tuple(json.loads(v)) for k, v in raw.items()}
    return out
