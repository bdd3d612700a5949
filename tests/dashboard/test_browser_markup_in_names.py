"""A model whose name is HTML markup shows as literal text on every page and runs no script.

Triton accepts such names (spaces, <, >, ", =, &); the python backend's launcher does not,
so the model here is an ensemble, which needs no backend process.
"""

import shutil
from pathlib import Path

import pytest

from fleet.demo.localfleet import DEMO_REPOSITORY
from tests.browser import scrape, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = '<img src=x onerror=alert(1)> "&amp;"'


def markup_repository(tmp_path: Path) -> Path:
    repository = tmp_path / "models"
    shutil.copytree(DEMO_REPOSITORY, repository, ignore=shutil.ignore_patterns("__pycache__"))
    pipeline = (DEMO_REPOSITORY / "pipeline" / "config.pbtxt").read_text()
    escaped = NAME.replace('"', '\\"')
    (repository / NAME / "1").mkdir(parents=True)
    (repository / NAME / "config.pbtxt").write_text(
        pipeline.replace('name: "pipeline"', f'name: "{escaped}"')
    )
    return repository


def test_it_shows_markup_in_a_model_name_as_text(viewer, tmp_path, triton_factory, server_for, browser_page):
    process = triton_factory(markup_repository(tmp_path), ["fast", "preprocess", NAME])
    server = server_for(process, name='<b>bold</b> server "x"')
    scrape(server.id)
    scrape(server.id)

    page = browser_page(viewer)
    card = page.locator(f".server-card[data-server-id='{server.id}']")
    assert card.locator(".server-name").text_content() == '<b>bold</b> server "x"'
    screenshot(page, "overview-markup")

    page.goto(f"/servers/{server.id}/")
    link = page.locator("#models a", has_text="<img")
    assert link.text_content() == NAME
    page.wait_for_function("document.getElementById('chart-cpu-memory')?.dataset.points > 0", timeout=30000)
    screenshot(page, "server-markup")
    link.click()
    page.wait_for_function("document.getElementById('chart-throughput')?.dataset.points > 0", timeout=30000)
    assert page.locator("#model-name").text_content() == NAME
    assert NAME in page.title()
    # Plotly text (titles, legends, annotations) shows the name's characters, not markup.
    page.wait_for_timeout(1500)  # a few live frames through the socket, too
    screenshot(page, "model-markup")

    assert page.locator("img").count() == 0
    assert page.locator("b").count() == 0
    assert page.dialogs == []
    assert page.errors == []
