"""Fast tests of the API and event-intake building blocks (no warehouse build, no broker, no browser)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from api.auth import KeyConfigError, KeyRing
from events import microbatch
from events.schema import EVENT_TYPES, Event, dumps, parse
from events.store import DecisionRow, EventRow, EventStore
from events.validate import validate
from smb_warehouse.core.published import PublishedWarehouse, WarehouseUnavailable


# ------------------------------------------------------------------------------------------------- keys
def test_keys_from_env_and_file_with_roles_and_names(tmp_path):
    keyfile = tmp_path / "keys"
    keyfile.write_text("# comment\nfile-key-0123456789abcdef:admin:ops\n")
    ring = KeyRing.from_env({"SMB_API_KEYS": "view-key-0123456789abcd:viewer:vic, rev-key-0123456789abcdef:reviewer",
                             "SMB_API_KEYS_FILE": str(keyfile)})
    assert len(ring) == 3
    assert ring.principal("view-key-0123456789abcd").role == "viewer"
    assert ring.principal("view-key-0123456789abcd").name == "vic"
    reviewer = ring.principal("rev-key-0123456789abcdef")
    assert reviewer.role == "reviewer" and reviewer.name.startswith("reviewer-") and "rev-key" not in reviewer.name
    assert ring.principal("file-key-0123456789abcdef").can("audit")
    assert ring.principal("nope") is None and ring.principal(None) is None
    assert not ring.principal("view-key-0123456789abcd").can("decide")
    assert not ring.principal("view-key-0123456789abcd").can("pii")


@pytest.mark.parametrize("bad, message", [
    ("short:viewer", "at least 16"), ("k-0123456789abcdef:root", "not one of"), ("k-0123456789abcdef", "expected"),
    ("k-0123456789abcdef:viewer,k-0123456789abcdef:admin", "already configured"),
])
def test_malformed_key_configuration_is_refused_without_echoing_the_key(bad, message):
    with pytest.raises(KeyConfigError, match=message) as err:
        KeyRing.from_env({"SMB_API_KEYS": bad})
    assert "0123456789abcdef" not in str(err.value)


# ------------------------------------------------------------------------------------ published reader
def _db(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute(f"CREATE TABLE marts.t AS SELECT {value} AS v")
    con.close()


def test_published_reader_follows_each_atomic_publish_and_never_locks_the_file(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    wh = PublishedWarehouse(published)
    with pytest.raises(WarehouseUnavailable, match="no published warehouse"):
        wh.rows("SELECT 1")
    _db(published, 1)
    assert wh.rows("SELECT v FROM marts.t")[1] == [(1,)]
    with wh.cursor() as cur:  # a query in flight while the next publish lands
        _db(tmp_path / "candidate.duckdb", 2)
        os.replace(tmp_path / "candidate.duckdb", published)
        assert cur.execute("SELECT v FROM marts.t").fetchall() == [(1,)]
        assert wh.rows("SELECT v FROM marts.t")[1] == [(2,)]  # new queries see the new file
    # a pipeline in another process does what a run does (copy, write the candidate, rename over the published
    # file) while the reader holds the published file open: nothing waits for the reader
    candidate = tmp_path / "candidate.duckdb"
    code = (f"import duckdb, os, shutil; shutil.copyfile({str(published)!r}, {str(candidate)!r}); "
            f"c = duckdb.connect({str(candidate)!r}); c.execute('INSERT INTO marts.t VALUES (3)'); c.close(); "
            f"os.replace({str(candidate)!r}, {str(published)!r})")
    with wh.cursor():
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(wh.rows("SELECT v FROM marts.t")[1]) == [(2,), (3,)]
    assert wh.generations_opened == 3
    wh.close()


# --------------------------------------------------------------------------------------------- schema
def _bank_event(event_id: str = "e1", **data) -> Event:
    record = {"txn_id": "BT-99000001", "account_iban": "DE89370400440532013000", "booking_date": "05/01/2026",
              "amount": Decimal("-1234.50"), "currency": "EUR", **data}
    return Event(spec="smb-event/1", event_id=event_id, type="bank_transaction.created", data=record)


def test_event_envelope_round_trips_exact_decimals_and_refuses_unknown_types_and_versions():
    event = _bank_event(amount=Decimal("-0.10"))
    text = dumps(event)
    assert '"amount":-0.10' in text and parse(text) == event
    with pytest.raises(ValidationError, match="type_version 2"):
        parse(json.dumps({"spec": "smb-event/1", "event_id": "x", "type": "bank_transaction.created", "type_version": 2,
                          "data": {}}))
    with pytest.raises(ValidationError, match="type"):
        parse(json.dumps({"spec": "smb-event/1", "event_id": "x", "type": "order.created", "data": {}}))
    with pytest.raises(ValidationError, match="extra"):
        parse(json.dumps({"spec": "smb-event/1", "event_id": "x", "type": "ap_invoice.created", "data": {}, "oops": 1}))
    with pytest.raises(ValueError, match="not JSON"):
        parse("{broken")
    assert {t.contract().format.type for t in EVENT_TYPES.values()} <= set(microbatch.SUPPORTED_FORMATS)


# ----------------------------------------------------------------------------------------- micro-batches
def test_micro_batch_renders_the_contract_format_and_tracks_lines_across_embedded_newlines():
    entity = EVENT_TYPES["bank_transaction.created"].contract()
    rendered = microbatch.render(entity, [
        {"txn_id": "BT-1", "amount": Decimal("-1234.50"), "counterparty_name": 'ACME; "GmbH"\nsecond line'},
        {"txn_id": "BT-2", "amount": 7, "extra_field": "kept"},
    ])
    text = rendered.content.decode()
    header = text.splitlines()[0].split(";")
    assert header[: len(entity.columns)] == [c.name for c in entity.columns] and header[-1] == "extra_field"
    assert "-1234,50" in text and text.endswith("\n")  # the contract's decimal comma; complete last line
    assert rendered.lines == [2, 4]  # the first record spans two physical lines


def test_validation_is_the_loader_s_own_verdict_per_record():
    entity = EVENT_TYPES["bank_transaction.created"].contract()
    good = {"txn_id": "BT-99000001", "account_iban": "DE89370400440532013000", "booking_date": "05/01/2026",
            "amount": "1.234,56", "currency": "EUR"}
    checked = validate(entity, [good, {**good, "txn_id": "BT-1", "booking_date": "2026-01-05", "currency": "XXX"},
                                {**good}])
    first, bad, duplicate = checked.verdicts
    assert first.ok and first.typed["amount"] == Decimal("1234.5600") and str(first.typed["booking_date"]) == "2026-01-05"
    assert not bad.ok and "pattern" in bad.reason and "date formats" in bad.reason and "accepted values" in bad.reason
    assert not duplicate.ok and "duplicate key" in duplicate.reason


def test_landing_is_atomic_and_never_overwrites(tmp_path):
    entity = EVENT_TYPES["support_ticket.created"].contract()
    name = microbatch.batch_name(entity, "c1", 1)
    path = microbatch.land(tmp_path, entity, name, b'{"ticket_id":"T-1"}\n')
    assert path.parent == entity.landing_dir(tmp_path) and path.read_bytes() == b'{"ticket_id":"T-1"}\n'
    assert not list((tmp_path / microbatch.INCOMING).iterdir())  # the temp file was renamed, not copied
    with pytest.raises(FileExistsError):
        microbatch.land(tmp_path, entity, name, b"{}\n")
    assert microbatch.landed_microbatches(tmp_path, [entity]) == [path]


# --------------------------------------------------------------------------------------------- store
def test_event_store_records_once_and_is_append_only(tmp_path):
    import sqlite3

    store = EventStore(tmp_path / "events.sqlite")
    row = EventRow("e1", "1-0", "bank_transaction.created", 1, None, "BT-1", "feed", "2026-01-01T00:00:00",
                   "2026-01-01T00:00:01", "landed", None, "finance/bank_transactions/x.csv", 2, "{}")
    store.record([row], [DecisionRow("e1", "bank_txn_anomaly", "BT-1", 0.8, "alert", {"reasons": "x"}, "m", "v",
                                     "2026-01-01T00:00:02", 2000.0)])
    store.record([row])  # the same event again: recorded once
    assert store.counts() == {"landed": 1, "decisions": 1} and store.known(["e1", "e2"]) == {"e1"}
    assert store.event("e1")["decision"]["detail"] == {"reasons": "x"}
    con = sqlite3.connect(str(tmp_path / "events.sqlite"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE events SET status = 'quarantined'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM decisions")
    con.close()


# -------------------------------------------------------------------------------------------- OpenAPI
def test_committed_openapi_document_matches_the_app():
    from api.openapi import DOCUMENT, generate

    assert DOCUMENT.read_text(encoding="utf-8") == generate(), "api/openapi.json is stale: python -m api.openapi --write"
    paths = json.loads(DOCUMENT.read_text())["paths"]
    assert all(p.startswith("/v1/") for p in paths) and "/v1/review-queue/{invoice_id}/decisions" in paths


def test_replay_skips_lines_of_an_extract_that_are_not_records(tmp_path):
    """A real extract holds malformed lines (the loader quarantines them); replay sends every record and skips
    lines that are not one (found by bench-api: the simulator's injected broken ticket line stopped the replay)."""
    from events.replay import records

    good = {"ticket_id": "T-0000001", "customer_email": "a@b.example", "subject": "broken", "body": "it broke",
            "created_at": "2024-01-02T10:00:00+01:00", "channel": "email", "status": "open"}
    folder = tmp_path / "support" / "tickets"
    folder.mkdir(parents=True)
    lines = [json.dumps(good), '{"ticket_id": "T-0000002", "subject": "unterminated', "[1, 2]",
             json.dumps({**good, "ticket_id": "T-0000003"})]
    (folder / "tickets_2024-01.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sent = list(records(tmp_path, ["support_ticket.created"]))
    assert [e.data["ticket_id"] for e in sent] == ["T-0000001", "T-0000003"]
    assert [e.event_id.rsplit(":", 1)[1] for e in sent] == ["1", "4"]  # ids keep the extract's line numbers
