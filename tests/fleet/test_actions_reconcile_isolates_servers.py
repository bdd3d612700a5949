"""Reconcile ends each lost action on its own: a server that answers its index with an
HTML page, or whose reconciliation fails in a way nobody foresaw, costs only its own
actions a round; the lost actions on healthy servers are ended in the same round."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from fleet import services
from fleet import triton as triton_api
from fleet.control import runner
from fleet.models import Action, Server

# transaction: reconcile() closes connections it finds in a transaction, as beat's would be.
pytestmark = pytest.mark.django_db(transaction=True)


class _Html(BaseHTTPRequestHandler):
    """A proxy's login page where Triton should be: status 200, HTML."""

    def _page(self) -> None:
        body = b"<html><body>Please sign in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _lost(server: Server, model: str) -> Action:
    long_ago = timezone.now() - timedelta(minutes=5)
    return Action.objects.create(
        kind=Action.Kind.LOAD, server=server, model=model, state=Action.State.RUNNING,
        started_at=long_ago, heartbeat_at=long_ago,
    )  # fmt: skip


def test_it_ends_the_healthy_servers_actions_whatever_the_others_answer(
    triton, server_for, html_url, monkeypatch
) -> None:
    healthy = server_for(triton)
    services.refresh_inventory(healthy)
    html = Server.objects.create(name="behind-a-proxy", url=html_url)
    odd = Server.objects.create(name="odd", url=html_url)
    # Created first, so reconciled last (newest first): the others come before it.
    fine = _lost(healthy, "fast")
    on_html, on_odd = _lost(html, "fast"), _lost(odd, "fast")

    index = triton_api.repository_index

    def index_or_bug(target):
        # What no real server can make happen any more (fleet.triton turns every bad answer
        # into a TritonError): an unforeseen exception while reconciling one server.
        if target.name == "odd":
            raise RuntimeError("an unforeseen bug")
        return index(target)

    monkeypatch.setattr(triton_api, "repository_index", index_or_bug)
    runner.reconcile()

    assert Action.objects.get(id=fine.id).state == Action.State.SUCCEEDED  # fast is READY
    # The HTML page is an error FleetDeck understands: that action ends failed, with why.
    ended = Action.objects.get(id=on_html.id)
    assert ended.state == Action.State.FAILED and "could not be asked" in ended.error
    assert Action.objects.get(id=on_odd.id).state == Action.State.RUNNING  # tried again next round
