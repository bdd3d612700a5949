"""Websockets of desired state: they only relay what fleet.deploy.record publishes.

- ws/deployments/: every deployment's record when its servers' states change.
- ws/rollouts/<id>/: one rollout's record at every step (waves, gates, timeline).
"""

from __future__ import annotations

from fleet.deploy.record import DEPLOYMENTS_GROUP, rollout_group

from .consumers import RelayConsumer


class DeploymentsConsumer(RelayConsumer):
    route = "ws-deployments"

    async def group_for_scope(self) -> str | None:
        return DEPLOYMENTS_GROUP


class RolloutConsumer(RelayConsumer):
    route = "ws-rollout"

    async def group_for_scope(self) -> str | None:
        # Every viewer may read every rollout: an id that names none just never hears a frame.
        return rollout_group(int(self.scope["url_route"]["kwargs"]["pk"]))
