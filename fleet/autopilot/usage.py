"""When each model last served: statistics' `last_inference` (ms, Triton's clock).

Triton's stamps are compared only with each other (which model served last); how long a
model has been idle is measured on FleetDeck's clock instead: `last_inference_seen_at` is
when FleetDeck first saw the current stamp, so "no new stamp for T by our clock" means the
model served nothing for at least T, whatever Triton's clock says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import ModelVersion, Server


def stamp(entry: dict[str, Any]) -> int | None:
    """An entry's last_inference in ms; None when unreadable."""
    try:
        value = int(entry.get("last_inference") or 0)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def note(server: Server, stats: list[dict[str, Any]], now: datetime | None = None) -> None:
    """Store each loaded version's last_inference; a changed stamp is seen now."""
    now = now or timezone.now()
    current = {
        (row.name, row.version): row
        for row in ModelVersion.objects.filter(server=server, state=ModelVersion.State.READY)
    }
    for entry in stats:
        row = current.get((str(entry.get("name", "")), str(entry.get("version", ""))))
        value = stamp(entry)
        if row is None or value is None:
            continue
        seen = row.last_inference_seen_at
        # A version that became READY since (a reload) starts idle afresh, even if its stamp
        # is 0 both times (apply_index stamps updated_at on a change of state).
        if row.last_inference_ms != value or seen is None or seen < row.updated_at:
            # Never before the row's own change: the next read must not take it for a new one.
            at = max(now, row.updated_at)
            ModelVersion.objects.filter(id=row.id).update(last_inference_ms=value, last_inference_seen_at=at)
