"""Redis (broker and channel layer) restarted under a running FleetDeck, again and again:
scraping resumes, the websocket client gets frames again (reconnecting if its socket
dropped), and a control action whose queue message the restart lost is run or failed
within a few reconcile intervals, not after FLEET_ACTION_QUEUE_TIMEOUT (900 s). Nothing of
FleetDeck is restarted: the same worker, beat and web process serve throughout."""

from __future__ import annotations

import json
import os
import time
from functools import partial

import redis

from tests.actions_support import add_model, demo_copy
from tests.faults.private import PrivateRedis
from tests.faults.stack import Round, Watcher, running_stack, stack_env
from tests.faults.support import wait_until

SLEEPY = ["sleepy1", "sleepy2"]  # loads long enough to keep both worker slots busy


def in_queue(broker: PrivateRedis, queue: str, action_id: int) -> bool:
    """Whether the run message of this action waits in the queue (Celery's message protocol 2)."""
    for raw in redis.Redis(port=broker.port).lrange(queue, 0, -1):
        headers = json.loads(raw).get("headers", {})
        if headers.get("task") == "fleet.tasks.run_action" and headers.get("argsrepr") == f"({action_id},)":
            return True
    return False


def test_it_recovers_from_each_redis_restart(
    tmp_path, fleet_database, triton_factory, fault_row, faults_count
) -> None:
    row = fault_row("Redis restarted (scraping, websockets, queued actions)", faults_count)
    broker = PrivateRedis(tmp_path)
    broker.start()
    env = stack_env(fleet_database, broker.url, tmp_path / "var")
    queue = os.environ["FLEET_CELERY_QUEUE"]
    repo = demo_copy(tmp_path)
    for model in SLEEPY:
        add_model(repo, model, {1: "sleepy:6"})
    triton = triton_factory(repo, models=["fast"], name="triton-redis")
    try:
        with running_stack(tmp_path, env) as stack:
            api = stack.api
            answer = api.post(
                "/api/servers/",
                {"name": "redis-restarts", "url": triton.http_url, "metrics_url": triton.metrics_url},
            )
            assert answer.status_code == 201, answer.text
            server_id = answer.json()["id"]
            with Watcher(stack.web.url, f"/ws/servers/{server_id}/", api.cookie) as watcher:
                began = time.time()
                wait_until(lambda: watcher.frames.since(began) >= 2, 60, "frames before the first restart")
                rounds = Round(stack, watcher, triton.http_url, server_id, row, [*SLEEPY, "longtail"])
                for cycle in range(1, faults_count + 1):
                    lost_before = len(row.lost)
                    if cycle % 2:
                        # Both worker slots busy with long loads: the next request's message
                        # waits in the queue, and the restart loses it.
                        label = f"restart {cycle} (message lost in it)"
                        busy = [rounds.request("load", model).json()["action_id"] for model in SLEEPY]
                        wait_until(partial(rounds.running, busy), 60, "both loads running")
                        answer = rounds.request("load", "longtail")
                        assert answer.status_code == 202, answer.text
                        waiting = answer.json()["action_id"]
                        wait_until(partial(in_queue, broker, queue, waiting), 10, "the message in the queue")
                        broker.restart()
                        ids = [*busy, waiting]
                    else:
                        label = f"restart {cycle} (request while down)"
                        broker.kill()
                        try:
                            answer = rounds.request("load", "longtail")
                        finally:
                            broker.start()
                        if answer.status_code != 202:
                            row.lose(f"{label}: the load got HTTP {answer.status_code}")
                        ids = [answer.json()["action_id"]] if answer.status_code == 202 else []
                    rounds.check_after(label, time.time(), ids)
                    rounds.unload_all(label)
                    dead = stack.dead()
                    for what in dead:
                        row.lose(f"{label}: {what}")
                    if len(row.lost) == lost_before:
                        row.survived += 1
                    if dead:
                        break  # nothing to recover with: FleetDeck would need a restart
                row.figures["socket reconnects"] = str(watcher.frames.connects - 1)
            if api.failures:
                row.lose(f"{len(api.failures)} failed API calls: {api.failures[:3]}")
    finally:
        broker.kill()
    row.figures["slowest recovery"] = ", ".join(f"{what} {s:.1f} s" for what, s in rounds.slowest.items())
    row.figures["endings"] = ", ".join(f"{k} {n}" for k, n in sorted(rounds.endings.items()))
    row.figures["failed because"] = "; ".join(sorted(rounds.failures)) or "-"
    row.check()
