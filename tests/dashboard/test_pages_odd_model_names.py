"""Model names come from servers we don't own: any of them renders, escaped, on every page."""

from urllib.parse import quote

import pytest
from django.test import Client

from fleet.models import ModelVersion, Server

pytestmark = pytest.mark.django_db

NAMES = ["bad\nname", "<b>bold</b>", "50% off", "with space", "tab\there"]


@pytest.mark.parametrize("name", NAMES)
def test_it_renders_every_page_for_an_odd_model_name(viewer, name: str) -> None:
    server = Server.objects.create(name="odd", url="http://127.0.0.1:1")
    ModelVersion.objects.create(server=server, name=name, version="1", state="READY")
    client = Client()
    client.force_login(viewer)

    for url in ("/", f"/servers/{server.id}/", f"/servers/{server.id}/models/{quote(name)}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<b>bold</b>" not in response.content.decode()
