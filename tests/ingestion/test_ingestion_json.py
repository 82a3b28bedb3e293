"""NDJSON and JSON-array inputs: malformed lines, non-objects, nested paths, extra keys, offsets."""
from __future__ import annotations

import datetime as dt
import json

from ingest_helpers import assert_conserved, land, load, quarantine


def event(**overrides) -> str:
    record = {"event_id": "E1", "kind": "click", "happened_at": "2024-03-01T10:00:00+01:00", "clicks": 3,
              "address": {"city": "Ghent"}}
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not None})


def test_ndjson_good_lines_nested_path_and_utc(con, contract, landing):
    events = contract["events"]
    src = land(landing, events, "b.ndjson", event() + "\n" + event(event_id="E2", happened_at="2024-03-01T10:00:00Z") + "\n")
    result = load(con, events, landing)
    rows = con.execute("SELECT event_id, happened_at, clicks, city, _source_line, _extra_columns "
                       "FROM raw.shop__events ORDER BY _source_line").fetchall()
    assert rows == [("E1", dt.datetime(2024, 3, 1, 9), 3, "Ghent", 1, None),
                    ("E2", dt.datetime(2024, 3, 1, 10), 3, "Ghent", 2, None)]
    assert result.files[0].schema_drift == []
    assert_conserved(con, events, result, src, 2)


def test_malformed_ndjson_line_and_blank_lines(con, contract, landing):
    events = contract["events"]
    lines = [event(), "", '{"event_id": "E2", "kind": ', "   ", "[1, 2]", event(event_id="E3", clicks="2.5"),
             event(event_id="E4"), ""]
    src = land(landing, events, "b.ndjson", "\n".join(lines))
    result = load(con, events, landing)
    assert quarantine(con, src) == [
        (3, None, "malformed JSON"),
        (5, None, "not a JSON object"),
        (6, "clicks", "clicks: '2.5' is not a valid integer"),
    ]
    assert con.execute("SELECT event_id, _source_line FROM raw.shop__events ORDER BY 2").fetchall() == [("E1", 1), ("E4", 7)]
    assert_conserved(con, events, result, src, 5)  # blank lines are not records


def test_ndjson_invalid_utf8_line_is_quarantined(con, contract, landing):
    events = contract["events"]
    data = (event() + "\n").encode() + event(event_id="Zoë").encode("latin-1").replace(b"\\u00eb", b"\xeb") + b"\n"
    data += (event(event_id="E3") + "\n").encode()
    src = land(landing, events, "b.ndjson", data)
    result = load(con, events, landing)
    ((line, column, reason),) = quarantine(con, src)
    assert (line, column, reason) == (2, None, "line rejected by the reader: not valid utf-8 text (INVALID ENCODING)")
    assert_conserved(con, events, result, src, 3)


def test_ndjson_extra_keys_kept_and_reported(con, contract, landing):
    events = contract["events"]
    src = land(landing, events, "b.ndjson", json.dumps({
        "event_id": "E1", "kind": "view", "happened_at": "2024-03-01 10:00:00", "referrer": "ad",
        "address": {"city": "Ghent", "zip": "9000"}}) + "\n")
    result = load(con, events, landing)
    assert result.files[0].schema_drift == ["added address.zip", "added referrer"]
    extra = con.execute("SELECT _extra_columns FROM raw.shop__events").fetchone()[0]
    assert json.loads(extra) == {"referrer": "ad", "address": {"zip": "9000"}}
    assert_conserved(con, events, result, src, 1)


def test_json_array_elements_numbered_and_validated(con, contract, landing):
    accounts = contract["accounts"]
    doc = [{"Id": "A1", "Name": "Acme", "CreatedDate": "2024-03-01T10:00:00-05:00"}, {"Id": "A2"}, "oops",
           {"Id": "A1", "Name": "Acme again"}]
    src = land(landing, accounts, "b.json", json.dumps(doc, indent=2))
    result = load(con, accounts, landing)
    assert con.execute("SELECT account_id, name, created_at, _source_line FROM raw.shop__accounts").fetchall() == [
        ("A1", "Acme", dt.datetime(2024, 3, 1, 15), 1)]
    assert quarantine(con, src) == [
        (2, "name", "name: missing required value"),
        (3, None, "not a JSON object"),
        (4, None, "duplicate key (account_id='A1') first seen at line 1"),
    ]
    assert_conserved(con, accounts, result, src, 4)


def test_a_null_element_of_a_json_array_is_quarantined_as_itself(con, contract, landing):
    accounts = contract["accounts"]  # its text was the file's physical line of the same number: another record
    src = land(landing, accounts, "n.json", '[\n  {"Id": "A1", "Name": "x"},\n  null\n]\n')
    result = load(con, accounts, landing)
    assert con.execute("SELECT source_line, reason, raw_record FROM raw.quarantine").fetchall() == [
        (2, "not a JSON object", "null")]
    assert_conserved(con, accounts, result, src, 2)


def test_unparseable_json_array_document_is_rejected(con, contract, landing):
    accounts = contract["accounts"]
    bad = land(landing, accounts, "a.json", '[{"Id": "A1", "Name": "x"}, {broken')
    good = land(landing, accounts, "b.json", "[]")
    result = load(con, accounts, landing)
    (failure,) = result.failures
    assert failure.startswith(f"{bad}: not a readable JSON array document: ") and "Malformed JSON" in failure
    assert [f.status for f in result.files] == ["rejected", "loaded"]
    assert_conserved(con, accounts, result, bad, 0)
    assert_conserved(con, accounts, result, good, 0)
