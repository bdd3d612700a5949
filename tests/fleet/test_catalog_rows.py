"""Every row of the metric catalog is handled by every consumer: parser, Prometheus mode, API,
template filters and the pages' formatters."""

import re
from pathlib import Path
from typing import get_args

import pytest

from dashboard.templatetags import fleetdeck
from fleet import prometheus, services
from fleet.catalog import CATALOG, METRICS, PROMETHEUS_METRICS, Format, combine, seed
from fleet.models import Server

FORMAT_JS = Path(__file__).parents[2] / "static" / "dashboard" / "format.js"


def js_formats() -> set[str]:
    """The keys of format.js' FORMATS table (`{ rate, count, us: duration, ... }`)."""
    match = re.search(r"const FORMATS = \{([^}]*)\}", FORMAT_JS.read_text())
    assert match, "format.js has no FORMATS table"
    return {entry.split(":")[0].strip() for entry in match.group(1).split(",") if entry.strip()}


@pytest.mark.parametrize("metric", CATALOG, ids=lambda m: m.name)
def test_it_gives_every_row_a_unit_title_and_a_format_both_languages_know(metric) -> None:
    assert metric.unit and metric.title and metric.description
    assert metric.format in get_args(Format)
    assert metric.format in js_formats()
    assert fleetdeck.metric_value(12.5, metric.name) != fleetdeck.DASH
    assert fleetdeck.metric_number(12.5, metric.name) != fleetdeck.DASH
    assert fleetdeck.metric_title(metric.name) == metric.title
    assert seed()[metric.name]["format"] == metric.format


def test_it_knows_every_format_in_python_and_javascript_alike() -> None:
    assert js_formats() == set(get_args(Format))


@pytest.mark.parametrize("metric", CATALOG, ids=lambda m: m.name)
def test_it_has_promql_for_every_row_read_from_the_exposition(metric) -> None:
    server = Server(name="s", url="http://10.0.0.1:8000", metrics_url="http://10.0.0.1:8002/metrics")
    sel = prometheus.selector(server, "m" if metric.level == "model" else "")
    if metric.derivation == "statistics":
        assert metric.promql(sel, "30s") is None
        assert metric.name not in PROMETHEUS_METRICS
        return
    expr = prometheus.promql(metric.name, sel, "30s")
    assert all(family + sel in expr for family in metric.families)
    assert metric.name in PROMETHEUS_METRICS
    assert metric.name in services.LIVE_METRICS
    assert metric.promql("", "30s", "instance, model, version")


@pytest.mark.parametrize("metric", [m for m in CATALOG if m.aggregate == "mean"], ids=lambda m: m.name)
def test_it_weighs_an_average_by_the_rate_of_its_denominator(metric) -> None:
    if metric.weight is None:  # a plain mean (utilization): no denominator
        assert metric.derivation == "gauge"
        return
    weight = METRICS[metric.weight]
    assert metric.derivation == "ratio"
    assert weight.derivation == "rate" and weight.families == metric.families[1:]
    assert weight.level == metric.level
    assert combine(metric.name, [1.0, 3.0], [1.0, 0.0]) == 1.0


def test_it_keeps_one_label_per_triton_family() -> None:
    kept: dict[str, set[str]] = {}
    for metric in CATALOG:
        for family in metric.families:
            kept.setdefault(family, set()).add(metric.label)
    assert {family: labels for family, labels in kept.items() if len(labels) > 1} == {}
    assert {m.label for m in CATALOG} <= {"", "reason", "gpu_uuid"}
    assert all(m.families for m in CATALOG if m.derivation != "statistics")
