"""Export shapes found by trying the loader as a new user would (second round): multi-character delimiters,
header rows that run over lines, Excel "Unicode Text" and "CSV (Macintosh)" files with line breaks typed in
cells, the cut last record, and a new version of a file that equals another file's content."""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from ingest_helpers import assert_conserved, audit, land, load, one_entity, quarantine

from smb_warehouse.ingestion.contracts import ContractError, Entity, load_contracts


def entity(tmp_path: Path, fmt: str = "{}") -> Entity:
    return one_entity(tmp_path, "x", {"id": "{type: string, required: true}", "v": "{type: string}",
                                      "n": "{type: integer}"}, fmt)


def rows(con) -> list[tuple]:
    return con.execute("SELECT id, v, n, _source_file, _source_line FROM raw.x__rows ORDER BY 4, 5").fetchall()


def test_a_multi_character_delimiter_with_blank_lines_and_values_over_lines(tmp_path, con, landing):
    # the line map's field pattern for such a delimiter was not a valid regular expression, and the error took the
    # entity's other, good file down with it
    ent = entity(tmp_path, "{delimiter: '||'}")
    good = land(landing, ent, "a.csv", "id||v||n\n1||a||1\n")
    odd = land(landing, ent, "b.csv", 'id||v||n\n2||b||2\n\n3||"x||\ny"||3\n4||c||zz\n')
    result = load(con, ent, landing)
    assert rows(con) == [("1", "a", 1, good, 2), ("2", "b", 2, odd, 2), ("3", "x||\ny", 3, odd, 4)]
    assert quarantine(con, odd) == [(6, "n", "n: 'zz' is not a valid integer")]
    assert_conserved(con, ent, result, odd, 3)


@pytest.mark.parametrize("header", [b'id,"Customer\nName",n', b'id,"v\n(cents)",n'])
def test_a_header_row_that_runs_over_lines_is_refused_never_read_as_no_records(tmp_path, con, landing, header):
    # DuckDB's reader yields no record at all for such a file (audited 'loaded' with 0 rows read), and read as one
    # line the second name would be cut at the break and mapped to the contract column 'v'
    ent = entity(tmp_path)
    bad = land(landing, ent, "h.csv", header + b"\r\n1,Alice,1\r\n2,Bob,2\r\n")
    result = load(con, ent, landing)
    (failure,) = result.failures
    assert failure.startswith(f"{bad}: the header row runs over lines: a quoted column name holds a line break")
    assert_conserved(con, ent, result, bad, 0)


def test_excel_unicode_text_with_a_line_break_typed_in_a_cell_loads(tmp_path, con, landing):
    # Excel's "Unicode Text": UTF-16, tabs, CRLF after a record and a bare LF inside a quoted cell
    ent = entity(tmp_path, "{encoding: utf-16, delimiter: \"\\t\", extensions: [.txt]}")
    good = land(landing, ent, "a.txt", "id\tv\tn\r\n1\ta\t1\r\n".encode("utf-16"))
    cell = land(landing, ent, "b.txt", 'id\tv\tn\r\n2\t"x\ny"\t2\r\n3\tc\tzz\r\n4\td\t4\r\n'.encode("utf-16"))
    result = load(con, ent, landing)
    assert rows(con) == [("1", "a", 1, good, 2), ("2", "x\ny", 2, cell, 2), ("4", "d", 4, cell, 5)]
    assert con.execute("SELECT source_line, raw_record FROM raw.quarantine").fetchall() == [(4, "3\tc\tzz")]
    assert_conserved(con, ent, result, cell, 3)


def test_a_mac_csv_with_a_line_break_typed_in_a_cell_keeps_its_lines(tmp_path, con, landing):
    # "CSV (Macintosh)" ends records with CR: a bare LF in a cell made LF the line end, so the record after it got
    # the header's line and the quarantined record a text made of two records
    ent = entity(tmp_path)
    src = land(landing, ent, "m.csv", b'id,v,n\r1,"a\nb",1\r2,b,zz\r3,c,3\r')
    result = load(con, ent, landing)
    assert rows(con) == [("1", "a\nb", 1, src, 2), ("3", "c", 3, src, 4)]
    assert con.execute("SELECT source_line, raw_record FROM raw.quarantine").fetchall() == [(3, "2,b,zz")]
    assert_conserved(con, ent, result, src, 3)


