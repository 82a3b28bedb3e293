"""Same shared tiny run as tests/cashflow/conftest.py (pytest conftests cannot import each other without
a tests package; the run itself happens once per session: shared_tiny_run reuses the finished folder)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest


def start_local_webhook():
    """(url, stop, received): a 127.0.0.1 server on a free port that records every POSTed JSON body."""
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
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
    from ml.benchmarks.cashflow import shared_tiny_run

    landing, truth = tiny_sources
    return {**shared_tiny_run(tmp_path_factory.getbasetemp(), landing, start_local_webhook), "truth": truth}
