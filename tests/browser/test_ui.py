"""What an operator does in the Dagster UI, done by Chromium: every asset group renders, and
`migrate_and_seed` launched from the job's Materialize button migrates a real database to head.

The webserver (tests/webserver.py) runs as its own process on 127.0.0.1; `hv run`, which needs no
browser, is tested against it in tests/cli/test_run_cli.py. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import pytest

from hv_pipelines.core import migrations
from tests.webserver import LOCATION, Webserver, wait_for_run

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300),
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: `make browser` "
                                 "installs Debian's chromium (needs root)")]


def _groups() -> dict[str, list[str]]:
    """Group name -> asset keys, from the code location the webserver serves."""
    from hv_pipelines.definitions import defs

    groups: dict[str, list[str]] = {}
    for node in defs.resolve_asset_graph().asset_nodes:
        if node.is_materializable:
            groups.setdefault(node.group_name, []).append(node.key.to_user_string())
    return groups


def _dismiss_welcome(page) -> None:
    """The UI greets a new browser with a newsletter dialog; skip it if it shows."""
    from playwright.sync_api import TimeoutError as NoDialog

    with suppress(NoDialog):
        page.get_by_role("button", name="Skip").click(timeout=5000)


def test_operator_launches_migrate_and_seed_from_the_ui(webserver: Webserver) -> None:
    from playwright.sync_api import expect, sync_playwright

    groups = _groups()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)

        page.goto(f"{webserver.url}/asset-groups")
        _dismiss_welcome(page)
        group_nodes = page.locator("svg foreignObject.group")
        expect(group_nodes).to_have_count(len(groups))
        rendered = {node.locator("[data-tooltip]").first.get_attribute("data-tooltip") for node in group_nodes.all()}
        assert rendered == set(groups)
        page.screenshot(path=ARTIFACTS / "asset_groups.png")

        for group, keys in groups.items():
            # The group's list view: its lineage graph zooms out to fit a large group and then draws
            # nodes without their names.
            page.goto(f"{webserver.url}/locations/{LOCATION}/asset-groups/{group}/list")
            for key in keys:
                expect(page.get_by_text(key, exact=True).first).to_be_visible()

        page.goto(f"{webserver.url}/locations/{LOCATION}/jobs/migrate_and_seed")
        materialize = page.get_by_role("button", name="Materialize all")
        expect(materialize).to_be_enabled()
        materialize.click()
        expect(page.get_by_text("Launched run")).to_be_visible()
        run_id = page.get_by_role("link", name="View").first.get_attribute("href").rsplit("/", 1)[-1]

        run = wait_for_run(webserver, run_id)
        page.goto(f"{webserver.url}/runs/{run_id}")
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        expect(page.get_by_text("Loading run logs")).to_have_count(0)
        page.screenshot(path=ARTIFACTS / "migrate_and_seed_run.png")
        browser.close()

    assert run["status"] == "SUCCESS", webserver.log.read_text()[-3000:]
    assert run["jobName"] == "migrate_and_seed"
    assert {"key": "dagster/from_ui", "value": "true"} in run["tags"]
    status = migrations.status(webserver.database_url)
    assert status.current == migrations.heads()[0] and status.up_to_date