@pytest.mark.parametrize("last", ["3,c,zz", "1,c,3"])  # the cut record fails validation / repeats a key
def test_only_the_record_on_the_unterminated_last_line_is_taken_as_cut(tmp_path, con, landing, last):
    ent = entity(tmp_path, "{unterminated_last_line: quarantine}")
    src = land(landing, ent, "c.csv", "id,v,n\n1,a,1\n2,b,2\n" + last)
    result = load(con, ent, landing)
    assert [r[:3] for r in rows(con)] == [("1", "a", 1), ("2", "b", 2)]  # line 3 was quarantined as the cut one
    ((line, _, reason),) = quarantine(con, src)
    assert line == 4 and "no line break at the end" not in reason
    assert_conserved(con, ent, result, src, 3)


def test_a_new_version_equal_to_another_files_content_still_supersedes_its_old_rows(tmp_path, con, landing):
    ent = entity(tmp_path)
    a = land(landing, ent, "a.csv", "id,v,n\n1,old,1\n2,old,2\n")
    load(con, ent, landing, "L1")
    b = land(landing, ent, "b.csv", "id,v,n\n1,new,1\n")
    load(con, ent, landing, "L2")
    land(landing, ent, "a.csv", "id,v,n\n1,new,1\n")  # a.csv re-delivered: now the same bytes as b.csv
    load(con, ent, landing, "L3")
    assert rows(con) == [("1", "new", 1, b, 2)]  # as a fresh build of this landing zone would hold
    assert [r[0] for r in audit(con, a)] == ["superseded", "duplicate"]
    load(con, ent, landing, "L4")  # nothing changed: nothing happens
    assert rows(con) == [("1", "new", 1, b, 2)]


def test_a_backslash_escaped_export_refuses_escapes_the_reader_would_drop(tmp_path, con, landing):
    # the reader keeps only the character after the escape: "C:\temp" loaded as 'C:temp', MySQL's \0 as '0'
    ent = entity(tmp_path, "{escape: '\\'}")
    bad = land(landing, ent, "a.csv", 'id,v,n\n1,"ok \\" and \\\\",1\n2,"C:\\temp",2\n')
    nulls = land(landing, ent, "b.csv", 'id,v,n\n3,\\N,\\N\n4,"a\\\\",4\n')  # MySQL writes NULL as an unquoted \N
    quoted_n = land(landing, ent, "c.csv", 'id,v,n\n5,"\\\\N",5\n')  # the text \N, which would read as no value
    bare = land(landing, ent, "d.csv", 'id,v,n\n6,a\\\\b,6\n')  # unquoted, DuckDB keeps both backslashes
    result = load(con, ent, landing)
    failures = sorted(result.failures)
    assert len(failures) == 3
    assert failures[0].startswith(f"{bad}: escape '\\\\' at line 3 ('\\\\t') that the CSV reader would not read "
                                  "as the export meant (it would load the character after the escape alone)")
    assert failures[1].startswith(f"{quoted_n}: escape '\\\\' at line 2") and "(it would load no value" in failures[1]
    assert failures[2].startswith(f"{bare}: escape '\\\\' at line 2") and "(it would load both characters)" in failures[2]
    assert rows(con) == [("3", None, None, nulls, 2), ("4", "a\\", 4, nulls, 3)]
    assert_conserved(con, ent, result, bad, 0)
    assert_conserved(con, ent, result, nulls, 2)


def test_a_compressed_copy_of_a_loaded_file_is_a_duplicate(tmp_path, con, landing):
    # the content hash was taken over the compressed bytes: a.csv.gz beside a.csv loaded every row a second time
    ent = entity(tmp_path)
    text = b"id,v,n\n1,a,1\n2,b,2\n"
    plain = land(landing, ent, "a.csv", text)
    load(con, ent, landing, "L1")
    packed = land(landing, ent, "a.csv.gz", gzip.compress(text))
    result = load(con, ent, landing, "L2")
    assert [r[:3] for r in rows(con)] == [("1", "a", 1), ("2", "b", 2)]
    assert {f.source_file: f.status for f in result.files} == {plain: "skipped_already_loaded", packed: "duplicate"}


