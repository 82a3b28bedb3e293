"""The seven kinds of real-export faults of issue 9, beyond the shared case files: each kind is exercised
with inputs of its own, through the contract options that govern it."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from ingest_helpers import assert_conserved, audit, land, load, one_entity, quarantine

from smb_warehouse.ingestion.contracts import ContractError, parse_contract

KINDS_CONTRACT = """
system: kinds
description: contract options of issue 9
format: {type: csv, delimiter: ",", header: true}
entities:
  money:
    description: precision and scale
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      amount: {type: decimal, precision: 6, scale: 2}
      seen_at: {type: timestamp}
  tokens:
    description: null tokens and trim
    format: {null_tokens: ['-', 'none'], trim: false}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      note: {type: string}
      status: {type: string, accepted_values: [open, closed], trim: true}
      qty: {type: integer}
  events:
    description: exact JSON numbers
    format: {type: ndjson}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      value: {type: decimal, precision: 38, scale: 3}
      count: {type: integer}
  texts:
    description: text exports with another extension, behind a done marker
    format: {extensions: ['.txt'], done_marker: '.done', delimiter: "\\t"}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      name: {type: string}
  quiet:
    description: a folder someone copies into
    format: {min_quiet_seconds: 3600}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
  windows:
    description: Windows export
    format: {encoding: cp1252, delimiter: ";"}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      name: {type: string}
      qty: {type: integer}
  wide:
    description: UTF-16 with BOM
    format: {encoding: utf-16}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      name: {type: string}
  bare:
    description: no header row
    format: {header: false}
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      qty: {type: integer}
  stamped:
    description: a custom timestamp format with a UTC offset
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      happened_at: {type: timestamp, formats: ['%d.%m.%Y %H:%M %z']}
  quoted:
    description: stray quotes
    primary_key: [id]
    columns:
      id: {type: string, required: true}
      name: {type: string}
      qty: {type: integer, required: true}
