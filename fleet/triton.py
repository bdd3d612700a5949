"""The one seam to Triton: every HTTP call FleetDeck makes to a Triton server is here.

Repository, config and statistics calls go through `tritonclient.http`; the Prometheus
endpoint (which tritonclient does not cover) through `requests`. Every call has bounded
timeouts so that one slow server never holds up the others, and every failure surfaces as
`TritonError` with a message fit for `Server.last_error`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import gevent
import numpy as np
import requests
import tritonclient.http as triton_http
from django.conf import settings
from tritonclient.utils import InferenceServerException, triton_to_np_dtype


class TritonError(Exception):
    """A Triton server could not be reached, or answered with an error."""


class Target(Protocol):
    """What this module needs to know of a server (a `fleet.models.Server` fits)."""

    url: str
    metrics_url: str

    @property
    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Exposition:
    """The Prometheus text of one scrape and the wall-clock time it was read."""

    text: str
    at: float


def _timeouts() -> tuple[float, float]:
    return (settings.FLEET_HTTP_CONNECT_TIMEOUT, settings.FLEET_HTTP_READ_TIMEOUT)


def fetch_metrics(target: Target) -> Exposition:
    """GET the metrics endpoint within FLEET_HTTP_DEADLINE; refuse bodies over
    FLEET_METRICS_MAX_BYTES and redirects.

    The read timeout bounds each socket read, not the whole answer: a server that sends a
    byte every 0.4 s never trips it. A timer therefore shuts the socket down at the deadline,
    which ends the blocked read. Redirects are not followed: they would send the server's
    auth header to wherever the endpoint points, internal addresses included.
    """
    limit = settings.FLEET_METRICS_MAX_BYTES
    deadline = settings.FLEET_HTTP_DEADLINE
    started = time.monotonic()
    try:
        with requests.get(
            target.metrics_url,
            timeout=_timeouts(),
            stream=True,
            headers=target.headers,
            allow_redirects=False,
        ) as response:
            if response.is_redirect:
                raise TritonError(f"metrics: HTTP {response.status_code}, a redirect (not followed)")
            response.raise_for_status()
            remaining = max(deadline - (time.monotonic() - started), 0.0)
            watchdog = threading.Timer(remaining, response.raw.shutdown)
            watchdog.start()
            try:
                body = bytearray()
                for chunk in response.iter_content(chunk_size=65536):
                    body += chunk
                    if len(body) > limit:
                        raise TritonError(f"metrics: body larger than {limit} bytes")
            finally:
                watchdog.cancel()
            at = time.time()
    except requests.RequestException as exc:
        if time.monotonic() - started >= deadline:
            raise TritonError(f"metrics: no complete answer within {deadline:g} s") from exc
        raise TritonError(f"metrics: {_describe(exc)}") from exc
    if time.monotonic() - started >= deadline:  # the shutdown can look like a short, clean end
        raise TritonError(f"metrics: no complete answer within {deadline:g} s")
    try:
        return Exposition(text=body.decode("utf-8"), at=at)
    except UnicodeDecodeError as exc:
        raise TritonError(f"metrics: body is not UTF-8 (byte {exc.start})") from exc


def _describe(exc: requests.RequestException) -> str:
    """The failure in our words only: whoever runs an endpoint must not be able to make
    FleetDeck repeat text of their choosing (or of an internal page) to every viewer."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect ({type(exc).__name__})"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {settings.FLEET_HTTP_READ_TIMEOUT:g} s"
    return type(exc).__name__


@contextmanager
def _client(target: Target, read_timeout: float | None = None) -> Iterator[Any]:
    """A tritonclient for one call sequence, bounded as a whole by a gevent timeout (the
    client's own timeouts are per socket operation; geventhttpclient honours gevent's)."""
    parts = urlsplit(target.url)
    connect, read = _timeouts()
    total = max(read_timeout or 0.0, settings.FLEET_HTTP_DEADLINE)
    client = triton_http.InferenceServerClient(
        url=parts.netloc,
        ssl=parts.scheme == "https",
        connection_timeout=connect,
        network_timeout=read_timeout or read,
    )
    try:
        with gevent.Timeout(total, TritonError(f"no complete answer from {target.url} within {total:g} s")):
            yield client
    except InferenceServerException as exc:
        raise TritonError(_triton_message(exc)) from exc
    except (OSError, TimeoutError) as exc:  # geventhttpclient raises socket errors as-is
        raise TritonError(f"cannot reach {target.url} ({type(exc).__name__})") from exc
    except ValueError as exc:  # a 200 whose body is not JSON (an HTML page, a proxy)
        raise TritonError(f"{target.url} answered with something that is not Triton's JSON") from exc
    finally:
        client.close()


