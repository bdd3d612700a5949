"""Whether a model served traffic lately: the unload confirmation.

Triton's statistics give `last_inference` in Triton's clock, and Triton offers no "now" to
measure it against (no Date header, no timestamp in any answer). Comparing it with our
clock makes a server whose clock is ahead look busy for ever, and one whose clock is
behind look idle while it serves. So no Triton time is compared with ours:

1. Triton's request counts (success + failure, all versions) need no clock: zero means
   the model served nothing since it was loaded, and unloading it loses nothing.
2. Otherwise FleetDeck's own record decides: the request and failure rates it scraped over
   the window, every point stamped by our clock (the database's), the window too. A fresh
   scrape first carries the record up to now, so a request a second ago counts.
3. Where that record does not span the whole window (FleetDeck began watching later, a
   gap, a failed scrape), the traffic is unknown: the operator confirms.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from .. import series, services, triton
from ..models import ModelVersion, Server
from ..storage import SeriesQuery

# Scraped series that count as traffic (the catalog's per-model rates).
TRAFFIC = ("requests_per_s", "failures_per_s")


def served_recently(server: Server, name: str) -> str:
    """Why unloading needs confirmation ("" when it does not)."""
    window = settings.FLEET_UNLOAD_CONFIRM_WINDOW
    try:
        served = requests_since_load(server, name)
    except triton.TritonError as exc:
        if not ModelVersion.objects.filter(server=server, name=name, state=ModelVersion.State.READY).exists():
            return ""  # not loaded: no traffic to lose
        return f"its statistics could not be read ({exc}), so it may be serving traffic"
    if served == 0:
        return ""
    services.scrape_server(server.id)
    now = timezone.now().timestamp()
    slack = 2.5 * settings.FLEET_SCRAPE_INTERVAL
    record = {
        metric: series.points(SeriesQuery(server, metric, timedelta(seconds=window), model=name))
        for metric in TRAFFIC
    }
    busy = [t for points in record.values() for t, value in points if value]
    if busy:
        return (
            f"it served requests in the last {window:.0f} s (the latest {max(now - max(busy), 0):.0f} s ago)"
        )
    requests = record[TRAFFIC[0]]
    spans = (
        bool(requests)
        and requests[0][0] <= now - window + slack
        and requests[-1][0] >= now - slack
        and all(value is not None for _, value in requests)
    )
    if spans:
        return ""
    return (
        f"FleetDeck has no full record of its traffic over the last {window:.0f} s, and it "
        f"served {served} requests since it was loaded"
    )


def requests_since_load(server: Server, name: str) -> int:
    """Requests (succeeded or failed) the model's loaded versions served, by Triton's counts.
    An answer that is not Triton's is a TritonError: unknown traffic, never "none"."""
    total = 0
    for entry in triton.model_statistics(server):
        if not isinstance(entry, dict) or entry.get("name") != name:
            continue
        stats: Any = entry.get("inference_stats")
        try:
            total += sum(int(stats[outcome]["count"]) for outcome in ("success", "fail"))
        except (KeyError, TypeError, ValueError) as exc:
            raise triton.TritonError(f"unreadable statistics for {name}") from exc
    return total