"""


@pytest.fixture
def kinds(tmp_path: Path):
    path = tmp_path / "kinds.yml"
    path.write_text(KINDS_CONTRACT, encoding="utf-8")
    return parse_contract(path).entities


def rows(con, table: str, cols: str) -> list[tuple]:
    return con.execute(f"SELECT {cols} FROM raw.{table} ORDER BY _source_file, _source_line").fetchall()


# 1. value conversion is exact or refuses --------------------------------------------------------------
def test_decimal_never_rounds_to_the_declared_scale_and_respects_precision(con, kinds, landing):
    money = kinds["money"]
    src = land(landing, money, "m.csv", "id,amount,seen_at\nA,12.340,\nB,12.345,\nC,9999.99,\nD,10000.00,\nE,-0.5,\nF,1e3,\n")
    result = load(con, money, landing)
    assert rows(con, "kinds__money", "id, amount") == [("A", Decimal("12.34")), ("C", Decimal("9999.99")),
                                                       ("E", Decimal("-0.50"))]
    fits = "does not fit DECIMAL(6,2) (at most 4 integer and 2 fraction digits; values are never rounded)"
    assert quarantine(con, src) == [
        (3, "amount", f"amount: '12.345' {fits}"), (5, "amount", f"amount: '10000.00' {fits}"),
        (7, "amount", "amount: '1e3' is not a valid decimal (decimal separator '.')")]
    assert_conserved(con, money, result, src, 6)


def test_timestamps_in_every_iso_form_real_exports_write(con, kinds, landing):
    money = kinds["money"]
    forms = ["2024-03-01T10:00:00Z", "2024-03-01t10:00:00z", "2024-03-01T11:00:00+01:00", "2024-03-01T11:00:00+0100",
             "2024-03-01T11:00+01", "2024-03-01T10:00", "2024-03-01 10:00:00.1234560Z", "2024-03-01T10:00:00,5Z"]
    body = "".join(f"T{i},,\"{v}\"\n" for i, v in enumerate(forms)) + "X,,2024-03-01T10:00:00.1234567Z\nY,,01/03/2024 10:00\n"
    src = land(landing, money, "t.csv", "id,amount,seen_at\n" + body)
    result = load(con, money, landing)
    ten = dt.datetime(2024, 3, 1, 10)
    assert [r[0] for r in rows(con, "kinds__money", "seen_at")] == [
        ten, ten, ten, ten, ten, ten, dt.datetime(2024, 3, 1, 10, 0, 0, 123456), dt.datetime(2024, 3, 1, 10, 0, 0, 500000)]
    assert quarantine(con, src) == [  # 7 digits (.NET's round trip): said so, it was "not a valid timestamp"; not ISO
        (10, "seen_at", "seen_at: '2024-03-01T10:00:00.1234567Z' has more fraction digits than the microseconds a "
                        "timestamp holds (it is never rounded)"),
        (11, "seen_at", "seen_at: '01/03/2024 10:00' is not a valid timestamp (ISO 8601)")]
    assert_conserved(con, money, result, src, 10)


def test_impossible_utc_offsets_are_quarantined_never_shifted(con, kinds, landing):
    money = kinds["money"]
    good = ["2024-03-01T23:59:00+14:00", "2024-03-01T06:30:00-03:30", "2024-03-01T10:00:00+0000"]
    impossible = ["2024-03-01T10:00:00+25:00", "2024-03-01T10:00:00+99:99", "2024-03-01T10:00:00+05:75",
                  "2024-03-01T10:00:00+2400", "2024-03-01T10:00-3"]
    body = "".join(f"{i},,{v}\n" for i, v in enumerate(good + impossible))
    src = land(landing, money, "o.csv", "id,amount,seen_at\n" + body)
    result = load(con, money, landing)
    assert rows(con, "kinds__money", "id, seen_at") == [
        ("0", dt.datetime(2024, 3, 1, 9, 59)), ("1", dt.datetime(2024, 3, 1, 10, 0)), ("2", dt.datetime(2024, 3, 1, 10, 0))]
    assert quarantine(con, src) == [(line, "seen_at", f"seen_at: '{v}' is not a valid timestamp (ISO 8601)")
                                    for line, v in enumerate(impossible, start=5)]
    assert_conserved(con, money, result, src, 8)


def test_a_custom_format_with_an_offset_gives_the_same_utc_instant_in_every_session_time_zone(con, kinds, landing):
    stamped = kinds["stamped"]
    con.execute("SET TimeZone = 'America/New_York'")  # the machine's zone is the session's default
    # ISO's Z for UTC where the format has %z: DuckDB's strptime does not take it, it was quarantined
    src = land(landing, stamped, "s.csv", "id,happened_at\nA,01.07.2024 10:30 +0000\nB,01.07.2024 12:30 +0200\n"
                                          "C,01.07.2024 10:30 +2500\nD,01.07.2024 10:30 Z\n")
    result = load(con, stamped, landing)
    half_past_ten = dt.datetime(2024, 7, 1, 10, 30)
    assert rows(con, "kinds__stamped", "id, happened_at") == [("A", half_past_ten), ("B", half_past_ten),
                                                               ("D", half_past_ten)]
    assert [(line, col) for line, col, _ in quarantine(con, src)] == [(4, "happened_at")]
    assert_conserved(con, stamped, result, src, 4)


def test_json_numbers_are_read_from_their_digits_exactly(con, kinds, landing):
    events = kinds["events"]
    text = ('{"id": "a", "value": 12345678901234567.891, "count": 2}\n{"id": "b", "value": "0.125", "count": "7"}\n'
            '{"id": "c", "value": 0.1000000000000000055, "count": 1}\n{"id": "d", "value": [1], "count": 1.5}\n')
    src = land(landing, events, "e.ndjson", text)
    result = load(con, events, landing)
    assert rows(con, "kinds__events", "id, value, count") == [
        ("a", Decimal("12345678901234567.891"), 2), ("b", Decimal("0.125"), 7)]
    assert quarantine(con, src) == [
        (3, "value", "value: '0.1000000000000000055' does not fit DECIMAL(38,3) (at most 35 integer and 3 fraction "
                     "digits; values are never rounded)"),
        (4, "value", "value: a JSON array ([1]) where a decimal is declared; count: '1.5' is not a valid integer")]
    assert_conserved(con, events, result, src, 4)


@pytest.mark.parametrize("long_number", [False, True])  # the fast route (a double's text), the exact-number route
def test_json_numbers_with_an_exponent_load_the_same_on_every_route(con, kinds, landing, long_number):
    # 1e2 loaded as 100 on the fast route (the double's text '100.0') but was quarantined on the exact route (the
    # file's '1e2'): the same record's fate hung on an unrelated 16-digit number elsewhere in the file
    events = kinds["events"]
    big = '{"id": "z", "value": 12345678901234567.891}\n' if long_number else ""
    src = land(landing, events, "x.ndjson", big + '{"id": "a", "value": 1.5e-2, "count": 1e2}\n'
                                              '{"id": "b", "value": 2.5E+1, "count": 1.5e1}\n'
                                              '{"id": "c", "value": 1e-7, "count": 1}\n{"id": "d", "count": 1.25e1}\n')
    result = load(con, events, landing)
    assert [r for r in rows(con, "kinds__events", "id, value, count") if r[0] != "z"] == [
        ("a", Decimal("0.015"), 100), ("b", Decimal("25"), 15)]
    first = 2 if long_number else 1
    assert [(line - first, col) for line, col, _ in quarantine(con, src)] == [(2, "value"), (3, "count")]
    assert quarantine(con, src)[0][2] == ("value: '1e-7' does not fit DECIMAL(38,3) (at most 35 integer and 3 fraction "
                                          "digits; values are never rounded)")
    assert_conserved(con, events, result, src, 5 if long_number else 4)


def test_an_integer_beyond_64_bits_is_quarantined_saying_so(con, kinds, landing):
    quoted = kinds["quoted"]
    src = land(landing, quoted, "big.csv", "id,name,qty\n1,a,9223372036854775807\n2,b,9223372036854775808\n3,c,1.0\n")
    result = load(con, quoted, landing)
    assert rows(con, "kinds__quoted", "id, qty") == [("1", 9223372036854775807)]
    assert quarantine(con, src) == [
        (3, "qty", "qty: '9223372036854775808' is out of the integer range (a 64-bit integer: at most "
                   "9223372036854775807 either way)"),
        (4, "qty", "qty: '1.0' is not a valid integer")]
    assert_conserved(con, quoted, result, src, 3)


# 2. null tokens and trim ---------------------------------------------------------------------------------
def test_declared_null_tokens_and_untrimmed_text_with_checks_on_the_staged_value(con, kinds, landing):
    tokens = kinds["tokens"]
    src = land(landing, tokens, "t.csv", "id,note,status,qty\nA,-,open,none\nB,  padded  , closed ,\nC,N/A,none,1\n"
                                         "D,x,lost,-\n")
    result = load(con, tokens, landing)
    assert rows(con, "kinds__tokens", "id, note, status, qty") == [
        ("A", None, "open", None), ("B", "  padded  ", "closed", None), ("C", "N/A", None, 1)]
    assert quarantine(con, src) == [(5, "status", "status: 'lost' is not one of the accepted values [open, closed]")]
    assert_conserved(con, tokens, result, src, 4)


ID = "{type: string, required: true}"
_CSV_FORMAT = 'format: {type: csv, delimiter: ",", header: true}'


@pytest.mark.parametrize("old, new, refusal", [
    ("done_marker: '.done'", "unterminated_last_line: accept", "needs a done_marker"),
    ("amount: {type: decimal, precision: 6, scale: 2}", "amount: {type: string, scale: 2}",
     "precision/scale only apply to decimal"),
    # strptime's %z gives an instant; a date column would get the calendar day of wherever the run happens
    ("seen_at: {type: timestamp}", "seen_at: {type: date, formats: ['%Y-%m-%d%z']}", "a date format cannot hold a UTC offset"),
    (_CSV_FORMAT, "format: {type: csv, date_formats: ['%d.%m.%Y %z']}", "date_formats cannot hold a UTC offset"),
    # no quote character: the CSV readers and the line map would crash on the first file, naming none
    (_CSV_FORMAT, "format: {type: csv, quote: ''}", "quote must be one character other than the delimiter"),
    (_CSV_FORMAT, "format: {type: csv, escape: ','}", "escape must be one character other than the delimiter"),
])
def test_contract_options_are_checked(tmp_path, old, new, refusal):
    bad = tmp_path / "bad.yml"
    assert old in KINDS_CONTRACT
    bad.write_text(KINDS_CONTRACT.replace(old, new), encoding="utf-8")
    with pytest.raises(ContractError, match=refusal):
        parse_contract(bad)


def test_dates_without_separators_are_fixed_width_never_a_guessed_year(tmp_path, con, landing):
    # 03112024 exported from a number column loses its leading zero: strptime, reading greedily, made 3112024
    # 31 Dec 0024 under %d%m%Y, and 2024115 (15 Jan or 5 Nov?) 5 Nov under %Y%m%d
    ent = one_entity(tmp_path, "compact", {"id": ID, "d": "{type: date}", "e": "{type: date, formats: ['%Y%m%d']}",
                                           "t": "{type: timestamp, formats: ['%Y%m%d %H%M%S']}"},
                     "{date_formats: ['%d%m%Y']}")
    src = land(landing, ent, "a.csv", "id,d,e,t\n1,03112024,20240115,20240115 093000\n2,3112024,,\n3,,2024115,\n"
                                      "4,,,2024011 93000\n")
    result = load(con, ent, landing)
    assert rows(con, "compact__rows", "id, d, e, t") == [
        ("1", dt.date(2024, 11, 3), dt.date(2024, 1, 15), dt.datetime(2024, 1, 15, 9, 30))]
    assert quarantine(con, src) == [
        (3, "d", "d: '3112024' does not match date formats ['%d%m%Y']"),
        (4, "e", "e: '2024115' does not match date formats ['%Y%m%d']"),
        (5, "t", "t: '2024011 93000' is not a valid timestamp (ISO 8601 or format(s) ['%Y%m%d %H%M%S'])")]
    assert_conserved(con, ent, result, src, 4)


def test_date_formats_are_tried_in_order_past_a_shape_that_does_not_parse(tmp_path, con, landing):
    ent = one_entity(tmp_path, "order", {"id": ID, "d": "{type: date}"}, "{date_formats: ['%m/%d/%Y', '%d/%m/%Y']}")
    src = land(landing, ent, "a.csv", "id,d\n1,05/06/2024\n2,31/12/2024\n3,31/31/2024\n")
    result = load(con, ent, landing)
    assert rows(con, "order__rows", "id, d") == [("1", dt.date(2024, 5, 6)), ("2", dt.date(2024, 12, 31))]
    assert quarantine(con, src) == [(4, "d", "d: '31/31/2024' does not match date formats ['%m/%d/%Y', '%d/%m/%Y']")]
    assert_conserved(con, ent, result, src, 3)


def test_a_nul_byte_in_a_csv_field_is_a_value_not_a_missing_field(con, kinds, landing):
    quoted = kinds["quoted"]  # the fast route reads with NUL as its null marker: such files take the strict route
    src = land(landing, quoted, "n.csv", b"id,name,qty\n1,\x00,1\n2,a,\x00\n3,b,3\n")
    result = load(con, quoted, landing)
    assert rows(con, "kinds__quoted", "id, name, qty") == [("1", "\x00", 1), ("3", "b", 3)]
    assert quarantine(con, src) == [(3, "qty", "qty: '\x00' is not a valid integer")]
    assert_conserved(con, quoted, result, src, 3)


@pytest.mark.parametrize("stray", [False, True])  # the fast route, and the exact line map after a broken record
def test_a_backslash_escaped_export_loads_when_declared_and_is_never_merged_when_not(tmp_path, con, landing, stray):
    # MySQL's SELECT ... INTO OUTFILE writes \" for a quote; read as RFC 4180 the escaped quote closes nothing and
    # the next record joins the value (a record gone, nothing quarantined)
    data = ('id,v,n\n1,"Monitor 27\\"",1\n2,Cable 5",2\n3,"say \\"hi\\"\nand bye",3\n4,"back\\\\slash",4\n'
            + ('5,"x"y,5\n' if stray else "") + "6,x,zz\n")
    columns = {"id": ID, "v": "{type: string}", "n": "{type: integer}"}
    ent = one_entity(tmp_path, "my", columns, "{escape: '\\'}")
    src = land(landing, ent, "a.csv", data)
    result = load(con, ent, landing)
    assert rows(con, "my__rows", "id, v, _source_line") == [
        ("1", 'Monitor 27"', 2), ("2", 'Cable 5"', 3), ("3", 'say "hi"\nand bye', 4), ("4", "back\\slash", 6)]
    last = 8 if stray else 7
    assert [q[:2] for q in quarantine(con, src)] == ([(7, None)] if stray else []) + [(last, "n")]
    assert_conserved(con, ent, result, src, 6 if stray else 5)

    ent = one_entity(tmp_path, "my", columns)  # the same file declared as RFC 4180
    con.execute("DROP TABLE raw.my__rows")
    con.execute("DELETE FROM raw.quarantine")
    con.execute("DELETE FROM raw.load_audit")
    result = load(con, ent, landing)
    merged = [q for q in quarantine(con, src) if q[1] == "v"]
    assert merged and all("declare escape: '\\'" in q[2] for q in merged)
    assert_conserved(con, ent, result, src, result.files[0].rows_read)


def test_a_header_with_no_contract_column_is_refused_never_loaded_as_rows_of_nulls(tmp_path, con, landing):
    # with no required column, a file with the wrong delimiter loaded one row of NULLs per line; key columns are now
    # always required, so such a header misses the key
    ent = one_entity(tmp_path, "opt", {"id": "{type: string}", "note": "{type: string}"})
    bad = land(landing, ent, "semi.csv", "id;note\n1;a\n")
    result = load(con, ent, landing)
    (failure,) = result.failures
    # the key is required (as in SQL), so the file is refused on its missing key column first
    assert failure == f"{bad}: required column 'id' missing (header: 'id;note'; contract delimiter ',')"
    assert_conserved(con, ent, result, bad, 0)


@pytest.mark.parametrize("entity, suffix", [("quoted", ".csv"), ("quoted", ".csv.gz"), ("windows", ".csv")])
def test_an_excel_csv_with_line_breaks_typed_in_cells_loads(con, kinds, landing, entity, suffix):
    # Excel ends a record with CRLF and writes a line break typed in a cell (Alt+Enter) as a bare LF: DuckDB's line
    # reader gives up on such a file, so the line map takes its lines from Python
    ent = kinds[entity]
    d = ";" if entity == "windows" else ","
    text = f'id{d}name{d}qty\r\n1{d}"Caf\u00e9\nMain St"{d}1\r\n2{d}x{d}zz\r\n3{d}"a\nb\nc"{d}3\r\n4{d}y{d}4\r\n'
    data = text.encode("cp1252" if entity == "windows" else "utf-8")
    src = land(landing, ent, "e" + suffix, gzip.compress(data) if suffix.endswith(".gz") else data)
    result = load(con, ent, landing)
    assert rows(con, f"kinds__{entity}", "id, name, _source_line") == [
        ("1", "Caf\u00e9\nMain St", 2), ("3", "a\nb\nc", 5), ("4", "y", 8)]
    assert con.execute("SELECT source_line, column_name, raw_record FROM raw.quarantine").fetchall() == [
        (4, "qty", f"2{d}x{d}zz")]
    assert_conserved(con, ent, result, src, 4)


@pytest.mark.parametrize("data, cause", [
    (b"id,name,qty\r\n1,a,1\n2,b,2\r\n", "mixed line ends: records end in CRLF (line 1) and in a bare LF (line 2 "
                                         "ends so); the CSV reader takes one kind per file: convert the file (e.g. "
                                         "dos2unix) or fix the export"),
    (b'id,name,qty\r\n1,"a\nb",1\r\n2,b,2\n', "mixed line ends: records end in CRLF (line 1) and in a bare LF "
                                               "(line 4 ends so); the CSV reader takes one kind per file: convert the "
                                               "file (e.g. dos2unix) or fix the export"),
    (b"id,name,qty\n1,a\rb,1\n", "a lone CR (carriage return) inside line 2 of a file whose lines end in LF: quote "
                               "that value, or remove the CR in the export")])
def test_line_ends_the_csv_reader_cannot_take_are_named_with_their_lines(con, kinds, landing, data, cause):
    quoted = kinds["quoted"]  # DuckDB's reader only says "the CSV Parser state machine reached an invalid state"
    bad = land(landing, quoted, "m.csv", data)
    result = load(con, quoted, landing)
    assert result.failures == [f"{bad}: unreadable as csv: {cause}"]
    assert_conserved(con, quoted, result, bad, 0)


# 3. whole-file shape ----------------------------------------------------------------------------------
def test_ndjson_that_is_one_array_and_utf16_under_a_utf8_contract_are_refused(con, kinds, landing):
    events = kinds["events"]
    arr = land(landing, events, "a.ndjson", json.dumps([{"id": "a"}, {"id": "b"}]) + "\n")
    ok = land(landing, events, "b.ndjson", '{"id": "c"}\n')
    result = load(con, events, landing)
    assert result.failures == [f"{arr}: one JSON array document, not NDJSON (one JSON object per line): declare "
                               "type json_array for this export, or export it as NDJSON"]
    assert rows(con, "kinds__events", "id") == [("c",)]
    money = kinds["money"]
    wide = land(landing, money, "w.csv", "id,amount,seen_at\nA,1,\n".encode("utf-16"))
    result = load(con, money, landing)
    assert result.failures == [f"{wide}: file starts with a UTF-16 byte-order mark but the contract says utf-8 "
                               "(declare encoding: utf-16)"]
    assert audit(con, ok)[0][0] == "loaded"


# 4. discovery -----------------------------------------------------------------------------------------
def test_aliases_done_markers_folders_and_quiet_time(con, kinds, landing):
    texts = kinds["texts"]
    a = land(landing, texts, "A.TXT", "id\tname\n1\tone\n")
    b = land(landing, texts, "b.txt", "id\tname\n2\ttwo\n")
    land(landing, texts, "A.TXT.done", "")
    land(landing, texts, "orphan.txt.done", "")
    (texts.landing_dir(landing) / "archive").mkdir()
    first = load(con, texts, landing)
    assert {f.source_file.rsplit("/", 1)[1]: (f.status, f.message) for f in first.files} == {
        "A.TXT": ("loaded", None),
        "archive": ("ignored", "a folder: only files directly in the entity folder are read"),
        "b.txt": ("held", "waiting for its done marker 'b.txt.done'"),
        "orphan.txt.done": ("ignored", "done marker without its data file 'orphan.txt'"),
    }
    land(landing, texts, "b.txt.done", "")
    second = load(con, texts, landing)
    assert [f.status for f in second.files if f.source_file in (a, b)] == ["skipped_already_loaded", "loaded"]
    assert rows(con, "kinds__texts", "id, name") == [("1", "one"), ("2", "two")]
    quiet = kinds["quiet"]
    q = land(landing, quiet, "q.csv", "id\nx\n")
    assert [(f.status, f.message) for f in load(con, quiet, landing).files] == [
        ("held", "modified less than 3600s ago; it may still be being written")]
    old = time.time() - 7200
    os.utime(landing / q, (old, old))
    assert [f.status for f in load(con, quiet, landing).files] == ["loaded"]


def test_a_done_marker_older_than_its_file_vouches_for_nothing(con, kinds, landing):
    # last night's marker is still there while tonight's export rewrites the file: the marker was written for the
    # old content, so the file waits for a new marker instead of loading what may be half written
    texts = kinds["texts"]
    src = land(landing, texts, "n.txt", "id\tname\n1\tone\n")
    land(landing, texts, "n.txt.done", "")
    marker = landing / (src + ".done")
    night = time.time() - 86400
    os.utime(landing / src, (night, night))
    os.utime(marker, (night + 1, night + 1))
    assert [f.status for f in load(con, texts, landing, "L1").files] == ["loaded"]
    land(landing, texts, "n.txt", "id\tname\n1\tuno\n2\tdo")  # being rewritten, the old marker beside it
    assert [(f.status, f.message) for f in load(con, texts, landing, "L2").files] == [
        ("held", "changed after its done marker 'n.txt.done' was written; waiting for a new marker")]
    land(landing, texts, "n.txt", "id\tname\n1\tuno\n2\tdos\n")
    land(landing, texts, "n.txt.done", "")  # the exporter finishes and writes its marker again
    assert [f.status for f in load(con, texts, landing, "L3").files] == ["loaded"]
    assert rows(con, "kinds__texts", "id, name") == [("1", "uno"), ("2", "dos")]


def test_done_markers_match_in_any_case_and_office_lock_files_are_ignored(con, kinds, landing):
    # markers match like extensions do: an exporter writing `C.TXT.DONE` has finished `C.TXT`; and the `~$<name>`
    # file Excel keeps beside a workbook it has open is bookkeeping, not a batch to reject on every run
    texts = kinds["texts"]
    land(landing, texts, "C.TXT", "id\tname\n3\tthree\n")
    land(landing, texts, "C.TXT.DONE", "")
    land(landing, texts, "~$C.TXT", b"\x00\x05ab")
    land(landing, texts, "~$C.TXT.done", "")
    result = load(con, texts, landing)
    assert {f.source_file.rsplit("/", 1)[1]: (f.status, f.message) for f in result.files} == {
        "C.TXT": ("loaded", None),
        "~$C.TXT": ("ignored", "an office lock file (Excel writes ~$<name> while a file is open)"),
    }
    assert result.failures == []
    assert rows(con, "kinds__texts", "id, name") == [("3", "three")]


def test_zstd_and_gzip_batches_load_like_plain_ones(con, kinds, landing):
    import zstandard

    money = kinds["money"]
    land(landing, money, "a.csv.gz", gzip.compress(b"id,amount,seen_at\nA,1.50,\nB,x,\n"))
    zs = land(landing, money, "b.CSV.ZST", zstandard.ZstdCompressor().compress(b"id,amount,seen_at\nC,2.00,\n"))
    result = load(con, money, landing)
    assert rows(con, "kinds__money", "id, amount, _source_line") == [("A", Decimal("1.50"), 2), ("C", Decimal("2.00"), 2)]
    assert con.execute("SELECT source_line, raw_record FROM raw.quarantine").fetchall() == [(3, "B,x,")]
    assert_conserved(con, money, result, zs, 1)


# 5. unfinished files and new versions -------------------------------------------------------------------
def test_same_name_with_new_content_supersedes_the_old_rows(con, kinds, landing):
    money = kinds["money"]
    src = land(landing, money, "m.csv", "id,amount,seen_at\nA,1.00,\nB,bad,\n")
    load(con, money, landing, "L1")
    land(landing, money, "m.csv", "id,amount,seen_at\nA,1.10,\nC,3.00,\n")
    second = load(con, money, landing, "L2")
    assert second.files[0].superseded
    assert rows(con, "kinds__money", "id, amount, _load_id") == [("A", Decimal("1.10"), "L2"), ("C", Decimal("3.00"), "L2")]
    assert quarantine(con, src) == []
    assert [a[0] for a in audit(con, src)] == ["superseded", "loaded"]


# 6. encodings -------------------------------------------------------------------------------------------
def test_cp1252_loads_and_its_quarantined_record_replays_byte_exact(con, kinds, landing):
    windows = kinds["windows"]
    line3 = "2;Café № 5 – “€”;x".encode("cp1252", errors="replace")
    data = "id;name;qty\r\n1;Müller – Söhne €;3\r\n".encode("cp1252") + line3 + b"\r\n"
    src = land(landing, windows, "w.csv", data)
    result = load(con, windows, landing)
    assert rows(con, "kinds__windows", "id, name, qty") == [("1", "Müller – Söhne €", 3)]
    ((line, col, reason),) = quarantine(con, src)
    assert (line, col) == (3, "qty")
    replay = con.execute("SELECT raw_record FROM raw.quarantine").fetchone()[0]
    assert replay.encode("cp1252") == line3
    assert_conserved(con, windows, result, src, 2)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_utf8_file_under_a_cp1252_contract_is_refused_never_loaded_garbled(con, kinds, landing, bom):
    windows = kinds["windows"]  # read as cp1252, 'Müller' would load as 'MÃ¼ller' with no error anywhere
    bad = land(landing, windows, "u.csv", bom + "id;name;qty\r\n1;Müller – Söhne €;3\r\n".encode())
    plain = land(landing, windows, "v.csv", b"id;name;qty\r\n2;Smith;4\r\n")  # ASCII reads the same in both
    result = load(con, windows, landing)
    assert rows(con, "kinds__windows", "id, name") == [("2", "Smith")]
    (failure,) = result.failures
    assert failure == (f"{bad}: the file is UTF-8 text (every non-ASCII byte is part of a valid UTF-8 sequence) but "
                       "the contract says cp1252: read so, its accented letters would load garbled ('é' as 'Ã©'); "
                       "declare encoding: utf-8 for this export")
    assert [f.status for f in result.files] == ["rejected", "loaded"]
    assert_conserved(con, windows, result, bad, 0)
    assert_conserved(con, windows, result, plain, 1)


def test_utf16_with_bom_loads(con, kinds, landing):
    wide = kinds["wide"]
    src = land(landing, wide, "u.csv", "id,name\r\n1,Zoë\r\n2,Åsa\r\n".encode("utf-16"))
    result = load(con, wide, landing)
    assert rows(con, "kinds__wide", "id, name, _source_line") == [("1", "Zoë", 2), ("2", "Åsa", 3)]
    assert_conserved(con, wide, result, src, 2)


# 7. physical line numbers ------------------------------------------------------------------------------
def test_line_numbers_stay_physical_after_stray_quotes(con, kinds, landing):
    quoted = kinds["quoted"]
    text = ('id,name,qty\n1,plain,1\n2,bo"b,2\n3,"multi\nline",3\n4,"open,4\n5,x,5\n6,"y",6\n7,"close"d,7\n'
            '8,z,8\n')
    src = land(landing, quoted, "q.csv", text)
    result = load(con, quoted, landing)
    # a quote inside an unquoted field is literal; a quoted value may span lines; a quote that never closes
    # properly swallows lines 6-8 into one broken record; text after a closing quote breaks line 9
    assert rows(con, "kinds__quoted", "id, name, _source_line") == [
        ("1", "plain", 2), ("2", 'bo"b', 3), ("3", "multi\nline", 4), ("8", "z", 10)]
    quarantined = con.execute("SELECT source_line, raw_record FROM raw.quarantine ORDER BY 1").fetchall()
    physical = text.split("\n")
    assert quarantined == [(6, "\n".join(physical[5:8])), (9, physical[8])]
    assert_conserved(con, quoted, result, src, 6)


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_value_spanning_lines_is_one_record_also_when_every_later_record_fails(con, kinds, landing, eol):
    # the fast route numbers records by their first line; the value's second line alone must never become a
    # quarantined record of its own (a file of 2 records read as 3)
    quoted = kinds["quoted"]
    src = land(landing, quoted, "m.csv", eol.join(["id,name,qty", 'A,"line1', 'line2",1', "B,x,zz", ""]))
    result = load(con, quoted, landing)
    assert rows(con, "kinds__quoted", "id, name, _source_line") == [("A", f"line1{eol}line2", 2)]
    assert quarantine(con, src) == [(4, "qty", "qty: 'zz' is not a valid integer")]
    assert_conserved(con, quoted, result, src, 2)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_invalid_bytes_before_the_closing_quote_of_a_value_spanning_lines_shift_no_line(con, kinds, landing, eol):
    # DuckDB's lossy decoding of the rejected line swallows the quote after the cut UTF-8 sequence: read as text, the
    # value would never close and the later records would be numbered from the rejected record's first line
    quoted = kinds["quoted"]
    src = land(landing, quoted, "u.csv", eol.join([b"id,name,qty", b'A,"line1', b'end\xc3",1', b"B,x,2", b"C,y,zz", b""]))
    result = load(con, quoted, landing)
    assert rows(con, "kinds__quoted", "id, _source_line") == [("B", 4)]
    assert quarantine(con, src) == [
        (2, None, "record rejected by the CSV reader: not valid utf-8 text (INVALID ENCODING)"),
        (5, "qty", "qty: 'zz' is not a valid integer")]
    assert con.execute("SELECT raw_record FROM raw.quarantine WHERE source_line = 2").fetchone()[0] == 'A,"line1\nend\\xc3",1'
    assert_conserved(con, quoted, result, src, 3)


@pytest.mark.parametrize("long_number", [False, True])  # the fast route, and the exact-number line route
def test_a_json_object_that_repeats_a_key_is_quarantined_saying_so(con, kinds, landing, long_number):
    events = kinds["events"]
    value = ', "value": 12345678901234567.891' if long_number else ""
    src = land(landing, events, "d.ndjson", f'{{"id": "a", "count": 1, "count": 2}}\n{{"id": "b", "count": 3{value}}}\n'
                                            '[1]\n')
    result = load(con, events, landing)
    assert rows(con, "kinds__events", "id, count") == [("b", 3)]
    assert quarantine(con, src) == [
        (1, None, "a JSON object that repeats a key (which of its values is meant is unclear)"),
        (3, None, "not a JSON object")]
    assert_conserved(con, events, result, src, 3)


def test_a_json_number_in_a_string_column_keeps_the_digits_the_file_wrote(con, kinds, landing):
    events = kinds["events"]  # id is a string column; DuckDB's reader would give the double's text ('7.1', '100.0')
    src = land(landing, events, "n.ndjson", '{"id": 7.10, "count": 1}\n{"id": 1e2}\n{"id": -0}\n{"id": "x"}\n')
    result = load(con, events, landing)
    assert [r[0] for r in rows(con, "kinds__events", "id")] == ["7.10", "1e2", "-0", "x"]
    assert_conserved(con, events, result, src, 4)


def test_an_ndjson_line_with_invalid_bytes_is_quarantined_with_its_bytes_shown(con, kinds, landing):
    events = kinds["events"]  # the reason's text must not be the reader's lossy decoding (a swallowed quote)
    src = land(landing, events, "u.ndjson", b'{"id": "caf\xe9", "count": 1}\n{"id": "ok", "count": 2}\n')
    result = load(con, events, landing)
    assert rows(con, "kinds__events", "id") == [("ok",)]
    assert con.execute("SELECT source_line, raw_record FROM raw.quarantine").fetchall() == [
        (1, '{"id": "caf\\xe9", "count": 1}')]
    assert_conserved(con, events, result, src, 2)


def test_ndjson_with_a_utf8_bom_loads_its_first_record(con, kinds, landing):
    events = kinds["events"]  # DuckDB's NDJSON reader refuses the BOM: the file takes the line route
    src = land(landing, events, "bom.ndjson", b'\xef\xbb\xbf{"id": "a", "count": 1}\n{"id": "b", "count": 2}\n')
    result = load(con, events, landing)
    assert rows(con, "kinds__events", "id, count, _source_line") == [("a", 1, 1), ("b", 2, 2)]
    assert quarantine(con, src) == []
    assert_conserved(con, events, result, src, 2)


@pytest.mark.parametrize("entity, data", [("texts", "1\tx\n2\ty\n"), ("quoted", "1,x,1\n2,y,2\n")])
def test_two_exports_joined_into_one_file_never_load_the_header_as_a_record(con, kinds, landing, entity, data):
    # `cat jan.csv feb.csv`: the second header line is a record whose every value is its column's name; an
    # all-string contract (texts) would load it as a row, a typed one (quoted) would quarantine it for its type
    e = kinds[entity]
    delimiter = e.format.delimiter
    header = delimiter.join(c.name for c in e.columns) + "\n"
    later = data.replace("1", "3").replace("2", "4")
    src = land(landing, e, "j.txt" if entity == "texts" else "j.csv", header + data + header + later)
    if e.format.done_marker:
        land(landing, e, "j.txt.done", "")
    result = load(con, e, landing)
    assert [r[0] for r in rows(con, f"kinds__{entity}", "id")] == ["1", "2", "3", "4"]
    assert quarantine(con, src) == [(4, None, "the record repeats the header line (two exports joined into one file?)")]
    assert_conserved(con, e, result, src, 5)


def test_headerless_file_numbers_lines_from_one(con, kinds, landing):
    bare = kinds["bare"]
    src = land(landing, bare, "b.csv", "A,1\nB,x\nC,3\n")
    result = load(con, bare, landing)
    assert rows(con, "kinds__bare", "id, qty, _source_line") == [("A", 1, 1), ("C", 3, 3)]
    assert quarantine(con, src) == [(2, "qty", "qty: 'x' is not a valid integer")]
    assert con.execute("SELECT raw_record FROM raw.quarantine").fetchone() == ("B,x",)
    assert_conserved(con, bare, result, src, 3)
