"""Schemathesis against the committed OpenAPI document (api/openapi.json), calling a live uvicorn server
that serves the shared tiny run: every operation, generated valid and invalid inputs. No response may be a
5xx; every response must match its documented status codes, content type and schema; invalid input must
be refused with a 4xx. (That the committed document is exactly the app's is tests/api/test_units.py.)"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks as core_checks
from schemathesis.specs.openapi import checks as openapi_checks

from api.openapi import DOCUMENT
from tests.api.conftest import LiveServer

CHECKS = [core_checks.not_a_server_error, openapi_checks.status_code_conformance, openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance, openapi_checks.negative_data_rejection]
schema = schemathesis.openapi.from_path(DOCUMENT)


@pytest.fixture(scope="module")
def live_tiny_api(tiny_run, keyring, tmp_path_factory):
    """The app over the shared run (read-only) with a real broker for POST /v1/events, on a live server."""
    from api.app import create_app
    from api.audit import AuditLog
    from events.broker import client, start_redis
    from events.store import EventStore
    from smb_warehouse.core.published import PublishedWarehouse

    private = tmp_path_factory.mktemp("schemathesis")
    broker = start_redis()
    try:
        app = create_app(keys=keyring, warehouse=PublishedWarehouse(tiny_run["published"]),
                         event_store=EventStore(private / "events.sqlite"), audit=AuditLog(private / "audit.sqlite"),
                         decisions_path=private / "ap_decisions.sqlite",
                         redis_client=client(broker.url))
        with LiveServer(app) as server:
            yield server
    finally:
        broker.stop()


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_conformant_responses(case, api_keys, live_tiny_api):
    response = case.call(base_url=live_tiny_api.url, headers={"X-API-Key": api_keys["admin"]})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    case.validate_response(response, checks=CHECKS)
