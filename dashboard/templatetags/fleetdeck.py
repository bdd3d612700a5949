"""Human-readable numbers with their units, the same rules as static/dashboard/format.js.

How each metric reads (its format, unit and title) comes from the catalog (fleet.catalog).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone

from fleet.catalog import GIB, METRICS, MIB
from fleet.frames import MemoryBar
from fleet.overview import Memory, memory

register = template.Library()

DASH = "—"


@register.filter
def rate(value: float | None) -> str:
    """3 significant digits: 0.25, 12.4, 1,234."""
    if value is None:
        return DASH
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@register.filter
def count(value: float | None) -> str:
    return DASH if value is None else f"{value:,.0f}"


@register.filter
def duration(us: float | None) -> str:
    """Microseconds as µs, ms or s, whichever reads best."""
    if us is None:
        return DASH
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.2f} s"


@register.filter
def gib(value: float | None) -> str:
    return DASH if value is None else f"{value / GIB:.1f}"


@register.filter(name="bytes")
def bytes_(value: float | None) -> str:
    if value is None:
        return DASH
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


@register.filter
def percent(ratio: float | None) -> str:
    """A 0..1 ratio as a whole percentage."""
    return DASH if ratio is None else f"{100 * ratio:.0f}%"


@register.filter
def age(moment: datetime | float | None) -> str:
    """Seconds, minutes or hours since `moment` (a datetime, or unix seconds as in frames)."""
    if moment is None:
        return "never"
    if isinstance(moment, datetime):
        moment = moment.timestamp()
    seconds = max(0.0, timezone.now().timestamp() - moment)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


@register.filter
def memory_bars(bars: list[MemoryBar]) -> list[Memory]:
    """A summary's memory as _memory.html reads it (with a percentage)."""
    return memory(bars)


@register.filter
def metric_title(metric: str) -> str:
    return METRICS[metric].title if metric in METRICS else metric


@register.filter
def metric_number(value: float | None, metric: str) -> str:
    """A value in its metric's format, for a column whose header names the unit."""
    fmt = METRICS[metric].format
    if value is None:
        return DASH
    if fmt == "us":
        return duration(value)
    if fmt == "count":
        return count(value)
    if fmt == "bytes":
        return bytes_(value)
    if fmt == "percent":
        return percent(value)
    return rate(value)


@register.filter
def metric_value(value: float | None, metric: str) -> str:
    """A value with the unit its metric reads in: "12.4 inferences/s", "1.2 ms/request"."""
    info = METRICS[metric]
    number = metric_number(value, metric)
    if value is None or info.format in ("count", "bytes", "percent"):
        return number  # bytes and percent carry their unit; a count reads bare
    if info.format == "us":
        return number + info.unit.removeprefix("µs")  # "1.2 ms" + "/request"
    return f"{number} {info.unit}"


@register.filter
def compact_json(value: Any) -> str:
    """A config fragment as one line of JSON (escaped by the template, like any text)."""
    if value in (None, {}, []):
        return ""
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))
