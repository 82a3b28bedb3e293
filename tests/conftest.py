"""Shared fixtures: telemetry off for every test, and a tiny generated landing zone reused by the
slower end-to-end tests (generation is deterministic, so sharing it hides nothing)."""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(landing, ground_truth) of a tiny deterministic generation."""
    from sme_sim import generate

    root = tmp_path_factory.mktemp("tiny_sources")
    landing, truth = root / "landing", root / "ground_truth"
    generate(landing, truth, seed=7, scale=TINY_SCALE)
    return landing, truth


# The cash-flow and triage tests share one tiny `warehouse_job` run (benchmarks.cashflow.shared_tiny_run),
# with the alert webhook pointed at a local HTTP server the tests start on 127.0.0.1.
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
def workflows_run(tiny_sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    from benchmarks.cashflow import shared_tiny_run

    landing, truth = tiny_sources
    return {**shared_tiny_run(tmp_path_factory.getbasetemp(), landing, start_local_webhook), "truth": truth}
