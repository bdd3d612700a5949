"""In real Chromium: an ensemble's DAG with live step figures and links both ways, a batching
model's histogram, and the server's internals, with markup in names shown as text."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import tritonclient.http as triton_http
import tritonclient.utils.shared_memory as shm

from fleet.demo.localfleet import DEMO_REPOSITORY
from fleet.demo.traffic import send_inferences
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Triton does not decode a percent-encoded model name in its URLs, so the config of a model
# named with markup cannot be read (its page says so): the markup is in the ensemble's
NAME = "pipe_markup"
INPUT = '<img src=x onerror=alert(1)> "raw"'
TENSOR = "<i>mid</i>"
# tensor names, which the DAG draws, and in a shared-memory key (sent in the body).
REGION = "inside_region"


def repository(tmp_path: Path) -> Path:
    """The demo repository and an ensemble like `pipeline` whose tensors are named with markup."""
    repo = tmp_path / "models"
    shutil.copytree(DEMO_REPOSITORY, repo, ignore=shutil.ignore_patterns("__pycache__"))
    config = (DEMO_REPOSITORY / "pipeline" / "config.pbtxt").read_text()
    quoted = INPUT.replace('"', '\\"')
    config = config.replace('name: "pipeline"', f'name: "{NAME}"').replace(
        '"RAW" value: "RAW"', f'"RAW" value: "{quoted}"'
    )
    config = config.replace('{ name: "RAW"', f'{{ name: "{quoted}"')
    (repo / NAME / "1").mkdir(parents=True)
    (repo / NAME / "config.pbtxt").write_text(config.replace('"preprocessed"', f'"{TENSOR}"'))
    return repo


def test_it_draws_the_dag_the_histogram_and_the_internals(
    viewer, tmp_path, triton_factory, server_for, browser_page
) -> None:
    triton = triton_factory(repository(tmp_path), ["fast", "preprocess", "pipeline", NAME])
    server = server_for(triton)
    scrape(server.id)
    send_inferences(triton.http_url, "pipeline", 20, concurrency=4)
    time.sleep(0.2)
    scrape(server.id)
    client = triton_http.InferenceServerClient(triton.http_url.split("//", 1)[1])
    key = f'/<b>key "{triton.port}"'  # a POSIX shm name: any character but a slash
    handle = shm.create_shared_memory_region(REGION, key, 128)
    client.register_system_shared_memory(REGION, key, 128)
    try:
        page = browser_page(viewer)
        page.goto(f"/servers/{server.id}/models/{NAME}/")
        page.wait_for_selector("#pipeline-dag .dag-step[data-step='1']", timeout=20000)
        steps = page.locator("#pipeline-dag .dag-step")
        assert [steps.nth(i).locator(".dag-name").text_content() for i in range(2)] == ["preprocess", "fast"]
        assert page.locator("#pipeline-dag .dag-edge[data-tensor] text").all_text_contents() == [
            INPUT,
            TENSOR,
            "OUTPUT0",
        ]
        figures = steps.nth(1).locator(".dag-figure").first.text_content()
        assert "inf/s" in figures and not figures.startswith("—"), figures  # live figures
        assert page.locator("i").count() == 0 and page.locator("img").count() == 0
        assert page.locator("#pipeline-dag .bottleneck").count() == 1
        # The next scrape's frame on the model's socket redraws the figures.
        drawn = page.locator("#pipeline-dag").get_attribute("data-at")
        send_inferences(triton.http_url, "pipeline", 5)
        scrape(server.id)
        page.wait_for_function(
            f"document.getElementById('pipeline-dag').dataset.at !== '{drawn}'", timeout=15000
        )
        screenshot(page, "inside-pipeline")

        page.locator("#pipeline-dag .dag-step[data-step='1'] a").click()
        page.wait_for_url(f"**/servers/{server.id}/models/fast/")
        assert NAME in page.locator("#used-by a[data-ensemble]").all_text_contents()
        page.wait_for_selector("#batching-histogram tr[data-size]", timeout=20000)
        assert int(page.locator("#batching-histogram tr[data-size] td").nth(1).text_content()) > 0
        screenshot(page, "inside-batching")

        page.goto(f"/servers/{server.id}/")
        page.wait_for_selector("#internals-shm tr[data-region]", timeout=20000)
        cells = page.locator("#internals-shm tr[data-region] td")
        assert (cells.nth(1).text_content(), cells.nth(2).text_content()) == (REGION, key)
        assert "2.51.0" in page.locator("#internals-triton").text_content()
        screenshot(page, "inside-internals")

        assert page.locator("img").count() == 0 and page.locator("b").count() == 0
        assert page.dialogs == [] and page.errors == [], page.errors
    finally:
        client.unregister_system_shared_memory(REGION)
        shm.destroy_shared_memory_region(handle)
        client.close()
