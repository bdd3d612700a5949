"""Comparing a config override with a live config: only the keys it sets, partial objects in
lists, a number equal to its decimal string (Triton writes 64-bit integers either way), and
objects merged key by key."""

from fleet.control import overrides

LIVE = {
    "version_policy": {"latest": {"num_versions": 1}},
    "dynamic_batching": {"preferred_batch_size": [8], "max_queue_delay_microseconds": "500"},
    "instance_group": [{"name": "fast_0", "kind": "KIND_CPU", "count": 1, "gpus": []}],
}


def test_it_compares_only_the_keys_the_override_sets() -> None:
    assert overrides.differences({"dynamic_batching": {"max_queue_delay_microseconds": 500}}, LIVE) == []
    assert overrides.differences({"instance_group": [{"count": 1, "kind": "KIND_CPU"}]}, LIVE) == []
    assert overrides.differences(
        {"dynamic_batching": {"max_queue_delay_microseconds": 5000}, "instance_group": [{"count": 2}]}, LIVE
    ) == [
        "dynamic_batching.max_queue_delay_microseconds desired 5000 ≠ live 500",
        "instance_group[0].count desired 2 ≠ live 1",
    ]
    assert overrides.differences({"parameters": {"x": {"string_value": "1"}}}, LIVE) == [
        'parameters desired {"x": {"string_value": "1"}} ≠ live unset'
    ]
    assert overrides.differences({"max_batch_size": True}, {"max_batch_size": 1}) == [
        "max_batch_size desired true ≠ live 1"
    ]


def test_it_names_the_policy_and_the_keys_in_drift() -> None:
    specific = {"specific": {"versions": [1]}}
    assert overrides.config_drift(LIVE, {"latest": {"num_versions": 1}}, {}) == []
    override = {"dynamic_batching": {"max_queue_delay_microseconds": 5000}}
    assert overrides.config_drift(LIVE, specific, override) == [
        'version policy desired {"specific": {"versions": [1]}} ≠ live {"latest": {"num_versions": 1}}',
        "config: dynamic_batching.max_queue_delay_microseconds desired 5000 ≠ live 500",
    ]
    assert overrides.config_drift({"version_policy": {"specific": {"versions": ["1"]}}}, specific, {}) == []


def test_it_merges_objects_key_by_key() -> None:
    merged = overrides.merged(LIVE, {"dynamic_batching": {"max_queue_delay_microseconds": 5000}})
    assert merged["dynamic_batching"] == {"preferred_batch_size": [8], "max_queue_delay_microseconds": 5000}
    assert merged["instance_group"] == LIVE["instance_group"]
    marked = overrides.with_reload_marker(merged, "#7")
    assert marked["parameters"] == {"fleetdeck_reload": {"string_value": "#7"}}
