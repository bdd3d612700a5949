"""Demo traffic for the models in fleet/demo/models, over tritonclient.http.

`run()` drives a few servers with load that varies per server and model (a sine
wave with a random phase times a slow random walk), bursts of concurrent
requests on `slow` so that its queue builds up, and a small share of failing
requests so the failure counters move. It is bounded in time and request count,
stops early when `stop` is set, and only talks to the URLs it is given, which
must be loopback unless `allow_remote=True`.

`send_inferences()` sends an exact number of successful requests, for tests that
check what the dashboard integrates from the metrics.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import tritonclient.http as httpclient

log = logging.getLogger(__name__)

# model -> (input name, shape of one request). The batched models (fast,
# preprocess, pipeline) get a batch of 1, so nv_inference_count == requests.
MODEL_INPUTS: dict[str, tuple[str, tuple[int, ...]]] = {
    "fast": ("INPUT0", (1, 4)),
    "slow": ("INPUT0", (4,)),
    "versioned": ("INPUT0", (1,)),
    "preprocess": ("RAW", (1, 4)),
    "pipeline": ("RAW", (1, 4)),
    "longtail": ("INPUT0", (4,)),
}

# model, share of the total rate, period of its sine wave in seconds.
_PROFILES: tuple[tuple[str, float, float], ...] = (
    ("fast", 0.5, 40.0),
    ("pipeline", 0.2, 90.0),
    ("versioned", 0.15, 60.0),
    ("slow", 0.15, 25.0),
)
_TICK_S = 0.05
MAX_DURATION_S = 24 * 3600.0


class InferenceFailed(RuntimeError):
    """send_inferences() got an error from the server."""


@dataclass
class TrafficStats:
    """What run() sent, per model (failures include the deliberate ones)."""

    sent: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # arrivals skipped because max_in_flight were outstanding

    def summary(self) -> str:
        models = sorted(self.sent)
        parts = [f"{m}: {self.succeeded[m]} ok / {self.failed[m]} failed" for m in models]
        return f"{sum(self.sent.values())} requests ({', '.join(parts) or 'none'}); {self.dropped} dropped"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_address(url: str, *, allow_remote: bool = False) -> str:
    """`http://127.0.0.1:8000` -> `127.0.0.1:8000`, the form tritonclient.http wants.

    Raises ValueError for anything but an http URL with a host and, unless
    allow_remote, a loopback host: demo traffic must not reach real servers by
    accident.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http://host:port URL: {url!r}")
    if not allow_remote and not _is_loopback(parts.hostname):
        raise ValueError(f"refusing to send demo traffic to non-loopback {url!r}")
    return parts.netloc


def _make_input(model: str, *, poison: bool = False, bad_shape: bool = False) -> httpclient.InferInput:
    name, shape = MODEL_INPUTS[model]
    if bad_shape:
        # Rejected by Triton with HTTP 400 before the model runs: a client-side
        # error only, it does not show in nv_inference_request_failure.
        shape = (*shape, 2, 2)
    data = np.random.default_rng().random(shape, dtype=np.float32)
    if poison:
        # `versioned` raises on NaN: a server-side failure, counted as
        # nv_inference_request_failure{reason="BACKEND"}.
        data[...] = np.nan
    tensor = httpclient.InferInput(name, list(shape), "FP32")
    tensor.set_data_from_numpy(data)
    return tensor


def _new_client(address: str) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(address, connection_timeout=5.0, network_timeout=10.0)


def send_inferences(url: str, model: str, n: int, concurrency: int = 1) -> None:
    """Send exactly `n` requests to `model` at `url` and require all to succeed.

    Each request is one inference (batch of 1), so nv_inference_request_success
    and nv_inference_count of `model` both grow by n. For `pipeline` the
    ensemble's steps (preprocess, fast) grow by n as well. Raises
    InferenceFailed on the first error; loopback URLs only.
    """
    if model not in MODEL_INPUTS:
        raise ValueError(f"unknown demo model {model!r}; known: {sorted(MODEL_INPUTS)}")
    address = client_address(url)
    concurrency = max(1, min(concurrency, n))
    # Split n as evenly as possible; each worker has its own client because a
    # tritonclient.http client must not be shared between threads.
    shares = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]

    def worker(count: int) -> None:
        client = _new_client(address)
        try:
            for _ in range(count):
                client.infer(model, [_make_input(model)])
        except Exception as exc:
            raise InferenceFailed(f"{model} at {url}: {exc}") from exc
        finally:
            client.close()

    if concurrency == 1:
        worker(n)
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(worker, share) for share in shares]:
            future.result()


