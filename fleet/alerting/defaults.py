"""The rules every installation starts with (created by migration 0010_alerting).

Plain data, so that the migration reads it without importing the app's models.
"""

from __future__ import annotations

from typing import Any


def default_rules(scrape_interval: float) -> list[dict[str, Any]]:
    """server_down after two scrape intervals, any failed control action at once, and a
    model's queue time above 100 ms for 30 s."""
    return [
        {"name": "Server down", "kind": "server_down", "for_s": 2 * scrape_interval},
        {"name": "Control action failed", "kind": "load_failed", "for_s": 0.0},
        {"name": "Queue time above 100 ms", "kind": "queue_time", "threshold": 100_000.0, "for_s": 30.0},
    ]
