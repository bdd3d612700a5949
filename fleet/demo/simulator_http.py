"""HTTP for the simulated fleet: server i listens on port P+i, all from one asyncio loop.

Each port answers both Triton's HTTP API (the part FleetDeck and tritonclient.http use) and
`/metrics`, so a simulated server registers as url=http://HOST:P+i and
metrics_url=http://HOST:P+i/metrics. Statuses, content types and error bodies are the ones a
real tritonserver 2.51 gives (captured from one; see fleet/demo/simulator_server.py).

`SimFleet` runs the loop in a background thread (tests, benchmarks); `serve_until` runs it in
the calling thread until an event is set (the `sim_fleet` command).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .simulator import EXTENSIONS, TRITON_VERSION, SimError, SimOptions
from .simulator_server import SimServer

HOST = "127.0.0.1"
JSON = "application/json"
Clock = Callable[[], float]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, separators=(",", ":")), content_type=JSON)


def _empty(status: int = 200, content_type: str = "text/plain") -> web.Response:
    return web.Response(status=status, content_type=content_type)


@web.middleware
async def _triton_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SimError as exc:
        return _json({"error": exc.message}, exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise SimError(400, f"failed to parse the request JSON buffer: {exc}") from exc
    if not isinstance(body, dict):
        raise SimError(400, "failed to parse the request JSON buffer: not an object")
    return body


class _Api:
    """The routes of one server."""

    def __init__(self, server: SimServer, clock: Clock) -> None:
        self.server = server
        self.clock = clock
        # Triton serializes loads of one model; so do we.
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.RouteDef]:
        models, version = "/v2/models/{model}", "/v2/models/{model}/versions/{version}"
        return [
            web.get("/metrics", self.metrics),
            web.get("/v2/health/live", self.live),
            web.get("/v2/health/ready", self.ready),
            web.get("/v2", self.metadata),
            web.get("/v2/models/stats", self.stats),
            web.get(f"{models}/stats", self.stats),
            web.get(f"{version}/stats", self.stats),
            web.get(f"{models}/config", self.config),
            web.get(f"{version}/config", self.config),
            web.get(f"{models}/ready", self.model_ready),
            web.get(f"{version}/ready", self.model_ready),
            web.post("/v2/repository/index", self.index),
            web.post("/v2/repository/models/{model}/load", self.load),
            web.post("/v2/repository/models/{model}/unload", self.unload),
        ]

    async def metrics(self, request: web.Request) -> web.Response:
        text = self.server.metrics_text(self.clock())
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    async def live(self, request: web.Request) -> web.Response:
        return _empty()

    async def ready(self, request: web.Request) -> web.Response:
        return _empty(400 if self.server.loading else 200)

    async def metadata(self, request: web.Request) -> web.Response:
        return _json({"name": "triton", "version": TRITON_VERSION, "extensions": EXTENSIONS})

    async def stats(self, request: web.Request) -> web.Response:
        info = request.match_info
        return _json(self.server.statistics(self.clock(), info.get("model", ""), info.get("version", "")))

    async def config(self, request: web.Request) -> web.Response:
        return _json(self.server.config(request.match_info["model"], request.match_info.get("version")))

    async def model_ready(self, request: web.Request) -> web.Response:
        model = self.server.model(request.match_info["model"])
        version = request.match_info.get("version")
        ready = model is not None and bool(model.ready())
        if ready and model is not None and version:
            ready = version.isdigit() and int(version) in model.ready()
        return _empty(200 if ready else 400)

    async def index(self, request: web.Request) -> web.Response:
        body = await _body(request)
        return _json(self.server.index(ready_only=body.get("ready") is True))

    async def load(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        parameters = (await _body(request)).get("parameters") or {}
        override = None
        if "config" in parameters:
            try:
                override = json.loads(parameters["config"])
            except (TypeError, ValueError) as exc:
                raise SimError(500, f"failed to load '{name}', failed to poll from model repository") from exc
        async with self.locks[name]:
            model, wanted, config = self.server.begin_load(name, override)
            try:
                await asyncio.sleep(self.server.options.load_s)
            finally:
                dropped = self.server.finish_load(model, wanted, config, self.clock())
        if dropped:  # versions the new policy no longer serves go, as in Triton, after the swap
            self._unload(name, dropped)
        return _empty(content_type=JSON)

    async def unload(self, request: web.Request) -> web.Response:
        await _body(request)  # unload_dependents: no ensembles here
        self._unload(request.match_info["model"], None)
        return _empty(content_type=JSON)

    def _unload(self, name: str, versions: list[int] | None) -> None:
        chosen = self.server.begin_unload(name, versions)
        if chosen:
            task = asyncio.get_running_loop().create_task(self._finish_unload(name, chosen))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _finish_unload(self, name: str, versions: list[int]) -> None:
        await asyncio.sleep(self.server.options.unload_s)
        self.server.finish_unload(name, versions, self.clock())


def build_app(server: SimServer, clock: Clock = time.time) -> web.Application:
    app = web.Application(middlewares=[_triton_errors])
    app.add_routes(_Api(server, clock).routes())
    return app


async def start_sites(servers: list[SimServer], host: str, port: int, clock: Clock) -> list[web.AppRunner]:
    """Listen on port+i for server i; on any failure, close what was opened and raise OSError."""
    runners: list[web.AppRunner] = []
    try:
        for i, server in enumerate(servers):
            runner = web.AppRunner(build_app(server, clock), access_log=None)
            runners.append(runner)
            await runner.setup()
            try:
                await web.TCPSite(runner, host, port + i).start()
            except OSError as exc:
                raise OSError(f"cannot listen on {host}:{port + i} for simulated server {i}: {exc}") from exc
    except BaseException:
        for runner in runners:
            await runner.cleanup()
        raise
    return runners


async def serve_until(
    stop: asyncio.Event,
    servers: list[SimServer],
    host: str,
    port: int,
    clock: Clock = time.time,
    started: asyncio.Event | None = None,
) -> None:
    """Serve until `stop` is set; `started` is set once every port listens."""
    runners = await start_sites(servers, host, port, clock)
    if started is not None:
        started.set()
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()


class SimFleet:
    """A simulated fleet served from a background thread: `with SimFleet(options, port) as fleet:`."""

    def __init__(self, options: SimOptions, port: int, host: str = HOST, clock: Clock = time.time) -> None:
        self.options, self.port, self.host, self.clock = options, port, host, clock
        now = clock()
        self.servers = [SimServer(options, i, now) for i in range(options.servers)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def url(self, server: int) -> str:
        return f"http://{self.host}:{self.port + server}"

    def metrics_url(self, server: int) -> str:
        return f"{self.url(server)}/metrics"

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._run, name="sim-fleet", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"simulated fleet not listening after {timeout:.0f} s")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        stop = self._stop = asyncio.Event()

        async def main() -> None:
            runners = await start_sites(self.servers, self.host, self.port, self.clock)
            self._started.set()
            try:
                await stop.wait()
            finally:
                for runner in runners:
                    await runner.cleanup()

        try:
            loop.run_until_complete(main())
        except BaseException as exc:
            self._error = exc
            self._started.set()
        finally:
            loop.close()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run fn in the fleet's loop (the servers' state belongs to it) and return its result."""
        assert self._loop is not None, "start() first"

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
