"""Physical line numbers and raw record texts, computed set-based inside DuckDB.

DuckDB's readers emit records in file order but without their line. The loader numbers records by
reading order and turns that into the physical line of the record:

* fast route (no blank lines, no record spanning lines; checked per file by comparing the physical
  line count with records + rejected lines + header): record k is the k-th data line that the reader
  did not reject;
* exact route (otherwise): the file is read once more as plain lines and every line is classified as
  the start of a record or a continuation of a quoted value that spans lines. The classification is
  the CSV quote automaton (RFC 4180 as DuckDB reads it: a quote opens a quoted field only at the start
  of a field, ``""`` inside it is an escaped quote, a quote inside an unquoted field is literal, and
  text after a closing quote is an error after which the reader resumes at the next line). Each line's
  effect on the in/out-of-quotes state is one of four functions (identity, swap, constant in, constant
  out), so the state at every line is a prefix composition, computed with window functions. A stray
  quote therefore never shifts the line numbers of later records.

Raw record texts (for quarantine) are the physical line(s) of the record as decoded with the file's
encoding, without the line terminator: re-encoding them with that encoding gives the file's bytes.
"""
from __future__ import annotations

import re

import duckdb

from smb_warehouse.core.sql import lit

MAX_LINE_BYTES = 16 * 1024 * 1024


def skip_adjusted(position: str, skipped: str) -> str:
    """SQL for the line of the ``position``-th kept line, given a relation ``skipped(_line)`` of lines
    that produced no kept row: the i-th skipped line s_i lies before it iff s_i - i < position."""
    return (f"({position} + (SELECT count(*) FROM (SELECT _line - row_number() OVER (ORDER BY _line) AS k "
            f"FROM {skipped}) s WHERE s.k < {position}))")


def lines_read_sql(path_sql: str, encoding: str, compression: str | None, new_line: str | None,
                   rejects_table: str, rejects_scan: str) -> str:
    """One row per physical line (blank lines kept as NULL), quote-less: ``SELECT l FROM ...``. Lines the
    reader cannot decode land in the rejects table with their physical line number."""
    nl = f", new_line={lit(new_line)}" if new_line else ""
    comp = f", compression={lit(compression)}" if compression else ""
    return (f"read_csv({path_sql}, columns={{'l': 'VARCHAR'}}, header=false, delim=chr(31), quote='', escape='', "
            f"encoding={lit(encoding)}{comp}{nl}, auto_detect=false, max_line_size={MAX_LINE_BYTES}, "
            f"store_rejects=true, ignore_errors=true, rejects_table={lit(rejects_table)}, rejects_scan={lit(rejects_scan)})")


def numbered_lines(con: duckdb.DuckDBPyConnection, path_sql: str, encoding: str, compression: str | None,
                   new_line: str | None, prefix: str, texts: list[str] | None = None) -> str:
    """Create ``{prefix}_pl(p, l, rejected)``: every physical line of one file with its number (lines the
    reader rejected, e.g. not decodable, included with their text as the reader saw it and
    ``rejected = true``). Returns the table name.

    ``texts``: the file's lines, already split and decoded by the caller, for a file DuckDB's CSV reader may not
    split ("state machine reached an invalid state"): mixed line ends, as Excel writes them (CRLF after a record, a
    bare LF for a line break typed in a cell), also in UTF-16."""
    raw, rej, scan, out = f"{prefix}_plr", f"{prefix}_plrej", f"{prefix}_plscan", f"{prefix}_pl"
    if texts is not None:
        con.execute(f"CREATE TEMP TABLE {out} AS SELECT generate_subscripts(ls, 1) AS p, unnest(ls) AS l, false AS rejected "
                    "FROM (SELECT ?::VARCHAR[] AS ls)", [texts])
        return out
    con.execute(f"CREATE TEMP TABLE {raw} AS SELECT row_number() OVER () AS _rn, l FROM "
                f"{lines_read_sql(path_sql, encoding, compression, new_line, rej, scan)}")
    rejected = f"(SELECT DISTINCT line AS _line FROM {rej})"
    con.execute(f"""CREATE TEMP TABLE {out} AS
        SELECT {skip_adjusted('_rn', rejected)} AS p, l, false AS rejected FROM {raw}
        UNION ALL SELECT line, any_value(csv_line), true FROM {rej} GROUP BY line""")
    return out