class _Clients:
    """One tritonclient per (thread, server), all closed at the end.

    Closing matters: Triton's SIGTERM handling waits (up to its exit timeout)
    for open HTTP keep-alive connections.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[httpclient.InferenceServerClient] = []

    def get(self, address: str) -> httpclient.InferenceServerClient:
        clients: dict[str, httpclient.InferenceServerClient] = self._local.__dict__.setdefault("clients", {})
        if address not in clients:
            clients[address] = _new_client(address)
            with self._lock:
                self._all.append(clients[address])
        return clients[address]

    def close_all(self) -> None:
        with self._lock:
            for client in self._all:
                with contextlib.suppress(Exception):  # best effort at shutdown
                    client.close()
            self._all.clear()


@dataclass
class _Stream:
    """Arrivals of one model on one server."""

    address: str
    model: str
    base_rate: float  # requests/s averaged over a period
    period_s: float
    phase: float
    owed: float = 0.0  # fractional arrivals carried to the next tick

    def rate(self, t: float, walk: float) -> float:
        return self.base_rate * walk * (1.0 + 0.8 * math.sin(2 * math.pi * t / self.period_s + self.phase))


def run(
    urls: Sequence[str],
    duration: float = 60.0,
    rate: float = 20.0,
    *,
    max_requests: int | None = None,
    max_in_flight: int = 32,
    failure_ratio: float = 0.05,
    burst_every: tuple[float, float] = (8.0, 20.0),
    stop: threading.Event | None = None,
    seed: int | None = None,
    allow_remote: bool = False,
) -> TrafficStats:
    """Send demo traffic to `urls` for `duration` seconds at ~`rate` requests/s per server.

    Stops at `duration`, after `max_requests` (default about three times the
    expected count), or when `stop` is set, then waits for outstanding requests
    (each has a 10 s network timeout). At most `max_in_flight` requests are
    outstanding; arrivals beyond that are dropped, so a dead server cannot pile
    up work. `failure_ratio` of the `versioned` requests fail on purpose inside
    the model, and a quarter as many `fast` requests have a bad shape. Call from any thread; signal
    handling is up to the caller (see the `traffic` management command).
    """
    if not urls:
        raise ValueError("no URLs to send traffic to")
    if not 0 < duration <= MAX_DURATION_S:
        raise ValueError(f"duration must be in (0, {MAX_DURATION_S:.0f}] seconds")
    if rate <= 0:
        raise ValueError("rate must be positive")
    addresses = [client_address(u, allow_remote=allow_remote) for u in urls]
    if max_requests is None:
        max_requests = math.ceil(3 * rate * duration * len(addresses)) + 100
    stop = stop or threading.Event()
    rng = random.Random(seed)
    stats = TrafficStats()
    clients = _Clients()
    lock = threading.Lock()
    in_flight = 0

    streams = [
        _Stream(address, model, rate * share, period, rng.uniform(0, 2 * math.pi))
        for address in addresses
        for model, share, period in _PROFILES
    ]
    walks = dict.fromkeys(addresses, 1.0)
    next_burst = {a: rng.uniform(*burst_every) for a in addresses}

    def call(address: str, model: str, poison: bool, bad_shape: bool) -> None:
        nonlocal in_flight
        ok = False
        try:
            tensor = _make_input(model, poison=poison, bad_shape=bad_shape)
            clients.get(address).infer(model, [tensor])
            ok = True
        except Exception as exc:  # every failure is just counted
            if not (poison or bad_shape):
                log.debug("%s at %s failed: %s", model, address, exc)
        finally:
            with lock:
                in_flight -= 1
                (stats.succeeded if ok else stats.failed)[model] += 1

    pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="traffic")

    def submit(address: str, model: str) -> bool:
        """Queue one request; False once the request budget is spent."""
        nonlocal in_flight
        if sum(stats.sent.values()) >= max_requests:
            return False
        # Deliberate failures: NaN to `versioned` (fails in the model, counted by
        # Triton); a bad shape to `fast` (HTTP 400, never reaches the model).
        poison = model == "versioned" and rng.random() < failure_ratio
        bad_shape = model == "fast" and rng.random() < failure_ratio / 4
        with lock:
            if in_flight >= max_in_flight:
                stats.dropped += 1
                return True
            in_flight += 1
            stats.sent[model] += 1
        pool.submit(call, address, model, poison, bad_shape)
        return True

    started = time.monotonic()
    try:
        while not stop.is_set():
            t = time.monotonic() - started
            if t >= duration:
                break
            budget_left = True
            for address in addresses:
                # Slow random walk per server, so servers drift apart over minutes.
                walks[address] = min(2.0, max(0.3, walks[address] * math.exp(rng.gauss(0, 0.02))))
                if t >= next_burst[address]:
                    next_burst[address] = t + rng.uniform(*burst_every)
                    for _ in range(rng.randint(6, 12)):
                        budget_left = submit(address, "slow") and budget_left
            for stream in streams:
                # Jittered accumulation: the average matches the rate, arrivals don't tick.
                current = max(0.0, stream.rate(t, walks[stream.address]))
                stream.owed += current * _TICK_S * rng.uniform(0.5, 1.5)
                while stream.owed >= 1.0:
                    stream.owed -= 1.0
                    budget_left = submit(stream.address, stream.model) and budget_left
            if not budget_left:
                break
            stop.wait(_TICK_S)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        clients.close_all()
    log.info("traffic done after %.1fs: %s", time.monotonic() - started, stats.summary())
    return stats
