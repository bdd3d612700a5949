"""LOG_FORMAT=json: one JSON object per log line, for log shippers."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = (
    "import django, logging; django.setup(); "
    "logging.getLogger('fleet.test').warning('scrape of %s failed', 't1')"
)


def test_it_writes_one_json_object_per_line() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SNIPPET],
        cwd=ROOT, env={**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["level"] == "WARNING"
    assert record["logger"] == "fleet.test"
    assert record["message"] == "scrape of t1 failed"
    assert "time" in record