@pytest.mark.parametrize("files, refusal", [
    ({"a.yml": "system: s\nentities:\n  x__y: {description: d, primary_key: [id], columns: {id: {type: string}}}\n"},
     "entity name 'x__y' must be lower case letters, digits and single underscores"),
    ({"a.yml": "system: S-1\nentities:\n  x: {description: d, primary_key: [id], columns: {id: {type: string}}}\n"},
     "system name 'S-1' must be lower case letters"),
    ({"a.yml": "system: s\nformat: {type: ndjson}\nentities:\n  x: {description: d, primary_key: [id], columns: "
               "{id: {type: string, aliases: [\"it's\"]}}}\n"},
     "JSON path \"$.it's\" is not a simple $.key.key path"),
    ({"a.yml": "system: s\nentities:\n  x: {description: d, primary_key: [id], columns: {id: {type: string}}}\n",
      "b.yml": "system: s\nentities:\n  y: {description: d, primary_key: [id], columns: {id: {type: string}}}\n"},
     "b.yml and a.yml both declare system 's': one contract file per system"),
])
def test_contracts_the_loader_could_not_honour_are_refused_when_read(tmp_path, files, refusal):
    # each was accepted, then: two systems' entities in one raw table (s + x__y and s__x + y), a bare crash of the
    # first load naming no file, or one system's entities silently dropped
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=re.escape(refusal)):
        load_contracts(tmp_path)


@pytest.mark.parametrize("tail", ["", '3,"note\nover two lines",3\n', "\n", "4,\x00,4\n"],
                         ids=["fast route", "value over lines", "blank line", "NUL byte"])
def test_a_record_whose_extra_fields_are_empty_is_quarantined_on_every_route(tmp_path, con, landing, tail):
    # DuckDB's own field count lets a record through whose extra fields are all empty: on the strict route (files with
    # values over lines, blank lines or NUL bytes) `1,Smith, John,` loaded as v 'Smith' and n ' John' read as the
    # next column, with no quarantine; the fast route counted the fields
    ent = entity(tmp_path)
    src = land(landing, ent, "a.csv", "id,v,n\n1,Smith, John,\n2,b,\n5,c,5,,\n" + tail)
    result = load(con, ent, landing)
    assert [(line, reason) for line, _c, reason in quarantine(con, src)] == [
        (2, "record has 4 fields, the header has 3"), (4, "record has 5 fields, the header has 3")]
    assert [(r[0], r[1], r[2]) for r in rows(con)][:1] == [("2", "b", None)]
    records = 3 + (tail.strip() != "")
    assert_conserved(con, ent, result, src, records)
    assert audit(con, src)[0][0] == "loaded"


def test_a_field_equal_to_the_strict_routes_null_marker_is_not_taken_for_a_missing_one(tmp_path, con, landing):
    ent = entity(tmp_path)
    src = land(landing, ent, "a.csv", "id,v,n\n1,\x00no such field\x00,1\n2,b,2\n3,\"x\ny\",3\n")
    load(con, ent, landing)
    assert [(line, reason) for line, _c, reason in quarantine(con, src)] == [
        (2, "record has 2 field(s), the header has 3")]
    assert [r[0] for r in rows(con)] == ["2", "3"]


def _contract(columns: str, fmt: str = "") -> str:
    return f"system: s\n{fmt}entities:\n  x:\n    primary_key: [id]\n    columns:\n      id: {{type: string}}\n{columns}"


@pytest.mark.parametrize("columns, fmt, refusal", [
    # the loader's own column names: `_file` loaded the landing path, `_v0` overwrote the key, `_source_line` crashed
    ("      _file: {type: string}\n", "", "x._file: a column name must not start with '_'"),
    ("      Note: {type: string}\n      note: {type: string}\n", "", "columns 'Note' and 'note' differ only in case"),
    # checked only at load: a bare ValueError naming no file, a DuckDB BinderException, every file 'unreadable'
    ("      v: {type: timestamp, formats: ['%d/%m/%Y %H:%M:%S %Z']}\n", "", "unsupported format directive %Z"),
    ("      v: {type: decimal, precision: 3}\n", "", "x.v: precision 3 needs a scale (0..3): the default scale is 4"),
    ("      v: {type: string, pattern: '^(?!TEST)[A-Z]+$'}\n", "", "x.v: pattern '^(?!TEST)[A-Z]+$' is not a regular "
                                                              "expression DuckDB (RE2) reads"),
    ("      v: {type: date}\n", "format: {date_formats: []}\n", "date_formats needs at least one format"),
    # YAML's own values where texts were meant
    ("      v: {type: string, null_tokens: NULL}\n", "", "x.v: null_tokens must be a list of texts"),
    ("      v: {type: string, required: 'no'}\n", "", "x.v: required must be true or false, not 'no'"),
    # DATEV's day and month without a year: strptime made every date one of 1900
    ("      v: {type: date}\n", "format: {date_formats: ['%d%m']}\n",
     "date_formats: '%d%m' does not name the year, month and day"),
    ("      v: {type: timestamp, formats: ['%H:%M']}\n", "", "x.v: formats: '%H:%M' does not name the year"),
    # an alias that is another column's name sent that column's values to the alias's column (and a JSON key to both)
    ("      name: {type: string, aliases: [email]}\n      email: {type: string}\n", "",
     "'email' names or aliases both columns 'name' and 'email'"),
    ("      a: {type: string, aliases: [Phone]}\n      b: {type: string, aliases: [phone]}\n", "",
     "'phone' names or aliases both columns 'a' and 'b'"),
])
def test_contract_options_the_loader_would_misread_are_refused_when_read(tmp_path, columns, fmt, refusal):
    (tmp_path / "s.yml").write_text(_contract(columns, fmt), encoding="utf-8")
    with pytest.raises(ContractError, match=re.escape(refusal)):
        load_contracts(tmp_path)


