"""Making room before a load: the evictions the autopilot decided for it run first.

An ensure-loaded request records its evictions as unload actions of their own (audited,
one per model, each holding its model's lock) and names them in the load's parameters
(`evict`). The load's runner runs each of them inline before it calls Triton: a worker that
took one already has claimed it, and the runner waits for it to end instead. So a load never
starts while the memory it needs is still held, and a single worker cannot deadlock on
itself (it never waits for a message it would have to take next). It waits on the end's
wake-up (fleet/control/ended.py), not by reading the row every 20 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings

from ..models import Action
from . import ended


def make_room(action: Action, run: Callable[[int], None]) -> str:
    """Run (or wait for) the action's evictions; return what they did, for its result."""
    ids = [int(i) for i in action.parameters.get("evict", [])]
    if not ids:
        return ""
    deadline = time.monotonic() + settings.FLEET_VERIFY_TIMEOUT
    for action_id in ids:
        run(action_id)
        # Until it ended (run by another worker that took it first) or the deadline: then
        # the load goes on, and its result says the eviction had not ended.
        ended.wait(action_id, deadline)
    states = dict(Action.objects.filter(id__in=ids).values_list("model", "state"))
    done = sorted(name for name, state in states.items() if state == Action.State.SUCCEEDED)
    other = sorted(f"{name} {state}" for name, state in states.items() if state != Action.State.SUCCEEDED)
    text = f"evicted {', '.join(done) or 'nothing'}"
    return text + (f" (not evicted: {', '.join(other)})" if other else "") + "; "
