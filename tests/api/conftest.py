"""Fixtures of the API and event-intake tests: keys made per test session (never a committed secret), the
app over the shared tiny run (read-only) or over a private copy of it, a redis-server on a free loopback
port, and a live uvicorn server for the browser test."""
from __future__ import annotations

import secrets
import shutil
import threading
import time
from pathlib import Path

import pytest

from api.auth import KeyRing, Principal
from tests.support import clone_run, environment, run_env


@pytest.fixture(scope="session")
def api_keys() -> dict[str, str]:
    """role -> a fresh random key (the names are who the audit trail records)."""
    return {role: f"test-{role}-{secrets.token_hex(16)}" for role in ("viewer", "reviewer", "admin", "publisher")}


@pytest.fixture(scope="session")
def keyring(api_keys) -> KeyRing:
    names = {"viewer": "Vic Viewer", "reviewer": "Rita Reviewer", "admin": "Ada Admin", "publisher": "bank-feed"}
    return KeyRing({key: Principal(names[role], role) for role, key in api_keys.items()})


def headers(api_keys: dict[str, str], role: str) -> dict[str, str]:
    return {"X-API-Key": api_keys[role]}


@pytest.fixture(scope="session")
def tiny_api(tiny_run, keyring, tmp_path_factory):
    """(TestClient, env) of the app over the shared tiny run's published warehouse, read-only; its event
    store and audit log live in a private folder (the shared run is never written)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.audit import AuditLog
    from events.store import EventStore
    from smb_warehouse.core.published import PublishedWarehouse

    private = tmp_path_factory.mktemp("tiny_api")
    env = run_env(tiny_run["root"], tiny_run["landing"], SMB_EVENT_STORE=str(private / "events.sqlite"),
                  SMB_API_AUDIT=str(private / "audit.sqlite"))
    with environment(env):
        app = create_app(keys=keyring, warehouse=PublishedWarehouse(tiny_run["published"]),
                         event_store=EventStore(private / "events.sqlite"), audit=AuditLog(private / "audit.sqlite"),
                         decisions_path=private / "ap_decisions.sqlite",
                         redis_client=_NoBroker())
        with TestClient(app) as client:
            yield client


class _NoBroker:
    """Stands in for the broker where none is started: publishing fails as a down broker does (-> 503)."""

    def xadd(self, *args, **kwargs):
        raise ConnectionError("no broker in this test")


@pytest.fixture()
def run_clone(tiny_run, tmp_path):
    """A private copy of the shared run (data dir AND landing zone, both written by these tests), with the
    environment pointing at it; yields {"root", "landing", "published", "env"}."""
    root = clone_run(tiny_run["root"], tmp_path / "data")
    landing = tmp_path / "landing"
    shutil.copytree(tiny_run["landing"], landing)
    env = run_env(root, landing, SMB_EVENT_STORE=None, SMB_API_AUDIT=None)
    with environment(env):
        yield {"root": root, "landing": landing, "published": root / "warehouse" / "warehouse.duckdb", "env": env}


@pytest.fixture()
def redis_server():
    """A redis-server on a free 127.0.0.1 port, no persistence; stopped (by pid) afterwards."""
    from events.broker import start_redis

    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1:<free port> in a thread."""

    def __init__(self, app):
        import uvicorn

        from events.broker import free_port

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


def chromium_path() -> Path | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return Path(found) if Path(found).exists() else None