def _triton_message(exc: InferenceServerException) -> str:
    """Triton's own error text; but when the body was not Triton's JSON error, tritonclient
    quotes the body, which is not ours to repeat: say what it was instead."""
    if exc.debug_details() is not None:
        return f"HTTP {exc.status()}: the answer is not Triton's JSON"
    return (exc.message() or str(exc))[:2000]


def _list_of_dicts(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise TritonError(f"{what} is not a list of objects (got {type(value).__name__})")
    return value


def repository_index(target: Target) -> list[dict[str, Any]]:
    """Every model in the repository, loaded or not: [{name, version?, state?, reason?}]."""
    with _client(target) as client:
        rows = _list_of_dicts(client.get_model_repository_index(headers=target.headers), "the index")
    if not all(isinstance(row.get("name"), str) for row in rows):
        raise TritonError("the index has a model without a name")
    if not all(_plausible_row(row) for row in rows):
        raise TritonError("the index has a name, version or state that is not Triton's (too long, a NUL)")
    return rows


# Triton names a model after its directory, numbers its versions and has four short states;
# anything longer (or holding a NUL, which PostgreSQL refuses) is not from Triton, and would
# stop every inventory read of the server at the database instead of here.
_LONGEST = {"name": 200, "version": 50, "state": 20, "reason": 100_000}


def _plausible_row(row: dict[str, Any]) -> bool:
    for key, longest in _LONGEST.items():
        value = row.get(key)
        text = "" if value is None else str(value)  # apply_index stores str() of each
        if len(text) > longest or "\x00" in text:
            return False
    return True


def model_config(target: Target, name: str) -> dict[str, Any]:
    """The config of a loaded model as JSON (fails for a model that is not loaded)."""
    with _client(target) as client:
        config = client.get_model_config(name, headers=target.headers)
    if not isinstance(config, dict):
        raise TritonError(f"the config of {name} is not an object")
    return config


def model_statistics(target: Target) -> list[dict[str, Any]]:
    """Statistics of every loaded model version (GET /v2/models/stats)."""
    with _client(target) as client:
        stats = client.get_inference_statistics(headers=target.headers)
    if not isinstance(stats, dict):
        raise TritonError("the statistics are not an object")
    return _list_of_dicts(stats.get("model_stats", []), "model_stats")


def load_model(target: Target, name: str, config: dict[str, Any] | None = None) -> float:
    """Load (or reload) a model and return the seconds Triton took; blocks until it is loaded.

    With `config`, Triton loads that config instead of config.pbtxt, and always reloads:
    the way to change a model's version policy without touching the repository. The read
    timeout is FLEET_LOAD_TIMEOUT, since big models take minutes. A failed load leaves the
    versions that were serving in place (Triton swaps only once the new ones are ready).
    """
    started = time.monotonic()
    body = json.dumps(config) if config is not None else None
    with _client(target, read_timeout=settings.FLEET_LOAD_TIMEOUT) as client:
        client.load_model(name, headers=target.headers, config=body)
    return time.monotonic() - started


def unload_model(target: Target, name: str, unload_dependents: bool = False) -> None:
    """Ask Triton to unload a model. Returns at once: Triton unloads in the background,
    so callers poll `repository_index` to see it gone."""
    with _client(target) as client:
        client.unload_model(name, headers=target.headers, unload_dependents=unload_dependents)


def last_inference_at(target: Target, name: str) -> float | None:
    """Unix seconds of the model's latest inference over all its versions (Triton's clock),
    or None if it never served one since it was loaded."""
    with _client(target) as client:
        stats = client.get_inference_statistics(name, headers=target.headers)
    if not isinstance(stats, dict):
        raise TritonError("the statistics are not an object")
    try:
        stamps = [
            int(s.get("last_inference") or 0)
            for s in _list_of_dicts(stats.get("model_stats", []), "model_stats")
        ]
    except (TypeError, ValueError) as exc:
        raise TritonError("last_inference is not a number") from exc
    latest = max(stamps, default=0)
    return latest / 1000.0 if latest else None


# --- Inside a server (issue 14): statistics of one model, settings, shared memory ----------


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TritonError(f"{what} is not an object")
    return value


def model_stats(target: Target, name: str) -> list[dict[str, Any]]:
    """Statistics of one model's loaded versions (GET /v2/models/{name}/stats), with
    `batch_stats`: per batch size, the executions Triton formed since the model loaded."""
    with _client(target) as client:
        stats = _object(client.get_inference_statistics(name, headers=target.headers), "the statistics")
    return _list_of_dicts(stats.get("model_stats", []), "model_stats")


def server_metadata(target: Target) -> dict[str, Any]:
    """GET /v2: Triton's name, version and extensions."""
    with _client(target) as client:
        return _object(client.get_server_metadata(headers=target.headers), "the server metadata")


def shared_memory_status(target: Target, kind: str) -> list[dict[str, Any]]:
    """Registered regions: kind "system" (/v2/systemsharedmemory/status) or "cuda"."""
    with _client(target) as client:
        if kind == "system":
            regions = client.get_system_shared_memory_status(headers=target.headers)
        else:
            regions = client.get_cuda_shared_memory_status(headers=target.headers)
    return _list_of_dicts(regions, f"the {kind} shared-memory status")


def log_settings(target: Target) -> dict[str, Any]:
    """GET /v2/logging."""
    with _client(target) as client:
        return _object(client.get_log_settings(headers=target.headers), "the log settings")


def update_log_settings(target: Target, changes: dict[str, Any]) -> dict[str, Any]:
    """POST /v2/logging; returns the settings now in force."""
    with _client(target) as client:
        answer = client.update_log_settings(changes, headers=target.headers)
    return _object(answer, "the log settings")


def trace_settings(target: Target, model: str) -> dict[str, Any]:
    """GET /v2/models/{model}/trace/setting."""
    with _client(target) as client:
        return _object(client.get_trace_settings(model, headers=target.headers), "the trace settings")


def update_trace_settings(target: Target, model: str, changes: dict[str, Any]) -> dict[str, Any]:
    """POST /v2/models/{model}/trace/setting; a value of None clears the model's own
    setting, so that the global one applies again."""
    with _client(target) as client:
        answer = client.update_trace_settings(model, changes, headers=target.headers)
    return _object(answer, "the trace settings")


# --- Smoke inference (issue 9): one request to one version ------------------------------


def infer(
    target: Target, name: str, version: str, inputs: list[dict[str, Any]], outputs: list[str]
) -> dict[str, list[Any]]:
    """One inference over HTTP against `version` explicitly ("" for Triton's choice);
    inputs are {name, datatype, shape, data}; returns each output's values, flattened."""
    tensors = []
    try:
        for item in inputs:
            tensor = triton_http.InferInput(item["name"], list(item["shape"]), item["datatype"])
            dtype = triton_to_np_dtype(item["datatype"]) or np.object_
            tensor.set_data_from_numpy(np.array(item["data"], dtype=dtype).reshape(item["shape"]))
            tensors.append(tensor)
    except (KeyError, TypeError, ValueError) as exc:
        raise TritonError(f"the request does not fit: {exc}") from exc
    wanted = [triton_http.InferRequestedOutput(o) for o in outputs] or None
    with _client(target) as client:
        result = client.infer(name, tensors, model_version=version, outputs=wanted, headers=target.headers)
        answer = result.get_response() or {}
        names = [str(o.get("name")) for o in answer.get("outputs", []) if isinstance(o, dict)]
        values: dict[str, list[Any]] = {}
        for output in names:
            array = result.as_numpy(output)
            values[output] = [] if array is None else array.flatten().tolist()
    return values
