"""The live frame: what the worker publishes for one server per tick, in either metrics mode.

Built once here from derived values (the scraper's or Prometheus'), sent by
fleet.broadcast as a `fleet.frame` event, relayed as is by dashboard.consumers, and read
by static/dashboard/live.js and the pages' scripts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from .derive import Derived


class FrameValue(TypedDict):
    """One series' value now: model and version empty for server metrics, label = GPU or reason."""

    model: str
    version: str
    metric: str
    label: str
    value: float


class Frame(TypedDict):
    server_id: int
    status: str  # a Server.Status value
    at: float  # unix seconds
    error: str
    values: list[FrameValue]


def frame(server_id: int, status: str, at: datetime, values: Iterable[Derived], error: str = "") -> Frame:
    return {
        "server_id": server_id,
        "status": status,
        "at": at.timestamp(),
        "error": error,
        "values": [
            {"model": v.model, "version": v.version, "metric": v.metric, "label": v.label, "value": v.value}
            for v in values
        ],
    }
