"""The audit log lists debug sessions next to actions: who, what was set, what was there
before, and how the session ended, filtered like the actions."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from fleet.models import DebugSession, Server


def test_it_lists_who_raised_what_and_how_it_ended(viewer, operator) -> None:
    server = Server.objects.create(name="s-audit", url="http://127.0.0.1:9")
    mine = DebugSession.objects.create(
        server=server, model="fast", requested_by=operator, ends_at=timezone.now() + timedelta(minutes=5),
        previous={"logging": {"log_verbose_level": 0}}, applied={"logging": {"log_verbose_level": 1}},
        state=DebugSession.State.REVERTED, reverted_by="timer", reverted_at=timezone.now(),
    )  # fmt: skip
    other = DebugSession.objects.create(server=server, model="slow", ends_at=timezone.now())
    page = Client()
    page.force_login(viewer)

    html = page.get("/audit/", {"model": "fast"}).content.decode()

    assert f'data-debug-session="{mine.id}" data-state="reverted"' in html
    assert f'data-debug-session="{other.id}"' not in html
    row = html[html.index(f'data-debug-session="{mine.id}"') :].split("</tr>")[0]
    assert "otto" in row and "timer" in row and "log_verbose_level" in row
