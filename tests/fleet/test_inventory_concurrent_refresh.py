"""The web process and a worker refreshing one server's inventory at once: no crash, no
duplicate versions, each state change recorded once."""

import threading

import pytest
from django.db import connection

from fleet import services
from fleet.models import ModelEvent, ModelVersion, Server


def refresh_twice_at_once(server: Server) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def refresh() -> None:
        try:
            start.wait()
            services.refresh_inventory(server)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_agree(triton) -> None:
    for attempt in range(8):
        server = Server.objects.create(
            name=f"race-{attempt}", url=triton.http_url, metrics_url=triton.metrics_url
        )
        assert refresh_twice_at_once(server) == []
        server.refresh_from_db()
        assert not server.last_error
        rows = list(ModelVersion.objects.filter(server=server).values_list("name", "version"))
        assert len(rows) == len(set(rows)) > 0
        events = list(ModelEvent.objects.filter(server=server).values_list("name", "version"))
        assert len(events) == len(set(events))
