"""What a server holds against its autopilot budget, and which models to evict first.

Read from FleetDeck's own mirror (the inventory, the actions, the footprints), never from
Triton. A model counts as held while READY or while a load of it is queued or running (it
is coming); a model with an unload queued or running is on its way out and counts as free.
Unknown footprints count 0: the autopilot cannot make room by a size it does not know.

Eviction order: least recently used first, by statistics' last_inference (Triton's clock,
compared only with the other stamps of the same server), weighed by the cost of loading it
again (its measured load time): score = idle seconds / (1 + load seconds), highest first.
Pinned models, models being loaded, and the model asked for are never candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..control import footprint
from ..deploy import selector
from ..models import Action, AutopilotPolicy, ModelVersion, Server

_LOADS = (Action.Kind.LOAD, Action.Kind.PROMOTE, Action.Kind.ROLLBACK)


@dataclass(frozen=True)
class Holding:
    name: str
    bytes: int | None  # measured footprint, None when unknown
    pinned: bool
    last_inference_ms: int  # 0: none since it was loaded
    load_s: float | None
    coming: bool  # a load is queued or running
    leaving: bool  # an unload is queued or running


@dataclass(frozen=True)
class Plan:
    """Evicting `evict` (in order) brings `used` (held now) + `need` within `budget`."""

    need: int | None
    used: int
    budget: int | None
    pinned: int  # bytes held by pinned models
    evict: list[Holding]
    fits: bool  # False: even evicting every candidate would not make room

    @property
    def freed(self) -> int:
        return sum(h.bytes or 0 for h in self.evict)


def holdings(server: Server, policy: AutopilotPolicy, figures: dict[str, int] | None = None) -> list[Holding]:
    sizes = footprint.figures(server) if figures is None else figures
    load_s = footprint.load_seconds(server)
    stamps: dict[str, int] = {}
    for name, stamp in ModelVersion.objects.filter(server=server, state=ModelVersion.State.READY).values_list(
        "name", "last_inference_ms"
    ):
        stamps[name] = max(stamps.get(name, 0), int(stamp or 0))
    active = Action.objects.filter(server=server, state__in=Action.ACTIVE_STATES).values_list("model", "kind")
    coming = {name for name, kind in active if kind in _LOADS}
    leaving = {name for name, kind in active if kind == Action.Kind.UNLOAD}
    pinned = set(policy.pinned) | selector.pinned_models(server)  # and pinned deployments'
    return [
        Holding(
            name=name,
            bytes=sizes.get(name),
            pinned=name in pinned,
            last_inference_ms=stamps.get(name, 0),
            load_s=load_s.get(name),
            coming=name in coming,
            leaving=name in leaving,
        )
        for name in sorted(set(stamps) | coming)
    ]


def ranked(held: list[Holding], keep: str = "") -> list[Holding]:
    """Eviction candidates, first to go first."""
    newest = max((h.last_inference_ms for h in held), default=0)

    def score(h: Holding) -> tuple[float, float, str]:
        idle_s = (newest - h.last_inference_ms) / 1000
        cost = h.load_s or 0.0
        return (-idle_s / (1 + cost), cost, h.name)

    candidates = [h for h in held if not (h.pinned or h.coming or h.leaving or h.name == keep)]
    return sorted(candidates, key=score)


def plan(server: Server, policy: AutopilotPolicy, name: str) -> Plan:
    """What loading `name` needs: the evictions, fewest first in ranked order."""
    figures = footprint.figures(server)
    held = holdings(server, policy, figures)
    present = [h for h in held if not h.leaving and h.name != name]
    used = sum(h.bytes or 0 for h in present)
    pinned = sum(h.bytes or 0 for h in present if h.pinned)
    need = figures.get(name)
    budget = policy.memory_budget_bytes if policy.enabled else None
    if budget is None or need is None:
        return Plan(need, used, budget, pinned, [], True)
    evict: list[Holding] = []
    remaining = used
    for candidate in ranked(held, keep=name):
        if remaining + need <= budget:
            break
        if not candidate.bytes:
            continue  # evicting what is not known to take memory frees nothing we can count
        evict.append(candidate)
        remaining -= candidate.bytes
    fits = remaining + need <= budget
    return Plan(need, used, budget, pinned, evict if fits else [], fits)


def gib(size: int | None) -> str:
    return "unknown" if size is None else f"{size / 2**30:.2f} GiB"
