"""One channel-layer listener per page group per web process, handing each event to that
process's sockets of the group.

Why: Channels gives every socket a channel of its own and a receive loop of its own, so a
frame published to a group of 200 overview sockets woke 200 receive tasks, each with its
own queue put, `asyncio.wait` and task creation, before the one cheap thing (a send). With
py-spy on the web process relaying 10 summaries/s to 200 sockets (bench/fleet_scale.py,
relay step), that machinery was about three quarters of its busy time and the sends a
quarter. Here a group's frames are received once per process, by one task, and given to
each member's `relay` in turn: in order, encoded once (the consumer keeps the text on the
shared event), no task per socket.

A member's own channel still carries what is addressed to it alone (`user.recheck` through
its user group). Membership of the group in the channel layer belongs to the listener's
channel; the members' periodic renewal renews it (group_expiry).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)

RETRY_S = 1.0  # after the layer failed to deliver (Redis away): wait, then listen again


class Member(Protocol):
    async def relay(self, event: dict[str, Any]) -> None: ...


class Listener:
    """A group's channel in one process and the sockets of that process that draw it."""

    def __init__(self, layer: Any, group: str) -> None:
        self.layer = layer
        self.group = group
        self.members: list[Member] = []  # in joining order
        self.channel: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.task = asyncio.create_task(self.listen(self.channel))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.channel is not None:
            await self.layer.group_discard(self.group, self.channel)

    async def listen(self, channel: str) -> None:
        rejoin = False
        while True:
            try:
                if rejoin:
                    # A Redis that restarted came back empty: the group no longer holds
                    # this channel, and nothing would reach these sockets again.
                    await self.layer.group_add(self.group, channel)
                    rejoin = False
                event = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("group %s: channel layer receive failed; retrying", self.group, exc_info=True)
                rejoin = True
                await asyncio.sleep(RETRY_S)
                continue
            for member in tuple(self.members):  # a member may leave while we send
                try:
                    await member.relay(event)
                except Exception:  # one broken socket must not cost the others their frame
                    log.warning("group %s: relay to one socket failed", self.group, exc_info=True)


class Fanout:
    """The listeners of one channel layer on one event loop."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.listeners: dict[str, Listener] = {}
        self.lock = asyncio.Lock()  # joins and leaves of one group never interleave

    async def join(self, group: str, member: Member) -> None:
        async with self.lock:
            listener = self.listeners.get(group)
            if listener is None:
                listener = Listener(self.layer, group)
                await listener.start()
                self.listeners[group] = listener
            listener.members.append(member)

    async def leave(self, group: str, member: Member) -> None:
        async with self.lock:
            listener = self.listeners.get(group)
            if listener is None or member not in listener.members:
                return
            listener.members.remove(member)
            if not listener.members:
                del self.listeners[group]
                await listener.stop()

    async def renew(self, group: str) -> None:
        """Renew the listener's membership (the layer drops it after its group_expiry)."""
        listener = self.listeners.get(group)
        if listener is not None and listener.channel is not None:
            await self.layer.group_add(group, listener.channel)


def fanout_for(layer: Any) -> Fanout:
    """This event loop's fan-out for `layer` (a new layer, as tests make, gets its own)."""
    loop = asyncio.get_running_loop()
    per_loop: dict[int, tuple[asyncio.AbstractEventLoop, Fanout]] = layer.__dict__.setdefault(
        "_fleetdeck_fanouts", {}
    )
    known = per_loop.get(id(loop))
    if known is None or known[0] is not loop:
        # Loops of finished tests are dropped with their listeners (their tasks died with them).
        for key in [key for key, (other, _) in per_loop.items() if other.is_closed()]:
            del per_loop[key]
        known = per_loop[id(loop)] = (loop, Fanout(layer))
    return known[1]
