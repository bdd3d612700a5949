"""A model that starts failing (NaN inputs make the demo's `versioned` raise) fires a
failure_rate rule scoped to it in the scrape that sees the failures, and resolves at the
next scrape without any; a rule scoped to another model stays quiet."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from fleet import services
from fleet.demo.localfleet import TritonProcess
from fleet.models import Alert, AlertRule

pytestmark = pytest.mark.django_db


def poison(triton: TritonProcess, count: int) -> None:
    client = httpclient.InferenceServerClient(triton.http_url.removeprefix("http://"))
    try:
        for _ in range(count):
            tensor = httpclient.InferInput("INPUT0", [1], "FP32")
            tensor.set_data_from_numpy(np.full(1, np.nan, np.float32))
            with pytest.raises(InferenceServerException, match="NaN"):
                client.infer("versioned", [tensor])
    finally:
        client.close()


def test_it_fires_on_failures_and_resolves_when_they_stop(triton: TritonProcess, server_for: Any) -> None:
    watched = AlertRule.objects.create(kind="failure_rate", threshold=1.0, model="versioned", for_s=0)
    other = AlertRule.objects.create(kind="failure_rate", threshold=1.0, model="fast", for_s=0)
    server = server_for(triton, "failing-host")
    services.scrape_server(server.id)
    started = time.monotonic()
    poison(triton, 20)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    services.scrape_server(server.id)
    alert = Alert.objects.get(rule=watched)
    assert (alert.state, alert.model, alert.server_id) == ("firing", "versioned", server.id)
    assert alert.value is not None and alert.value > 1.0
    assert alert.cause.endswith("failures/s (threshold 1)")
    assert not Alert.objects.filter(rule=other).exists()

    time.sleep(0.3)
    services.scrape_server(server.id)
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_at is not None
