"""Desired state (issue 9): deployments, their history, per-server reconcile state, rollouts."""

from __future__ import annotations

__all__: list[str] = []
