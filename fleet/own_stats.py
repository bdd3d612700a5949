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


def record_scrape(
    server_id: int, duration_s: float, lag_s: float | None, ok: bool, saturation: Saturation | None = None
) -> None:
    """Count a scrape; keep its duration and how long its task waited in the queue; and,
    unless None, replace the server's saturation figures (see record_saturation) in the same
    round trip: a scrape asks Redis once for all of its own figures."""
    fields: dict[str, float] = {"duration_s": duration_s}
    if lag_s is not None:
        fields["lag_s"] = max(0.0, lag_s)
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.hset(_key(server_id), mapping=fields)  # type: ignore[arg-type]
        pipe.hincrby(_key(server_id), "scrapes", 1)
        if not ok:
            pipe.hincrby(_key(server_id), "errors", 1)
        if saturation is not None:
            _put_saturation(pipe, server_id, saturation)
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
    queues = [settings.CELERY_TASK_DEFAULT_QUEUE, settings.FLEET_SCRAPE_QUEUE, settings.FLEET_NOTIFY_QUEUE]
    pipe = _client().pipeline()
    for queue in queues:
        pipe.llen(queue)
    return dict(zip(queues, (int(n) for n in pipe.execute()), strict=True))


def _saturation_key(server_id: int | str) -> str:
    # One JSON string per server (it was a hash of one JSON value per model: 50 encodings
    # and 100 arguments per scrape); a new name, so that no reader meets the old type.
    return f"{settings.FLEET_REDIS_PREFIX}:saturation-json:{server_id}"


# model -> (busy ratio, queue µs per request, pending requests); None where unknown.
Saturation = dict[str, tuple[float | None, float | None, float | None]]


def _put_saturation(pipe: redis.client.Pipeline, server_id: int, figures: Saturation) -> None:
    key = _saturation_key(server_id)
    if figures:
        pipe.set(key, json.dumps(figures), ex=int(max(60.0, 10 * settings.FLEET_SCRAPE_INTERVAL)))
    else:
        pipe.delete(key)


def record_saturation(figures: dict[int, Saturation]) -> None:
    """Replace these servers' per-model saturation figures, in one round trip (Prometheus
    mode's tick, the stale-server check; a scrape passes its own to record_scrape). An empty
    mapping (a server down) removes a server's figures."""
    if not figures:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for server_id, mapping in figures.items():
            _put_saturation(pipe, server_id, mapping)
        pipe.execute()
    except redis.RedisError:
        log.warning("could not record saturation figures", exc_info=True)


def saturation(server_ids: list[int]) -> dict[int, Saturation]:
    """{server_id: {model: (busy, queue µs, pending)}} for servers with figures."""
    pipe = _client().pipeline(transaction=False)
    for server_id in server_ids:
        pipe.get(_saturation_key(server_id))
    out: dict[int, Saturation] = {}
    for server_id, raw in zip(server_ids, pipe.execute(), strict=True):
        if raw:
            out[server_id] = {model: tuple(values) for model, values in json.loads(raw).items()}
    return out
