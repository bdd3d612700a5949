"""The one seam to Triton: every HTTP call FleetDeck makes to a Triton server is here.

Repository, config and statistics calls go through `tritonclient.http`; the Prometheus
endpoint (which tritonclient does not cover) through `requests`. Every call has bounded
timeouts so that one slow server never holds up the others, and every failure surfaces as
`TritonError` with a message fit for `Server.last_error`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import tritonclient.http as triton_http
from django.conf import settings
from tritonclient.utils import InferenceServerException


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
    """GET the metrics endpoint; refuse bodies over FLEET_METRICS_MAX_BYTES."""
    limit = settings.FLEET_METRICS_MAX_BYTES
    try:
        with requests.get(
            target.metrics_url, timeout=_timeouts(), stream=True, headers=target.headers
        ) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_content(chunk_size=65536):
                body += chunk
                if len(body) > limit:
                    raise TritonError(f"metrics body larger than {limit} bytes")
            at = time.time()
    except requests.RequestException as exc:
        raise TritonError(f"metrics: {_describe(exc)}") from exc
    try:
        return Exposition(text=body.decode("utf-8"), at=at)
    except UnicodeDecodeError as exc:
        raise TritonError(f"metrics body is not UTF-8: {exc}") from exc


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} from {exc.response.url}"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect ({type(exc).__name__}): {exc}"
    if isinstance(exc, requests.Timeout):
        return f"timed out: {exc}"
    return str(exc)


@contextmanager
def _client(target: Target, read_timeout: float | None = None) -> Iterator[Any]:
    parts = urlsplit(target.url)
    connect, read = _timeouts()
    client = triton_http.InferenceServerClient(
        url=parts.netloc,
        ssl=parts.scheme == "https",
        connection_timeout=connect,
        network_timeout=read_timeout or read,
    )
    try:
        yield client
    except InferenceServerException as exc:
        raise TritonError(exc.message() or str(exc)) from exc
    except (OSError, TimeoutError) as exc:  # geventhttpclient raises socket errors as-is
        raise TritonError(f"cannot reach {target.url}: {exc or type(exc).__name__}") from exc
    finally:
        client.close()


def repository_index(target: Target) -> list[dict[str, Any]]:
    """Every model in the repository, loaded or not: [{name, version?, state?, reason?}]."""
    with _client(target) as client:
        return list(client.get_model_repository_index(headers=target.headers))


def model_config(target: Target, name: str) -> dict[str, Any]:
    """The config of a loaded model as JSON (fails for a model that is not loaded)."""
    with _client(target) as client:
        return dict(client.get_model_config(name, headers=target.headers))


def model_statistics(target: Target) -> list[dict[str, Any]]:
    """Statistics of every loaded model version (GET /v2/models/stats)."""
    with _client(target) as client:
        stats = client.get_inference_statistics(headers=target.headers)
    return list(stats.get("model_stats", []))


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
    stamps = [int(s.get("last_inference") or 0) for s in stats.get("model_stats", [])]
    latest = max(stamps, default=0)
    return latest / 1000.0 if latest else None