def test_contract_lists_hold_the_texts_written_not_what_yaml_makes_of_them(tmp_path, con, landing):
    # plain YAML read [NULL, N/A] as [None, 'N/A'] and [DE, NO, SE] as ['DE', False, 'SE']: a NULL cell loaded as the text
    # 'NULL', Norway was quarantined and 'False' accepted; [01, 02] became ['1', '2']; and one text where a list is
    # expected was split into its characters (null_tokens: 'N/A' made a grade A no value)
    ent = one_entity(tmp_path, "y", {
        "id": "{type: string, required: true}", "note": "{type: string, null_tokens: [NULL, N/A]}",
        "country": "{type: string, accepted_values: [DE, NO, SE]}", "code": "{type: string, accepted_values: [01, 02]}",
        "grade": "{type: string, null_tokens: 'N/A'}", "stamp": "{type: date, formats: '%d.%m.%Y'}"})
    assert (ent.column("note").null_tokens, ent.column("country").accepted_values, ent.column("code").accepted_values,
            ent.column("grade").null_tokens, ent.column("stamp").formats) == (
        ("NULL", "N/A"), ("DE", "NO", "SE"), ("01", "02"), ("N/A",), ("%d.%m.%Y",))
    src = land(landing, ent, "a.csv", "id,note,country,code,grade,stamp\n1,NULL,NO,01,A,31.12.2024\n"
                                      "2,None,False,1,N/A,\n")
    load(con, ent, landing)
    assert con.execute("SELECT id, note, country, code, grade, stamp::VARCHAR FROM raw.y__rows").fetchall() == [
        ("1", None, "NO", "01", "A", "2024-12-31")]
    assert quarantine(con, src) == [(3, "country", "country: 'False' is not one of the accepted values [DE, NO, "
                                     "SE]; code: '1' is not one of the accepted values [01, 02]")]


def test_a_blank_cell_is_no_value_also_where_text_is_not_trimmed(tmp_path, con, landing):
    # under trim: false a required column holding only spaces loaded '   ', a blank key loaded, a tab was a note
    ent = one_entity(tmp_path, "z", {"id": "{type: string, required: true}", "name": "{type: string, required: true}",
                                     "note": "{type: string}"}, "{trim: false}")
    src = land(landing, ent, "a.csv", 'id,name,note\n1,   ,a\n2,"  ",b\n   ,x,c\n4, Ann ,\t\n')
    load(con, ent, landing)
    assert con.execute("SELECT id, name, note FROM raw.z__rows").fetchall() == [("4", " Ann ", None)]
    assert [(line, reason) for line, _c, reason in quarantine(con, src)] == [
        (2, "name: missing required value"), (3, "name: missing required value"), (4, "id: missing required value")]


def test_a_key_column_is_required_even_where_the_contract_does_not_say_so(tmp_path, con, landing):
    # two rows without a key loaded, and counted as two rows of the same (NULL) key
    ent = one_entity(tmp_path, "k", {"id": "{type: string}", "line": "{type: integer}", "v": "{type: string}"},
                     key="id, line")
    assert [c.required for c in ent.columns] == [True, True, False]
    src = land(landing, ent, "a.csv", "id,line,v\nA,1,a\n,2,b\nB,,c\n,,d\n")
    load(con, ent, landing)
    assert con.execute("SELECT id, line, v FROM raw.k__rows").fetchall() == [("A", 1, "a")]
    assert [(line, reason) for line, _c, reason in quarantine(con, src)] == [
        (3, "id: missing required value"), (4, "line: missing required value"),
        (5, "id: missing required value; line: missing required value")]


