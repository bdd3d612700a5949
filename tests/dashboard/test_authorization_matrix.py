"""Every route of the URLconf and of the websocket router, for every actor, in normal and
read-only mode, answers as its row of dashboard.access.ACCESS says.

The routes are walked from `get_resolver()` and `dashboard.routing`, not listed here: a new
route without a row fails `test_every_route_has_a_row`, and a row the views do not honour
fails the matrix. "Refused" is 401/403 or a redirect to a login page (4401/4403 for a socket);
"allowed" is anything else (200, 201, 202, 400, 404, 405, 409 ...): the request got past
access control. Control requests stop at the gate or queue an action that never runs (the
test transaction is not committed), and their server is an unreachable address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.views import APIView

from dashboard import access
from dashboard.routing import websocket_urlpatterns
from fleet.models import Action, ModelVersion, Server
from tests.conftest import client_for
from tests.dashboard.sockets import communicator

ID = 4242  # the server's and the action's id, far above what the sequences hand out here
SAMPLES = {
    "server_id": str(ID),
    "pk": str(ID),
    "id": str(ID),
    "object_id": str(ID),
    "content_type_id": "1",
    "name": "fast",
    "prefix": "0123456789abcde",
    "app_label": "fleet",
    "url": "no-such-page/",
}
ACTORS = ["anonymous", "no_role", "viewer", "operator", "admin", "staff"]
RANK = {"no_role": 0, "viewer": 1, "operator": 2, "admin": 3, "staff": 3}
LEVEL_RANK: dict[str, int] = {access.VIEWER: 1, access.OPERATOR: 2, access.ADMIN: 3}


@dataclass(frozen=True)
class Route:
    name: str  # resolver_match.view_name: the key into ACCESS
    path: str  # a concrete URL
    callback: Any

    @property
    def is_api(self) -> bool:
        cls = getattr(self.callback, "cls", None)
        return isinstance(cls, type) and issubclass(cls, APIView)

    def write_methods(self) -> list[str]:
        cls = getattr(self.callback, "cls", None)
        if cls is None:
            return ["POST"]  # a function view, or a Django class-based one: POST stands for all
        return [m.upper() for m in ("post", "put", "patch", "delete") if hasattr(cls, m)] or ["POST"]


def concrete(pattern: str) -> str:
    """A URL for a route or regex pattern, its parameters filled from SAMPLES."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLES[m.group(1)], pattern)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "")


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str | None, str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            yield (
                (namespace + entry.name if entry.name else None),
                prefix + str(entry.pattern),
                entry.callback,
            )


def http_routes() -> list[Route]:
    routes = []
    for name, pattern, callback in walk(get_resolver().url_patterns):
        path = concrete(pattern)
        match = resolve(path)
        # An unnamed route goes by its view's dotted path, as request.resolver_match names it.
        assert match.func == callback and (name is None or match.view_name == name), path
        routes.append(Route(match.view_name, path, callback))
    return routes


def socket_routes() -> list[tuple[str, str]]:
    return [(entry.name, concrete(str(entry.pattern))) for entry in websocket_urlpatterns]


def test_every_route_has_a_row() -> None:
    names = [r.name for r in http_routes()] + [name for name, _ in socket_routes()]
    missing = [name for name in names if access.rule_for(name) is None]
    assert not missing, f"routes without a row in dashboard.access.ACCESS: {missing}"


def test_every_row_has_a_route() -> None:
    names = {r.name for r in http_routes()} | {name for name, _ in socket_routes()}
    stale = [key for key in access.ACCESS if key not in names and not any(n.startswith(key) for n in names)]
    assert not stale, f"rows of dashboard.access.ACCESS without a route: {stale}"


def expected_refusal(rule: access.Access, level: str | None, actor: str, read_only: bool) -> bool:
    """Whether the table says this actor is refused at this method."""
    if level is None or level == access.PUBLIC:
        return False
    if level == access.STAFF:
        return actor != "staff"
    if actor == "anonymous":
        return True
    if rule.control and read_only:
        return True
    return RANK[actor] < LEVEL_RANK[level]


