"""A server is scraped as soon as it is created, wherever: in /admin/ as through the API
or the shell. The worker here runs no beat, so only that first scrape can bring it up."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from fleet.models import Server

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_scrapes_a_server_added_in_the_admin_or_the_shell_at_once(
    admin, triton, celery_worker_factory
) -> None:
    worker = celery_worker_factory("no-beat", beat=False)
    page = Client()
    page.force_login(User.objects.create_superuser("root", password="pw-root"))
    answer = page.post(
        "/admin/fleet/server/add/",
        {
            "name": "from-admin",
            "url": triton.http_url,
            "metrics_url": triton.metrics_url,
            "labels": "{}",
            "reload_strategy": Server.ReloadStrategy.IN_PLACE,
        },
    )
    assert (answer.status_code, answer["Location"]) == (302, "/admin/fleet/server/")
    from_shell = Server.objects.create(name="from-shell", url=triton.http_url, metrics_url=triton.metrics_url)

    for server in (Server.objects.get(name="from-admin"), from_shell):
        worker.wait_for(lambda s=server: Server.objects.get(id=s.id).status == Server.Status.UP)
        assert Server.objects.get(id=server.id).last_scrape_at is not None
