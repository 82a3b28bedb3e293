"""The surfaces people open in a browser, rendered by headless Chromium (Playwright, /usr/bin/chromium): the
Dagster UI that `make ui` serves (the asset graph, an asset's check results) and the dbt docs site that
`make docs` serves (a model page with its column descriptions).

`make test-ui` runs this (CI too, after `make test-api`): it needs Chromium and starts two local servers on
free ports, so it stays out of `make test`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from events.broker import free_port
from orchestration.cli import ui_command
from smb_warehouse.core.config import DAGSTER_YAML
from tests.api.conftest import chromium_path
from tests.support import clone_run, environment, run_env, step_failures

pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DATE = AssetKey(["marts", "dim_date"])
CHECK = "unique_dim_date_date_key"


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds:.0f} s")


@pytest.fixture(scope="module")
def served(tiny_run, tmp_path_factory):
    """A copy of the shared run with a Dagster home that has one recorded run of dim_date and its tests,
    `make ui` and `make docs` serving it on free ports."""
    root = clone_run(tiny_run["root"], tmp_path_factory.mktemp("ui") / "data")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {**run_env(root, tiny_run["landing"]), "DAGSTER_HOME": str(home)}
    with environment(env):
        from orchestration.definitions import defs

        with DagsterInstance.get() as instance:
            result = defs.resolve_job_def("warehouse_job").execute_in_process(
                instance=instance, raise_on_error=False, asset_selection=[DATE])
        assert result.success, step_failures(result)
    ui_port, docs_port = free_port(), free_port()
    child_env = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    child_env.pop("MLFLOW_TRACKING_URI", None)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    # the UI as `make ui` serves it, without its daemon (which would start the schedule and sensors on this copy)
    commands = {"ui": ui_command(ui_port, daemon=False),
                "docs": [sys.executable, "-m", "orchestration.cli", "docs", "--port", str(docs_port)]}
    with ExitStack() as stack:
        outputs = {name: stack.enter_context(open(logs / f"{name}.log", "w")) for name in commands}
        processes = [subprocess.Popen(args, cwd=ROOT, env=child_env, stdout=outputs[name], stderr=subprocess.STDOUT,
                                      start_new_session=True) for name, args in commands.items()]
        yield from _serving(processes, ui_port, docs_port, root)


def _serving(processes: list[subprocess.Popen], ui_port: int, docs_port: int, root: Path):
    try:
        _wait_for(f"http://127.0.0.1:{ui_port}/server_info", processes[0])
        _wait_for(f"http://127.0.0.1:{docs_port}/index.html", processes[1])
        yield {"ui": f"http://127.0.0.1:{ui_port}", "docs": f"http://127.0.0.1:{docs_port}", "root": root}
    finally:
        for process in processes:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    assert chromium, "Chromium is missing: apt-get install -y chromium (.ci/run installs it)"
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def test_the_dagster_ui_renders_the_asset_graph_and_a_check_result(served, browser):
    from playwright.sync_api import expect

    from orchestration.definitions import defs

    groups = {spec.group_name for spec in defs.resolve_all_asset_specs() if spec.group_name}
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{served['ui']}/asset-groups")  # the global asset lineage graph, one box per group
    expect(page.get_by_text("Global asset lineage")).to_be_visible(timeout=120_000)
    for group in sorted(groups):
        expect(page.get_by_text(group, exact=True).first).to_be_visible(timeout=60_000)
    page.goto(f"{served['ui']}/assets/marts/dim_date?view=checks")
    # (Dagster may lay its one-time "join the community" dialog over the page: visibility ignores overlays)
    expect(page.locator(f"text=\"{CHECK}\" >> visible=true").first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("Succeeded").first).to_be_visible(timeout=60_000)  # the check list
    expect(page.get_by_text("Passed", exact=True)).to_be_visible(timeout=60_000)  # the latest evaluation
    expect(page.get_by_text("This is a blocking asset check.")).to_be_visible()


def test_the_docs_site_shows_a_model_with_its_column_descriptions(served, browser):
    from playwright.sync_api import expect

    manifest = json.loads((served["root"] / "docs" / "manifest.json").read_text())
    model = manifest["nodes"]["model.smb_warehouse.dim_location"]
    description = model["columns"]["first_activity_date"]["description"]
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{served['docs']}/index.html#!/model/model.smb_warehouse.dim_location")
    expect(page.get_by_text("dim_location").first).to_be_visible(timeout=120_000)
    expect(page.get_by_text("first_activity_date").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text(description).first).to_be_attached(timeout=60_000)
