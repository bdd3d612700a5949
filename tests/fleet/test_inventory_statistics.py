"""memory_usage from Triton's statistics API: summed per version; an empty list is unknown."""

from typing import Any

import pytest

from fleet import services
from fleet.models import ModelVersion, Server

pytestmark = pytest.mark.django_db


def test_it_sums_reported_memory_and_leaves_unreported_unknown() -> None:
    server = Server.objects.create(name="s", url="http://127.0.0.1:1")
    for name in ("resnet", "tokenizer"):
        ModelVersion.objects.create(server=server, name=name, version="1", state="READY")
    stats: list[dict[str, Any]] = [
        # As a TensorRT model on two GPUs reports it.
        {"name": "resnet", "version": "1", "memory_usage": [
            {"type": "GPU", "id": 0, "byte_size": 1_000_000},
            {"type": "GPU", "id": 1, "byte_size": 500_000},
        ]},
        # As the python backend reports it (seen with tritonserver 2.51): nothing.
        {"name": "tokenizer", "version": "1", "memory_usage": []},
    ]  # fmt: skip
    stored = services.apply_statistics(server, stats)
    assert stored == {("resnet", "1"): 1_500_000}
    memory = dict(ModelVersion.objects.filter(server=server).values_list("name", "memory_usage_bytes"))
    assert memory == {"resnet": 1_500_000, "tokenizer": None}
