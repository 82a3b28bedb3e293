"""NDJSON and JSON-array inputs: malformed lines, non-objects, nested paths, extra keys, offsets."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from ingest_helpers import assert_conserved, land, load, one_entity, quarantine


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


@pytest.mark.parametrize("long_number", [False, True])  # the fast route, and the exact-number line route
def test_a_nested_path_whose_parent_is_not_an_object_is_quarantined_never_nulled(con, contract, landing, long_number):
    events = contract["events"]  # city is at $.address.city: a string or array address held a value no column kept
    big = ', "ref": 12345678901234567' if long_number else ""
    src = land(landing, events, "p.ndjson", "\n".join([
        event(event_id="E1", address="Ghent, Main St 1") + big, event(event_id="E2", address=["Ghent"]),
        event(event_id="E3", address=None), event(event_id="E4", address={"zip": "9000"}),
        event(event_id="E5", address=7), ""]).replace("}" + big, big + "}"))
    result = load(con, events, landing)
    assert con.execute("SELECT event_id, city FROM raw.shop__events ORDER BY 1").fetchall() == [
        ("E3", None), ("E4", None)]  # no address, or one without a city: no value, nothing lost
    assert quarantine(con, src) == [
        (1, "city", "city: a JSON string at $.address where the contract path $.address.city expects an object"),
        (2, "city", "city: a JSON array at $.address where the contract path $.address.city expects an object"),
        (5, "city", "city: a JSON number at $.address where the contract path $.address.city expects an object")]
    assert_conserved(con, events, result, src, 5)


def test_a_nested_path_in_a_json_array_checks_every_parent(tmp_path, con, landing):
    docs = one_entity(tmp_path, "deep", {"id": "{type: string, required: true}",
                                         "city": "{type: string, path: '$.a.b.city'}"}, "{type: json_array}")
    src = land(landing, docs, "d.json", json.dumps([{"id": "1", "a": {"b": "x"}}, {"id": "2", "a": {"b": {"city": "G"}}},
                                                    {"id": "3", "a": {"b": None}}]))
    result = load(con, docs, landing)
    assert con.execute("SELECT id, city FROM raw.deep__rows ORDER BY 1").fetchall() == [("2", "G"), ("3", None)]
    assert quarantine(con, src) == [
        (1, "city", "city: a JSON string at $.a.b where the contract path $.a.b.city expects an object")]
    assert_conserved(con, docs, result, src, 3)


@pytest.mark.parametrize("long_number", [False, True])
def test_a_string_starting_with_u0001_is_never_read_as_a_number(con, contract, landing, long_number):
    events = contract["events"]  # the exact-number route marks numbers with U+0001: a real one must not pass as one
    big = ', "ref": 12345678901234567' if long_number else ""
    src = land(landing, events, "m.ndjson",
               '{"event_id": "\\u000112", "kind": "view", "happened_at": "2024-03-01T10:00:00Z"' + big + '}\n'
               '{"event_id": "E2", "kind": "view", "happened_at": "2024-03-01T10:00:00Z", "clicks": "\\u00017"}\n'
               '{"event_id": "E3", "kind": "view", "happened_at": "2024-03-01T10:00:00Z", "note": "a\\"\\u0001"}\n')
    result = load(con, events, landing)
    if long_number:  # the marked route refuses the record: which was meant cannot be told apart
        assert [r[0] for r in con.execute("SELECT event_id FROM raw.shop__events").fetchall()] == ["E3"]
        reason = ("a string value starts with the control character U+0001, which the loader reserves to keep the "
                  "file's numbers exact")
        assert quarantine(con, src) == [(1, None, reason), (2, None, reason)]
        # a quote escaped inside a string is not where a string starts: the note and the number come back as written
        assert con.execute("SELECT _extra_columns::VARCHAR FROM raw.shop__events").fetchone()[0] == (
            '{"note":"a\\"\\u0001"}')
    else:  # the fast route marks nothing: the string is a string
        assert con.execute("SELECT event_id FROM raw.shop__events ORDER BY 1").fetchall() == [("\x0112",), ("E3",)]
        assert quarantine(con, src) == [(2, "clicks", "clicks: '\x017' is not a valid integer")]
    assert_conserved(con, events, result, src, 3)


def test_a_json_array_holding_a_string_starting_with_u0001_is_refused_on_the_exact_route(con, contract, landing):
    accounts = contract["accounts"]  # a long number sends the document to the exact route, which marks numbers
    bad = land(landing, accounts, "a.json", '[{"Id": "\\u000112", "Name": "x", "n": 12345678901234567}]')
    result = load(con, accounts, landing)
    (failure,) = result.failures
    assert failure == (f"{bad}: not a readable JSON array document: a string value starts with the control character "
                       "U+0001, which the loader reserves to keep the file's numbers exact")
    assert_conserved(con, accounts, result, bad, 0)


def test_extra_keys_keep_their_numbers_on_the_exact_route_and_quarantine_shows_them_as_written(con, contract, landing):
    events = contract["events"]  # a 16-digit number anywhere sends the file to the route that marks numbers
    src = land(landing, events, "x.ndjson", '{"event_id": "E1", "kind": "view", "happened_at": "2024-03-01T10:00:00Z", '
                                            '"discount": 1.50, "address": {"city": "G", "zip": 1010}, '
                                            '"ref": 12345678901234567}\n')
    accounts = contract["accounts"]
    arr = land(landing, accounts, "a.json", '[{"Id": "A1", "n": 1.50, "m": 1E3, "big": 12345678901234567}]')
    result = load(con, events, landing)
    assert json.loads(con.execute("SELECT _extra_columns FROM raw.shop__events").fetchone()[0]) == {
        "discount": 1.5, "address": {"zip": 1010}, "ref": 12345678901234567}
    assert '"discount":1.50' in con.execute("SELECT _extra_columns::VARCHAR FROM raw.shop__events").fetchone()[0]
    assert_conserved(con, events, result, src, 1)
    result = load(con, accounts, landing)
    assert con.execute("SELECT raw_record FROM raw.quarantine WHERE source_file = ?", [arr]).fetchall() == [
        ('{"Id":"A1","n":1.50,"m":1E3,"big":12345678901234567}',)]
    assert_conserved(con, accounts, result, arr, 1)


@pytest.mark.parametrize("long_number", [False, True])  # the fast route (doubles), the exact-number route
def test_json_numbers_and_keys_no_double_can_change(tmp_path, con, landing, long_number):
    # 1e-400 underflowed to 0 in the double (loaded as 0 on the fast route); a key written "\u0073" is the string
    # column s, whose number 7.10 the fast route stored as the double's text '7.1'
    ent = one_entity(tmp_path, "num", {"id": "{type: string, required: true}", "s": "{type: string}",
                                       "d": "{type: decimal}", "i": "{type: integer}"}, "{type: ndjson}")
    big = ', "ref": 12345678901234567' if long_number else ""
    src = land(landing, ent, "n.ndjson", '{"id": "1", "d": 1e-400}\n{"id": "2", "i": 1e-400}\n'
                                         '{"id": "3", "\\u0073": 7.10' + big + '}\n')
    result = load(con, ent, landing)
    assert con.execute("SELECT id, s FROM raw.num__rows").fetchall() == [("3", "7.10")]
    assert [q[:2] for q in quarantine(con, src)] == [(1, "d"), (2, "i")]
    assert_conserved(con, ent, result, src, 3)


def test_a_json_alias_and_name_both_holding_a_value_are_quarantined(tmp_path, con, landing):
    # CSV refuses such a header; in JSON the alias's 9 was dropped (a known key: not in _extra_columns either)
    ent = one_entity(tmp_path, "al", {"id": "{type: string, required: true}", "amount": "{type: integer, aliases: [amt]}"},
                     "{type: ndjson}")
    src = land(landing, ent, "a.ndjson", '{"id": "1", "amount": 1, "amt": 9}\n{"id": "2", "amt": 2}\n'
                                         '{"id": "3", "amount": 3, "amt": null}\n')
    result = load(con, ent, landing)
    assert con.execute("SELECT id, amount FROM raw.al__rows ORDER BY 1").fetchall() == [("2", 2), ("3", 3)]
    assert quarantine(con, src) == [(1, "amount", "amount: more than one of $.amount, $.amt holds a value")]
    assert_conserved(con, ent, result, src, 3)


def test_a_json_entity_does_not_take_the_csv_number_conventions_of_its_system(tmp_path, con, landing):
    # under an inherited thousands '.', the string "1.234" loaded as 1234 beside the number 1.234 loading as 1.234
    (tmp_path / "mixed.yml").write_text(
        "system: mixed\nformat: {type: csv, delimiter: ';', decimal_separator: ',', thousands_separator: '.'}\n"
        "entities:\n  rows:\n    description: d\n    format: {type: ndjson}\n    primary_key: [id]\n    columns:\n"
        "      id: {type: string, required: true}\n      d: {type: decimal}\n", encoding="utf-8")
    from smb_warehouse.ingestion.contracts import parse_contract

    ent = parse_contract(tmp_path / "mixed.yml").entities["rows"]
    assert (ent.format.decimal_separator, ent.format.thousands_separator) == (".", None)
    src = land(landing, ent, "m.ndjson", '{"id": "1", "d": 1.234}\n{"id": "2", "d": "1.234"}\n')
    result = load(con, ent, landing)
    assert [r[0] for r in con.execute("SELECT d FROM raw.mixed__rows ORDER BY id").fetchall()] == [
        Decimal("1.234"), Decimal("1.234")]
    assert_conserved(con, ent, result, src, 2)


def test_a_three_level_path_reports_no_drift_for_the_objects_on_its_way(tmp_path, con, landing):
    ent = one_entity(tmp_path, "deep3", {"id": "{type: string, required: true}", "z": "{type: integer, path: '$.x.y.z'}"},
                     "{type: ndjson}")
    src = land(landing, ent, "d.ndjson", '{"id": "1", "x": {"y": {"z": 5}}}\n{"id": "2", "x": {"y": {"z": 6, "q": 1}}}\n')
    result = load(con, ent, landing)
    assert con.execute("SELECT id, z, _extra_columns FROM raw.deep3__rows ORDER BY 1").fetchall() == [
        ("1", 5, None), ("2", 6, '{"x":{"y":{"q":1}}}')]
    assert result.files[0].schema_drift == ["added x.y"]  # q is one level deeper than drift looks; kept in _extra
    assert_conserved(con, ent, result, src, 2)


def test_a_refused_json_array_is_quoted_as_the_file_wrote_it(con, contract, landing):
    accounts = contract["accounts"]  # a 16-digit number sends it to the exact route, which rewrites numbers
    land(landing, accounts, "two.json", '[{"Id": "A1", "Name": "x", "n": 12345678901234567}]\n[{"Id": "A2", "n": 2}]\n')
    result = load(con, accounts, landing)
    (failure,) = result.failures
    assert "unexpected content after document" in failure and '"n": 12345678' in failure
    assert "\\u0001" not in failure and " at byte " not in failure  # an offset into the rewritten text is no use


@pytest.mark.parametrize("fmt, long_number", [("ndjson", False), ("ndjson", True), ("json_array", False),
                                              ("json_array", True)])
def test_a_repeated_key_is_quarantined_as_its_record_at_any_depth_never_a_value_guessed(tmp_path, con, landing, fmt,
                                                                                        long_number):
    # a nested object repeating the key on a contract path loaded its first value; a repeated key the contract does not
    # know made the reader fail and refused the whole file
    ent = one_entity(tmp_path, "rep", {"id": "{type: string, required: true}",
                                       "amount": "{type: integer, path: '$.billing.amount'}"}, f"{{type: {fmt}}}")
    big = ', "ref": 12345678901234567' if long_number else ""
    records = ['{"id": "1", "billing": {"amount": 100, "amount": 900}' + big + '}',
               '{"id": "2", "note": "a", "note": "b"}', '{"id": "3", "billing": {"amount": 5}, "x": 1}']
    text = "\n".join(records) + "\n" if fmt == "ndjson" else "[" + ",\n".join(records) + "]"
    src = land(landing, ent, "r." + ("ndjson" if fmt == "ndjson" else "json"), text)
    result = load(con, ent, landing)
    assert con.execute("SELECT id, amount, _extra_columns::VARCHAR FROM raw.rep__rows").fetchall() == [
        ("3", 5, '{"x":1}')]
    assert [(line, reason) for line, _c, reason in quarantine(con, src)] == [
        (1, "amount: a JSON object at $.billing repeats a key"),
        (2, "a JSON object that repeats a key (which of its values is meant is unclear)")]
    assert_conserved(con, ent, result, src, 3)


def test_a_json_array_after_a_byte_order_mark_loads_on_the_exact_number_route(tmp_path, con, landing):
    # the exact route (a number under a string column) gave DuckDB's "byte order mark is not supported" for the file
    ent = one_entity(tmp_path, "bom", {"id": "{type: string, required: true}", "v": "{type: string}"},
                     "{type: json_array}")
    src = land(landing, ent, "b.json", "\ufeff" + '[{"id": 101, "v": "a"}, {"id": "7.10", "v": "b"}]')
    result = load(con, ent, landing)
    assert con.execute("SELECT id, v FROM raw.bom__rows ORDER BY v").fetchall() == [("101", "a"), ("7.10", "b")]
    assert_conserved(con, ent, result, src, 2)


@pytest.mark.parametrize("long_number", [False, True])
def test_an_unknown_key_holding_null_inside_an_object_the_contract_reads_is_kept(tmp_path, con, landing, long_number):
    # Zendesk-style custom fields: the extra keys were joined by a merge patch, whose null means "delete", so
    # cf_other: null was gone from _extra_columns and from the drift
    ent = one_entity(tmp_path, "zd", {"id": "{type: string, required: true}",
                                      "product": "{type: string, path: '$.custom_fields.cf_product'}"},
                     "{type: ndjson}")
    big = ', "ref": 12345678901234567' if long_number else ""
    src = land(landing, ent, "t.ndjson", '{"id": "1", "new": null, "custom_fields": {"cf_product": "x", "cf_other": '
                                         'null}' + big + '}\n{"id": "2", "custom_fields": {"cf_product": "y"}}\n')
    result = load(con, ent, landing)
    extras = [json.loads(e) if e else None for (e,) in con.execute(
        "SELECT _extra_columns::VARCHAR FROM raw.zd__rows ORDER BY id").fetchall()]
    assert extras[0] == {"new": None, "custom_fields": {"cf_other": None}, **({"ref": 12345678901234567}
                                                                              if long_number else {})}
    assert extras[1] is None
    assert [f.schema_drift for f in result.files] == [["added custom_fields.cf_other", "added new"]
                                                      + (["added ref"] if long_number else [])]
    assert_conserved(con, ent, result, src, 2)