def test_the_keys_made_up_for_repeated_or_empty_header_names_are_never_a_header_name_of_the_file(tmp_path, con, landing):
    # `id,x,x,x_3` kept the second x under "x_3" and the file's real x_3 under "x_3_4"
    ent = entity(tmp_path)
    land(landing, ent, "a.csv", "id,x,x,x_3,,_column_5\n1,first x,second x,real x_3,unnamed,real _column_5\n")
    load(con, ent, landing)
    (extra,) = con.execute("SELECT _extra_columns::VARCHAR FROM raw.x__rows").fetchone()
    assert json.loads(extra) == {"x": "first x", "x_3_": "second x", "x_3": "real x_3", "_column_5_5": "unnamed",
                                 "_column_5": "real _column_5"}


def test_an_unquoted_escaped_line_break_refuses_the_file_naming_its_line(tmp_path, con, landing):
    # MySQL's OUTFILE without ENCLOSED BY writes a line break in a value as \ + LF: the value loaded cut ('line1\') and
    # its rest was quarantined as a record of its own
    ent = one_entity(tmp_path, "my", {"id": "{type: integer}", "name": "{type: string}", "note": "{type: string}"},
                     "{delimiter: \"\\t\", header: false, escape: '\\', extensions: [.txt]}")
    src = land(landing, ent, "t.txt", b"1\tAnna\t\\N\n2\tBob\tline1\\\nline2\n3\tC\tx\n")
    result = load(con, ent, landing)
    (failure,) = result.failures
    assert failure.startswith(f"{src}: escape '\\\\' at line 2 ") and "the value cut at the line break" in failure
    assert audit(con, src)[0][:4] == ("rejected", 0, 0, 0)


@pytest.mark.parametrize("encoding, data, hint", [
    ("utf-16", "id,v,n\n1,\U0001f600,1\n".encode("utf-16"), "an emoji or a big-endian file is refused; export the "
                                                            "file as UTF-8"),
    ("utf-16", b"\xfe\xff" + "id,v,n\n1,a,1\n".encode("utf-16-be"), "UTF-16 big-endian byte-order mark"),
    ("utf-8", b"\xfe\xff" + "id,v,n\n1,a,1\n".encode("utf-16-be"), "UTF-16 big-endian byte-order mark"),
])
def test_utf16_files_the_reader_cannot_take_are_refused_saying_why(tmp_path, con, landing, encoding, data, hint):
    # DuckDB's own "File is not utf-16 encoded" was all a user got, false for an emoji; a big-endian file under utf-8
    # was told to declare utf-16, and then refused with that message
    ent = entity(tmp_path, f"{{encoding: {encoding}}}")
    src = land(landing, ent, "u.csv", data)
    (failure,) = load(con, ent, landing).failures
    assert failure.startswith(src) and hint in failure
    assert audit(con, src)[0][:4] == ("rejected", 0, 0, 0)


def test_a_windows_ansi_file_under_latin_1_is_pointed_to_cp1252(tmp_path, con, landing):
    ent = entity(tmp_path, "{encoding: latin-1}")
    src = land(landing, ent, "w.csv", "id,v,n\n1,5 \u20ac,1\n2,\u201ea\u201c,2\n".encode("cp1252"))
    (failure,) = load(con, ent, landing).failures
    assert failure.startswith(src) and failure.endswith("declare encoding: cp1252)")


@pytest.mark.parametrize("header", [False, True])
def test_a_crlf_typed_in_a_quoted_value_of_the_first_record_of_an_lf_file_loads(tmp_path, con, landing, header):
    # PostgreSQL's COPY ... CSV (no header) with a note typed on Windows first: DuckDB took the line end from the first
    # line (CRLF, inside the quotes) and the file was refused as "mixed line ends ... convert it (dos2unix)", advice
    # that would have changed the note
    ent = entity(tmp_path, f"{{header: {str(header).lower()}}}")
    first = "id,v,n\n" if header else ""
    src = land(landing, ent, "c.csv", (first + '1,"Dear team,\r\nplease call",5\n2,x,2\n').encode())
    result = load(con, ent, landing)
    assert [r[:3] for r in rows(con)] == [("1", "Dear team,\r\nplease call", 5), ("2", "x", 2)]
    assert [r[4] for r in rows(con)] == [1 + header, 3 + header]
    assert_conserved(con, ent, result, src, 2)
