"""Shared fixtures: telemetry off for every test, and a tiny generated landing zone reused by the
slower end-to-end tests (generation is deterministic, so sharing it hides nothing)."""
from __future__ import annotations

import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

TINY_SCALE = 0.05

# Fixtures that build a warehouse (dbt builds, Dagster runs): any test using one, directly or through
# another fixture, is marked `slow` here, so `pytest -m "not slow"` (make test-fast) is the quick loop.
SLOW_FIXTURES = {"tiny_run", "er_warehouse", "rollout", "data_2016", "recon", "recon_clone", "marts_warehouse", "built_warehouse",
                 "e2e_clone", "erp_only_run", "febrl_warehouse", "erased", "tiny_api", "run_clone"}


# Fixtures that run a multi-run workflow scenario (several further pipeline jobs on their own warehouse):
# tests using one are also marked `scenario`; `make test` leaves them to `make test-scenarios` (CI runs both).
SCENARIO_FIXTURES = {"rollout", "data_2016", "erp_only_run"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & fixtures or item.get_closest_marker("scenario"):
            item.add_marker(pytest.mark.slow)
        if SCENARIO_FIXTURES & fixtures:
            item.add_marker(pytest.mark.scenario)


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(landing, ground_truth) of a tiny deterministic generation."""
    from sme_sim import generate

    root = tmp_path_factory.mktemp("tiny_sources")
    landing, truth = root / "landing", root / "ground_truth"
    generate(landing, truth, seed=7, scale=TINY_SCALE)
    return landing, truth


def start_local_webhook():
    """(url, stop, received): a 127.0.0.1 server on a free port that records every POSTed JSON body."""
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_port}/hooks/alerts?token=test-secret", stop, received


@pytest.fixture(scope="session")
def tiny_run(tiny_sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """ONE complete `warehouse_job` run (every asset, then publish) on the tiny generation, shared by every
    test that only reads its outcome: end to end, cash flow, triage, reconciliation. Its cash alerts go to
    a webhook server the fixture starts on 127.0.0.1. Tests that run more jobs on top of it take a private
    copy (`tests.support.clone_run`); nothing may write into this one.

    Returns root (data dir), landing, truth, published (warehouse file), webhooks (POSTed bodies), checks
    ({"<asset key>:<check>": passed} of every asset check evaluated in the run), metadata ({"<asset key>":
    {name: value}} of every materialization's metadata), extra_env (its settings besides the folders) and
    terminal (what `make demo` would have printed).
    """
    from dagster import DagsterInstance

    from tests.support import environment, run_env, step_failures

    landing, truth = tiny_sources
    root = tmp_path_factory.mktemp("tiny_run")
    url, stop, received = start_local_webhook()
    try:
        # At this tiny scale daily series are so sparse that the honest gate (beat every baseline by 5%) keeps
        # a baseline serving (tests/forecasting proves that path); the shared run lets a candidate that is at
        # most twice the best baseline's WAPE become the champion, so the tests that read a served model
        # version, its lineage and its registry aliases have one.
        extra_env = {"SMB_ALERT_WEBHOOK_URL": url, "SMB_ALERT_CHANNEL": None, "SMB_FORECAST_BASELINE_MARGIN": "-1.0"}
        with environment(run_env(root, landing, **extra_env)):
            from orchestration.cli import demo

            # through `make demo`'s own code path: its quiet terminal is captured for tests/test_run_console.py
            terminal = io.StringIO()
            code, result = demo(DagsterInstance.ephemeral(), terminal)
    finally:
        stop()
    assert code == 0 and result.success, step_failures(result)
    checks = {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
              bool(e.event_specific_data.passed)
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    metadata = {e.event_specific_data.materialization.asset_key.to_user_string():
                {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
                for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    return {"root": root, "landing": landing, "extra_env": extra_env, "truth": truth,
            "published": root / "warehouse" / "warehouse.duckdb",
            "webhooks": list(received), "checks": checks, "metadata": metadata, "terminal": terminal.getvalue()}
