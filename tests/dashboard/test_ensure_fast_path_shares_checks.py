"""Callers of one model at once share the fast path's READY checks: thirty concurrent
ensure calls take a handful of queries, not thirty; yet no caller is answered by a check
that began before it arrived (a server deleted while a check runs: the caller that came
after it is answered by Django, 404, not READY)."""

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from knox.models import AuthToken

from fleet import services
from fleet.models import Server
from tests.autopilot_support import REPOSITORY
from tests.fast_ensure_support import FAST, apost, fresh_fast_path, post, watch  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_fast_path")]


class Held:
    """On the fast path's thread: each READY query runs, then waits `hold` s (or, for the
    first, until released), so that callers arrive while a check is under way."""

    def __init__(self, hold: float = 0.0, first_waits: bool = False) -> None:
        self.hold, self.first_waits = hold, first_waits
        self.ran = threading.Event()
        self.release = threading.Event()
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        self.count += 1
        if self.count == 1 and self.first_waits:
            self.ran.set()
            self.release.wait(10)
        else:
            self.release.wait(self.hold)
        return result


def hold_checks(held: Held) -> None:
    from dashboard.fast_ensure import run_on_executor

    run_on_executor(lambda: connection.execute_wrappers.append(held))


def let_go(held: Held) -> None:
    from dashboard.fast_ensure import run_on_executor

    held.release.set()
    run_on_executor(lambda: connection.execute_wrappers.remove(held))


def ready_model(operator: Any, triton_factory: Any, server_for: Any) -> tuple[Server, str, str]:
    triton = triton_factory(REPOSITORY, models=["mem128"])
    server = server_for(triton)
    services.refresh_inventory(server)
    _, token = AuthToken.objects.create(user=operator)
    url = f"/api/servers/{server.id}/models/mem128/ensure/"
    assert post(FAST, url, token).status == 200  # Django answers first, and remembers the token
    return server, token, url


def test_it_answers_thirty_callers_with_a_few_checks(operator, triton_factory, server_for, settings) -> None:
    settings.FLEET_ENSURE_AUTH_TTL = 60  # no renewal in between
    _server, token, url = ready_model(operator, triton_factory, server_for)
    held = Held(hold=0.05)
    hold_checks(held)
    try:
        with watch() as queries:

            async def thirty() -> list[Any]:
                return list(await asyncio.gather(*(apost(FAST, url, token) for _ in range(30))))

            answers = async_to_sync(thirty)()
    finally:
        let_go(held)
    assert [a.status for a in answers] == [200] * 30
    assert {a.json()["state"] for a in answers} == {"READY"}
    assert queries.django == []
    # The first caller's check, then one more for all who came while it ran.
    assert 1 <= len(queries.fast) <= 3, queries.fast


def test_it_never_answers_a_caller_from_an_earlier_check(
    operator, triton_factory, server_for, settings
) -> None:
    settings.FLEET_ENSURE_AUTH_TTL = 60
    server, token, url = ready_model(operator, triton_factory, server_for)
    held = Held(first_waits=True)
    hold_checks(held)

    async def scenario() -> tuple[Any, Any]:
        first = asyncio.create_task(apost(FAST, url, token))
        while not held.ran.is_set():  # the first check has read READY, and holds
            await asyncio.sleep(0.01)
        await sync_to_async(Server.objects.filter(id=server.id).delete)()
        second = asyncio.create_task(apost(FAST, url, token))
        await asyncio.sleep(0.1)  # the second caller is waiting now
        held.release.set()
        return await first, await second

    try:
        first, second = async_to_sync(scenario)()
    finally:
        let_go(held)
    assert first.status == 200 and first.json()["state"] == "READY"
    assert second.status == 404, second.body
    assert held.count == 2, "the second caller had a check of its own"
