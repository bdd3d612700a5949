"""Page concerns the domain does not care about: the time ranges a page offers, and the parts
of a model's config a person reads first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fleet.models import ModelConfig

# The time ranges a page offers; anything else is a bad request.
RANGES: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_RANGE = "1h"


class BadRange(ValueError):
    """A time range that is not one of RANGES."""


def parse_range(raw: str | None) -> tuple[str, timedelta]:
    """The range key and window for `?range=`; missing means the default, unknown raises."""
    key = raw or DEFAULT_RANGE
    if key not in RANGES:
        raise BadRange(f"range must be one of {', '.join(RANGES)}")
    return key, RANGES[key]


def config_summary(config: ModelConfig | None) -> dict[str, Any]:
    """The parts of a model's config a person checks first, as plain values."""
    if config is None:
        return {}
    return {
        "backend": config.backend,
        "max_batch_size": config.max_batch_size,
        "dynamic_batching": config.dynamic_batching,
        "instance_groups": config.instance_groups,
        "version_policy": config.version_policy,
    }
