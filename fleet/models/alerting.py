"""On-call (issue 11): alert rules, alerts, webhooks and their deliveries."""

from __future__ import annotations

__all__: list[str] = []
