"""A setting that cannot be read stops start-up with a message naming it, never a silent default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_") or k == "FLEET_TRITON_HOME"}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.FLEET_READ_ONLY, settings.FLEET_SCRAPE_INTERVAL)"],
        cwd=ROOT, env={**base, "FLEET_VAR_DIR": str(tmp_path), **env}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLEET_READ_ONLY", "ture"),
        ("FLEET_HTTPS", "maybe"),
        ("FLEET_SCRAPE_INTERVAL", "5s"),
        ("FLEET_ACTION_LEASE", "-1"),
        ("FLEET_METRICS_MAX_BYTES", "16MB"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_it_refuses_a_value_it_cannot_read(tmp_path: Path, name: str, value: str) -> None:
    result = start(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name}={value!r}" in result.stderr


def test_it_refuses_an_unknown_fleet_variable(tmp_path: Path) -> None:
    result = start(tmp_path, FLEET_READ_ONL="true")
    assert result.returncode != 0
    assert "Unknown setting FLEET_READ_ONL" in result.stderr


def test_it_reads_the_accepted_spellings(tmp_path: Path) -> None:
    assert start(tmp_path, FLEET_READ_ONLY="on", FLEET_SCRAPE_INTERVAL="2.5").stdout.split() == [
        "True",
        "2.5",
    ]
    assert start(tmp_path, FLEET_READ_ONLY="False").stdout.split() == ["False", "5.0"]
    assert start(tmp_path, FLEET_READ_ONLY="").stdout.split() == ["False", "5.0"]
