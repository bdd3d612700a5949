"""A model's Triton config in words: "max queue delay 500 µs, preferred batch 16".

The config is Triton's JSON (GET /v2/models/{name}/config), where 64-bit numbers may come as
strings; anything unexpected reads as Triton's default rather than failing the page.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _numbers(values: Any) -> list[int]:
    return [int(_number(v)) for v in values] if isinstance(values, list) else []


def micros(us: float) -> str:
    """500 µs, 1.5 ms, 2 s: the largest unit that keeps the number at 1 or more."""
    for unit, size in (("s", 1e6), ("ms", 1e3)):
        if us >= size:
            return f"{us / size:.3g} {unit}"
    return f"{us:.0f} µs"


@register.filter
def batching(config: dict[str, Any] | None) -> str:
    """Triton's dynamic_batching message in words; "off" without one."""
    if config is None:
        return "off"
    delay = _number(config.get("max_queue_delay_microseconds"))
    parts = [f"max queue delay {micros(delay)}" if delay else "no queue delay"]
    preferred = _numbers(config.get("preferred_batch_size"))
    if preferred:
        noun = "batch" if len(preferred) == 1 else "batches"
        parts.append(f"preferred {noun} {', '.join(map(str, preferred))}")
    if config.get("preserve_ordering") is True:
        parts.append("keeps request order")
    levels = int(_number(config.get("priority_levels")))
    if levels:
        parts.append(f"{levels} priority levels")
    policy = config.get("default_queue_policy")
    if isinstance(policy, dict):
        size = int(_number(policy.get("max_queue_size")))
        if size:
            parts.append(f"queue at most {size}")
        timeout = _number(policy.get("default_timeout_microseconds"))
        if timeout:
            action = "rejected" if policy.get("timeout_action", "REJECT") == "REJECT" else "delayed"
            parts.append(f"{action} after {micros(timeout)} in queue")
    return ", ".join(parts)


@register.filter
def version_policy(policy: dict[str, Any] | None) -> str:
    """Which versions Triton serves: "latest 1" (its default), "all", "versions 2, 3"."""
    if not policy:
        return "latest 1 (default)"
    if "specific" in policy:
        versions = _numbers((policy["specific"] or {}).get("versions"))
        return f"version{'s' if len(versions) != 1 else ''} {', '.join(map(str, versions))}"
    if "all" in policy:
        return "all versions"
    if "latest" in policy:
        return f"latest {int(_number((policy['latest'] or {}).get('num_versions')) or 1)}"
    return "latest 1 (default)"
