"""A scrape's per-model figures (fleet.model_figures, computed once for the summary's
rankings and the alert rules) combine versions as fleet.catalog.combine does."""

import pytest

from fleet.catalog import combine
from fleet.derive import Derived
from fleet.model_figures import per_model


def test_it_adds_rates_and_weighs_averages_by_each_versions_requests() -> None:
    values = [
        Derived("cpu_utilization", 0.5),  # a server value: no model
        Derived("requests_per_s", 9.0, "m", "1"),
        Derived("requests_per_s", 1.0, "m", "2"),
        Derived("queue_us_per_request", 100.0, "m", "1"),
        Derived("queue_us_per_request", 1000.0, "m", "2"),
        Derived("compute_infer_us_per_request", 50.0, "m", "1"),
        Derived("compute_infer_us_per_request", 500.0, "m", "2"),
        Derived("failures_per_s", 0.5, "m", "1", "REJECTED"),
        Derived("failures_per_s", 0.25, "m", "2", "BACKEND"),
        Derived("pending_requests", 3.0, "m", "1"),
        Derived("inferences_per_s", 18.0, "m", "1"),
        Derived("gpu_utilization", 0.2, "", "", "GPU-0"),
    ]
    figures = per_model(values)
    assert list(figures) == ["m"]
    m = figures["m"]
    assert m["requests_per_s"] == combine("requests_per_s", [9.0, 1.0]) == 10.0
    assert m["queue_us_per_request"] == combine("queue_us_per_request", [100.0, 1000.0], [9.0, 1.0])
    assert m["queue_us_per_request"] == pytest.approx(190.0)
    assert m["compute_infer_us_per_s"] == pytest.approx(50.0 * 9 + 500.0 * 1)
    assert m["failures_per_s"] == 0.75
    assert (m["pending_requests"], m["inferences_per_s"]) == (3.0, 18.0)


def test_it_falls_back_to_a_plain_mean_where_a_version_has_no_rate() -> None:
    values = [
        Derived("requests_per_s", 1.0, "m", "2"),
        Derived("queue_us_per_request", 100.0, "m", "1"),  # no requests_per_s for version 1
        Derived("queue_us_per_request", 1000.0, "m", "2"),
        Derived("compute_infer_us_per_request", 500.0, "m", "2"),
    ]
    m = per_model(values)["m"]
    assert m["queue_us_per_request"] == combine("queue_us_per_request", [100.0, 1000.0], [None, 1.0]) == 550.0
    assert m["compute_infer_us_per_s"] == 500.0  # the versions with a rate
