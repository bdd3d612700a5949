"""PostgreSQL restarted under a running FleetDeck (a load in flight), again and again: the
web answers the first request after it without an error (connection health checks),
scraping and the websocket's frames resume, and the action in flight ends, succeeded or
failed with a reason, instead of staying running. Nothing of FleetDeck is restarted."""

from __future__ import annotations

import time
from functools import partial

import requests

from tests.actions_support import add_model, demo_copy
from tests.faults.private import PrivateRedis
from tests.faults.stack import Round, Watcher, running_stack, stack_env
from tests.faults.support import wait_until


def loading(url: str, model: str) -> bool:
    rows = requests.post(f"{url}/v2/repository/index", json={}, timeout=10).json()
    return any(r.get("name") == model and r.get("state") == "LOADING" for r in rows)


MODES = ("fast", "immediate")  # sessions told to go, or a crash with recovery on start


def test_it_recovers_from_each_postgres_restart(
    tmp_path, private_postgres, fleet_database, triton_factory, fault_row, faults_count
) -> None:
    row = fault_row("PostgreSQL restarted (web, scraping, websockets, actions)", faults_count)
    broker = PrivateRedis(tmp_path)
    broker.start()
    env = stack_env(fleet_database, broker.url, tmp_path / "var")
    repo = demo_copy(tmp_path)
    add_model(repo, "sleepy1", {1: "sleepy:4"})
    triton = triton_factory(repo, models=["fast"], name="triton-postgres")
    try:
        with running_stack(tmp_path, env) as stack:
            api = stack.api
            answer = api.post(
                "/api/servers/",
                {"name": "pg-restarts", "url": triton.http_url, "metrics_url": triton.metrics_url},
            )
            assert answer.status_code == 201, answer.text
            server_id = answer.json()["id"]
            with Watcher(stack.web.url, f"/ws/servers/{server_id}/", api.cookie) as watcher:
                began = time.time()
                wait_until(lambda: watcher.frames.since(began) >= 2, 60, "frames before the first restart")
                rounds = Round(stack, watcher, triton.http_url, server_id, row, ["sleepy1"])
                for cycle in range(1, faults_count + 1):
                    lost_before = len(row.lost)
                    mode = MODES[(cycle - 1) % len(MODES)]
                    label = f"restart {cycle} ({mode})"
                    answer = rounds.request("load", "sleepy1")
                    assert answer.status_code == 202, answer.text
                    action_id = answer.json()["action_id"]
                    wait_until(partial(rounds.running, [action_id]), 60, "the load running")
                    # In flight in Triton itself, so the worker has to record its end after.
                    wait_until(partial(loading, triton.http_url, "sleepy1"), 60, "Triton loading")
                    failures_before = len(api.failures)
                    private_postgres.restart(mode)
                    back = time.time()
                    rounds.check_after(label, back, [action_id])
                    rounds.unload_all(label)
                    if len(api.failures) > failures_before:
                        row.lose(f"{label}: {api.failures[failures_before:][:3]}")
                    failed = stack.tasks_failed(back)
                    if failed:
                        row.lose(f"{label}: tasks that started after it failed: {failed[:3]}")
                    dead = stack.dead()
                    for what in dead:
                        row.lose(f"{label}: {what}")
                    if len(row.lost) == lost_before:
                        row.survived += 1
                    if dead:
                        break  # nothing to recover with: FleetDeck would need a restart
                row.figures["socket reconnects"] = str(watcher.frames.connects - 1)
    finally:
        broker.kill()
    row.figures["slowest recovery"] = ", ".join(f"{what} {s:.1f} s" for what, s in rounds.slowest.items())
    row.figures["endings"] = ", ".join(f"{k} {n}" for k, n in sorted(rounds.endings.items()))
    row.figures["failed because"] = "; ".join(sorted(rounds.failures)) or "-"
    row.check()
