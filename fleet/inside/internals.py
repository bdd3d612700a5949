"""A server's internals panel: what keeps co-located models from starving each other.

- the rate limiter: each model's `rate_limiter` resources and priority per instance group
  (from the stored configs), and its pending requests (which include those the limiter holds);
- the response cache: `nv_cache_*` (hits, misses, lookups), when the server has one;
- registered system and CUDA shared-memory regions;
- the pinned memory pool (`nv_pinned_memory_pool_*`);
- Triton's version and extensions.

Each part fails on its own: a server that does not answer one call shows that part's error
and the others.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypedDict

from .. import exposition, triton
from ..models import ModelConfig, Server
from ..overview import current, weighted

CACHE_FAMILIES = (
    "nv_cache_num_hits_per_model",
    "nv_cache_num_misses_per_model",
    "nv_cache_hit_duration_per_model",
    "nv_cache_miss_duration_per_model",
    "nv_cache_num_entries",
    "nv_cache_num_lookups",
    "nv_cache_num_hits",
    "nv_cache_num_misses",
    "nv_cache_num_evictions",
    "nv_cache_util",
)
PINNED_FAMILIES = ("nv_pinned_memory_pool_total_bytes", "nv_pinned_memory_pool_used_bytes")


class InternalsRecord(TypedDict):
    """The one wire format of the internals panel: the API's answer and the page's data."""

    server: int
    triton: dict[str, Any]  # {version, extensions} or {error}
    rate_limiter: list[dict[str, Any]]  # per model: groups [{name, count, resources, priority}], pending
    cache: dict[str, Any]  # {enabled, models: [{model, hits, misses, hit_ratio}], totals} or {error}
    pinned_memory: dict[str, Any]  # {total_bytes, used_bytes} or {error}
    shared_memory: dict[str, Any]  # {system: [...], cuda: [...]} (an {error} in place of a list)


def rate_limiter(server: Server) -> list[dict[str, Any]]:
    """Per model with a rate_limiter in an instance group: its groups and pending requests."""
    rows: list[dict[str, Any]] = []
    for name, config in (
        ModelConfig.objects.filter(server=server).order_by("name").values_list("name", "config")
    ):
        groups = []
        for group in (config or {}).get("instance_group") or []:
            limiter = group.get("rate_limiter") if isinstance(group, dict) else None
            if not isinstance(limiter, dict) or not (limiter.get("resources") or limiter.get("priority")):
                continue
            groups.append(
                {
                    "name": str(group.get("name", "")),
                    "count": int(group.get("count") or 1),
                    "resources": [
                        {
                            "name": str(r.get("name", "")),
                            "count": int(r.get("count") or 0),
                            "global": bool(r.get("global")),
                        }
                        for r in limiter.get("resources") or []
                        if isinstance(r, dict)
                    ],
                    "priority": int(limiter.get("priority") or 0),
                }
            )
        if groups:
            rows.append({"model": name, "groups": groups, "pending": None})
    if rows:
        points = current([server], ("pending_requests",))
        for row in rows:
            mine = [p for p in points if p.model == row["model"]]
            row["pending"] = weighted(mine, "pending_requests", mine) if mine else None
    return rows


def _metrics(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    keep = {family: ("model",) for family in (*CACHE_FAMILIES, *PINNED_FAMILIES)}
    try:
        body = exposition.read(triton.fetch_metrics(server).text, keep)
    except (triton.TritonError, exposition.ExpositionError) as exc:
        error = {"error": str(exc) if isinstance(exc, triton.TritonError) else "not Prometheus text"}
        return error, error
    by_family: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (family, model), value in body.samples:
        by_family[family][model] += value
    pinned = {
        "total_bytes": sum(by_family["nv_pinned_memory_pool_total_bytes"].values(), 0.0)
        if "nv_pinned_memory_pool_total_bytes" in body.families
        else None,
        "used_bytes": sum(by_family["nv_pinned_memory_pool_used_bytes"].values(), 0.0)
        if "nv_pinned_memory_pool_used_bytes" in body.families
        else None,
    }
    hits, misses = by_family["nv_cache_num_hits_per_model"], by_family["nv_cache_num_misses_per_model"]
    models = []
    for model in sorted(set(hits) | set(misses)):
        hit, miss = hits.get(model, 0.0), misses.get(model, 0.0)
        ratio = hit / (hit + miss) if hit + miss else None
        models.append(
            {"model": model, "hits": hit, "misses": miss, "lookups": hit + miss, "hit_ratio": ratio}
        )
    enabled = any(family in body.families for family in CACHE_FAMILIES)
    totals = {family: sum(by_family[family].values()) for family in CACHE_FAMILIES if family in body.families}
    return {"enabled": enabled, "models": models, "totals": totals}, pinned


def _safe(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except triton.TritonError as exc:
        return {"error": str(exc)}


def _regions(server: Server, kind: str) -> Any:
    regions = _safe(triton.shared_memory_status, server, kind)
    if isinstance(regions, dict):
        return regions
    keys = ("name", "key", "offset", "byte_size", "device_id")
    return [{k: region[k] for k in keys if k in region} for region in regions]


def internals(server: Server) -> InternalsRecord:
    metadata = _safe(triton.server_metadata, server)
    about = (
        metadata
        if "error" in metadata
        else {
            "version": str(metadata.get("version", "")),
            "extensions": [str(e) for e in metadata.get("extensions") or []],
        }
    )
    cache, pinned = _metrics(server)
    return {
        "server": server.id,
        "triton": about,
        "rate_limiter": rate_limiter(server),
        "cache": cache,
        "pinned_memory": pinned,
        "shared_memory": {"system": _regions(server, "system"), "cuda": _regions(server, "cuda")},
    }