def refused(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return location.startswith(("/login/?next=", "/admin/login/?next="))


@pytest.fixture
def actor(request: pytest.FixtureRequest) -> User | None:
    name = request.param
    if name == "anonymous":
        return None
    if name == "staff":
        return User.objects.create_superuser("root", password="pw-root")
    user: User = request.getfixturevalue(name)
    return user


@pytest.fixture
def fleet_rows() -> None:
    server = Server.objects.create(id=ID, name="unreachable", url="http://127.0.0.1:9")
    ModelVersion.objects.create(server=server, name="fast", version="1", state="READY")
    Action.objects.create(
        id=ID, kind=Action.Kind.LOAD, server=server, model="fast", state=Action.State.SUCCEEDED
    )


class Clients:
    """One API client (bearer token) and one browser (session) per actor."""

    def __init__(self, user: User | None) -> None:
        self.user = user
        self.api = client_for(user)
        self.page = Client()
        self.sign_in()

    def sign_in(self) -> None:
        if self.user is not None:
            self.page.force_login(self.user)

    def send(self, route: Route, method: str) -> Any:
        if route.is_api:
            return getattr(self.api, method.lower())(route.path, {}, format="json")
        response = getattr(self.page, method.lower())(route.path)
        if route.name.endswith("logout"):
            self.sign_in()
        return response


@pytest.mark.django_db
@pytest.mark.parametrize("read_only", [False, True], ids=["normal", "read-only"])
@pytest.mark.parametrize("actor", ACTORS, indirect=True)
def test_every_http_route_answers_each_actor_as_its_row_says(
    fleet_rows: None, actor: User | None, read_only: bool, settings: Any, request: pytest.FixtureRequest
) -> None:
    settings.FLEET_READ_ONLY = read_only
    # Ensure-loaded joins the load the load route just queued, which never runs here.
    settings.FLEET_ENSURE_WAIT = 0.2
    name = request.node.callspec.params["actor"]
    clients, wrong = Clients(actor), []
    for route in http_routes():
        rule = access.rule_for(route.name)
        assert rule is not None, f"{route.name} has no row"
        methods = [("GET", rule.read)] + [(m, rule.write) for m in route.write_methods()]
        for method, level in methods:
            response = clients.send(route, method)
            if level is None:  # the row says the route has no such method
                ok = response.status_code == 405
            elif level == access.STAFF and name == "staff":
                ok = not refused(response) or response.status_code == 403  # the admin's model permissions
            else:
                ok = refused(response) == expected_refusal(rule, level, name, read_only)
            if ok and level is not None and rule.control and read_only and name != "anonymous":
                ok = response.status_code == 403
            if not ok:
                wrong.append(f"{method} {route.path} ({route.name}): {response.status_code}")
    assert not wrong, f"{name}: " + "; ".join(wrong)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("actor", ACTORS, indirect=True)
def test_every_socket_route_answers_each_actor_as_its_row_says(
    fleet_rows: None, actor: User | None, request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.params["actor"]
    sockets = [(route, communicator(path, user=actor)) for route, path in socket_routes()]

    async def scenario() -> list[str]:
        wrong = []
        for route, ws in sockets:
            rule = access.rule_for(route)
            assert rule is not None, f"{route} has no row"
            try:
                connected, code = await ws.connect()
            finally:
                await ws.disconnect()
            if expected_refusal(rule, rule.read, name, read_only=False):
                expected = 4401 if actor is None else 4403
                if (connected, code) != (False, expected):
                    wrong.append(f"{route}: {connected}, {code} (expected {expected})")
            elif not connected:
                wrong.append(f"{route}: refused with {code}")
        return wrong

    wrong = async_to_sync(scenario)()
    assert not wrong, f"{name}: " + "; ".join(wrong)
