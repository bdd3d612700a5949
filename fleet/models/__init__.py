"""FleetDeck's tables, one module per area (each module under ~400 lines); everything is
importable from `fleet.models`, as Django and the rest of the code expect."""

from .alerting import *  # noqa: F403
from .core import (
    Action,
    AutopilotPolicy,
    Block,
    Chunk,
    Footprint,
    ModelConfig,
    ModelEvent,
    ModelVersion,
    RollupMark,
    Series,
    SeriesLayout,
    Server,
    default_metrics_url,
    validate_http_url,
)
from .deployments import *  # noqa: F403
from .internals import *  # noqa: F403

__all__ = [
    "Action",
    "AutopilotPolicy",
    "Block",
    "Chunk",
    "Footprint",
    "ModelConfig",
    "ModelEvent",
    "ModelVersion",
    "RollupMark",
    "Series",
    "SeriesLayout",
    "Server",
    "default_metrics_url",
    "validate_http_url",
]
__all__ += alerting.__all__ + deployments.__all__ + internals.__all__  # type: ignore[name-defined]  # noqa: F405