def _field_patterns(delimiter: str, quote: str, escape: str | None = None) -> tuple[str, str, str]:
    d, q = re.escape(delimiter), re.escape(quote)
    if escape is None or escape == quote:  # RFC 4180: a quote inside a quoted value is doubled
        inside, tail = f"(?:[^{q}]|{q}{q})*", ""
    else:  # an escape character takes the next one literally (a quote, itself; at the line end: the line break)
        e = re.escape(escape)
        inside, tail = f"(?:[^{q}{e}]|{e}.)*", f"{e}?"
    quoted = f"{q}{inside}{q}"
    # an unquoted field: not starting with a quote, up to the next delimiter. RE2 has no "text without the string d"
    # for a multi-character delimiter: such a field may then run over a delimiter, which only turns quotes that would
    # open a field into literal ones: the patterns ask whether *some* reading ends inside a quote, and every reading
    # that ends there still exists, while a quote no reading opens is never made to open one
    unquoted = f"[^{q}{d}][^{d}]*" if len(delimiter) == 1 else f"[^{q}].*"
    open_tail = f"{q}{inside}{tail}"
    fields = f"(?:(?:{quoted}|{unquoted}|){d})*"
    out_ends_in = fields + open_tail                      # from outside quotes, ends inside an open quote
    in_stays = inside + tail                               # from inside, no closing quote on this line
    in_reopens = f"{inside}{q}{d}" + fields + open_tail    # closes, then opens another quoted field
    return out_ends_in, in_stays, in_reopens


def exact_line_map(con: duckdb.DuckDBPyConnection, plines: str, delimiter: str, quote: str, prefix: str,
                   header_lines: int, blank_lines_are_records: bool, escape: str | None = None) -> str:
    """From ``plines(p, l)`` create ``{prefix}_dmap(d, p, span, blank)``: reader line d (DuckDB's numbering:
    lines that do not continue a quoted value) -> physical line p, the number of physical lines the
    record spans, and whether it is blank. Returns the table name."""
    out_ends_in, in_stays, in_reopens = _field_patterns(delimiter, quote, escape)
    dmap = f"{prefix}_dmap"
    text = "coalesce(regexp_replace(l, '\\r$', ''), '')"
    blank = "false" if blank_lines_are_records else f"(trim({text}) = '')"
    con.execute(f"""CREATE TEMP TABLE {dmap} AS
        WITH f AS (
            SELECT p, l, regexp_full_match({text}, {lit(out_ends_in)})::INT AS f0,
                   (regexp_full_match({text}, {lit(in_stays)}) OR regexp_full_match({text}, {lit(in_reopens)}))::INT AS f1
            FROM {plines}),
        g AS (
            SELECT p, l, f0, f1, f0 = f1 AS is_const, (f0 = 1 AND f1 = 0)::INT AS is_swap,
                   sum((f0 = 1 AND f1 = 0)::INT) OVER (ORDER BY p ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS swaps_upto
            FROM f),
        s AS (
            SELECT p, l,
                   (coalesce(last_value(CASE WHEN is_const THEN f0 END IGNORE NULLS)
                                OVER (ORDER BY p ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                    + swaps_upto - is_swap
                    - coalesce(last_value(CASE WHEN is_const THEN swaps_upto END IGNORE NULLS)
                                OVER (ORDER BY p ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) % 2 AS state
            FROM g),
        starts AS (SELECT p, {blank} AS blank FROM s WHERE state = 0)
        SELECT row_number() OVER (ORDER BY p) AS d, p,
               coalesce(lead(p) OVER (ORDER BY p), (SELECT max(p) + 1 FROM {plines})) - p AS span, blank
        FROM starts""")
    return dmap


def fetch_plain_texts(con: duckdb.DuckDBPyConnection, wanted: str, files: dict[str, str], target: str, root: str) -> None:
    """Append to ``target(_file, _line, raw)`` the texts of ``wanted(_file, _line, _span)`` for UTF-8,
    uncompressed files (``files``: rel path -> line terminator, '\\n' or '\\r'; ``root`` the landing root),
    read with read_text: each file is split into lines once and all its wanted lines taken from that list."""
    if not files:
        return
    rels = sorted(files)
    paths = [f"{root}/{r}" for r in rels]
    terms = "CASE " + " ".join(f"WHEN _file = {lit(r)} THEN {lit(files[r])}" for r in rels) + " END"
    con.execute(f"""INSERT INTO {target}
        SELECT _file, unnest(lines), unnest(texts) FROM (
            SELECT w._file, w.lines, list_transform(w.spans, (x, i) -> array_to_string(list_transform(
                       t.ls[w.lines[i] : w.lines[i] + x - 1], y -> regexp_replace(y, '\r$', '')), chr(10))) AS texts
            FROM (SELECT _file, list(_line ORDER BY _line) AS lines, list(_span ORDER BY _line) AS spans
                  FROM {wanted} GROUP BY 1) w
            JOIN (SELECT _file, string_split(ltrim(content, chr(65279)), {terms}) AS ls FROM (
                  SELECT substr(filename, {len(root) + 2}) AS _file, content FROM read_text({paths!r}))) t USING (_file))""")


def fetch_line_texts(con: duckdb.DuckDBPyConnection, wanted: str, rel: str, plines: str, target: str) -> None:
    """Append to ``target`` the texts of ``wanted`` rows of one file from its numbered lines."""
    con.execute(f"""INSERT INTO {target}
        SELECT w._file, w._line, (SELECT string_agg(regexp_replace(coalesce(l, ''), '\\r$', ''), chr(10) ORDER BY p)
                                  FROM {plines} WHERE p BETWEEN w._line AND w._line + w._span - 1)
        FROM {wanted} w WHERE w._file = {lit(rel)}""")
