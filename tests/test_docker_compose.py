"""docker-compose.yml parses and names every service of a real deployment."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.browser import procfile_web
from tests.test_procfile import expanded

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"triton", "postgres", "redis", "prometheus", "migrate", "web", "worker", "notify", "beat"}


@pytest.fixture
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_names_every_service(compose: dict) -> None:
    assert set(compose["services"]) == SERVICES


def test_it_runs_one_fleetdeck_image_for_web_workers_and_beat(compose: dict) -> None:
    images = {compose["services"][name]["image"] for name in ("web", "worker", "notify", "beat", "migrate")}
    assert images == {"fleetdeck:latest"}
    assert (ROOT / compose["services"]["web"]["build"]["dockerfile"]).is_file()
    for name in ("web", "worker", "notify"):
        assert "healthcheck" in compose["services"][name]


def test_it_gives_webhook_deliveries_a_worker_of_their_own(compose: dict) -> None:
    # The queue config/settings.py routes deliveries to (FLEET_NOTIFY_QUEUE's default):
    # consumed by the notify service only, in threads.
    worker, notify = compose["services"]["worker"]["command"], compose["services"]["notify"]["command"]
    assert "--exclude-queues=celery-notify" in worker
    assert {"--queues=celery-notify", "--pool=threads"} <= set(notify)


def test_it_runs_the_procfiles_web_command(compose: dict) -> None:
    expected = expanded(procfile_web(), {"PATH": "/usr/bin:/bin", "PORT": "8000"})
    assert compose["services"]["web"]["command"] == expected
    image_default = (ROOT / "config" / "Dockerfile").read_text().split("\nCMD ", 1)[1].splitlines()[0]
    assert json.loads(image_default) == expected


def test_it_pins_triton_with_a_gpu_and_explicit_model_control(compose: dict) -> None:
    triton = compose["services"]["triton"]
    image, _, tag = triton["image"].rpartition(":")
    assert image == "nvcr.io/nvidia/tritonserver" and tag not in {"", "latest"}
    assert "--model-control-mode=explicit" in triton["command"]
    devices = triton["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert any(volume.endswith(":/models:ro") for volume in triton["volumes"])


def test_it_validates_with_the_compose_client_where_there_is_one(tmp_path: Path) -> None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True)
        if probe.returncode != 0:
            continue
        # As a user would run it: next to a .env made from .env.example.
        shutil.copy(ROOT / "docker-compose.yml", tmp_path)
        shutil.copy(ROOT / ".env.example", tmp_path / ".env")
        shutil.copytree(ROOT / "config", tmp_path / "config")
        result = subprocess.run(
            [*command, "config", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return
    pytest.skip("no docker compose client on this machine")


def test_it_keeps_tritons_ports_off_the_host(compose: dict) -> None:
    # With explicit model control, a published port lets anyone who reaches the host load
    # and unload models around FleetDeck's roles, read-only mode and audit log.
    triton = compose["services"]["triton"]
    assert "ports" not in triton
    assert set(triton["expose"]) == {"8000", "8001", "8002"}


def test_it_gives_fleetdeck_an_explicit_secret_key(compose: dict) -> None:
    environment = compose["x-fleetdeck"]["environment"]
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    dockerfile = (ROOT / "config" / "Dockerfile").read_text()
    assert "FLEET_REQUIRE_SECRET_KEY=1" in dockerfile
