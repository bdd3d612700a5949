"""Inside a server (issue 14): batching changes and timed debug sessions."""

from __future__ import annotations

__all__: list[str] = []
