"""A model's dynamic batching and version policy read as words, not a JSON blob."""

import pytest
from django.test import Client

from dashboard.templatetags.model_config import batching, version_policy


def test_it_reads_the_batching_config_of_a_real_triton_model(viewer, scraped) -> None:
    client = Client()
    client.force_login(viewer)
    html = client.get(f"/servers/{scraped.id}/models/fast/").content.decode()
    # config.pbtxt says max_queue_delay_microseconds: 500; Triton fills in the preferred
    # batch size (its max_batch_size, 8).
    assert '<dd id="batching">max queue delay 500 µs, preferred batch 8</dd>' in html
    assert "<dd>latest 1</dd>" in html
    # In words, never as Triton's JSON (the batching form's field may carry the key's name).
    assert '"max_queue_delay_microseconds":' not in html and "max_queue_delay_microseconds:" not in html


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (None, "off"),
        ({}, "no queue delay"),
        (
            {"max_queue_delay_microseconds": "500", "preferred_batch_size": [16]},
            "max queue delay 500 µs, preferred batch 16",
        ),
        (
            {"max_queue_delay_microseconds": 2500, "preferred_batch_size": [4, 8]},
            "max queue delay 2.5 ms, preferred batches 4, 8",
        ),
        (
            {
                "max_queue_delay_microseconds": 100,
                "preserve_ordering": True,
                "priority_levels": 2,
                "default_queue_policy": {"max_queue_size": 64, "default_timeout_microseconds": 2_000_000},
            },
            "max queue delay 100 µs, keeps request order, 2 priority levels, queue at most 64, "
            "rejected after 2 s in queue",
        ),
        ({"max_queue_delay_microseconds": "not a number"}, "no queue delay"),
    ],
)
def test_it_words_dynamic_batching(config, words) -> None:
    assert batching(config) == words


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        ({}, "latest 1 (default)"),
        ({"latest": {"num_versions": 2}}, "latest 2"),
        ({"all": {}}, "all versions"),
        ({"specific": {"versions": ["3"]}}, "version 3"),
        ({"specific": {"versions": [1, 2]}}, "versions 1, 2"),
    ],
)
def test_it_words_the_version_policy(policy, words) -> None:
    assert version_policy(policy) == words
