"""Physical line numbers for CSV records, computed set-based inside DuckDB.

DuckDB's CSV reader emits parsed rows in file order but without their line, and numbers rejected rows
in its own "reader lines": physical lines minus the continuation lines of quoted multi-line values
(blank lines are counted, yet produce no row). Two routes:

* fast (the common case: no blank lines, no newlines inside values): reader lines are physical
  lines, and the k-th parsed record is the k-th data line that is not a reject;
* exact (otherwise): scan the file once more as plain lines, mark continuation lines by quote parity
  (a line continues a record iff the quote characters before it are odd in number; an escaped quote
  '""' adds two and keeps parity), which yields reader line -> physical line, and record k -> line.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from smb_warehouse.core.sql import lit

_QUOTE = '"'


def skip_adjusted(position: str, skipped: str) -> str:
    """SQL for the line of the ``position``-th kept line, given a relation ``skipped(_line)`` of lines
    that produced no kept row: the i-th skipped line s_i lies before it iff s_i - i < position."""
    return (f"({position} + (SELECT count(*) FROM (SELECT _line - row_number() OVER (ORDER BY _line) AS k "
            f"FROM {skipped}) s WHERE s.k < {position}))")


def fast_view_sql(view: str, base: str, rejects: str, header_lines: int) -> str:
    position = f"({header_lines} + _rn)"
    return (f"CREATE TEMP VIEW {view} AS SELECT * EXCLUDE (_rn, _nl), "
            f"{skip_adjusted(position, rejects)} AS _line FROM {base}")


def exact_line_map(con: duckdb.DuckDBPyConnection, path: Path, encoding: str, prefix: str,
                   blank_lines_are_records: bool, header_lines: int, reader_rejects: str) -> tuple[str, str]:
    """Create ``{prefix}_dmap(d, p)`` (reader line -> physical line) and ``{prefix}_starts(k, p)``
    (k-th parsed record -> physical line). Returns their names."""
    plines, lrej, lscan, dmap, starts = (f"{prefix}_{s}" for s in ("plines", "lrej", "lscan", "dmap", "starts"))
    # Single-column, quote-less read: one row per physical line, blank lines kept (as NULL). Lines
    # it rejects (invalid encoding, a stray unit separator) keep their physical number in lrej.
    con.execute(
        f"""CREATE TEMP TABLE {plines} AS
        SELECT row_number() OVER () AS _rn, l
        FROM read_csv({lit(str(path))}, columns={{'l': 'VARCHAR'}}, header=false, delim=chr(31), quote='',
                      escape='', encoding={lit(encoding)}, auto_detect=false, max_line_size={16 * 1024 * 1024},
                      store_rejects=true, ignore_errors=true, rejects_table={lit(lrej)}, rejects_scan={lit(lscan)})"""
    )
    rejected = f"(SELECT DISTINCT line AS _line FROM {lrej})"
    quotes = f"length(l) - length(replace(l, {lit(_QUOTE)}, ''))"
    blank = "false" if blank_lines_are_records else "(l IS NULL OR trim(l, chr(13)) = '')"
    con.execute(
        f"""CREATE TEMP TABLE {dmap} AS
        WITH all_lines AS (
            SELECT {skip_adjusted('_rn', rejected)} AS p, l FROM {plines}
            UNION ALL SELECT line, any_value(csv_line) FROM {lrej} GROUP BY line),
        parity AS (
            SELECT p, l, coalesce(sum({quotes}) OVER (ORDER BY p ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                         % 2 = 1 AS continuation
            FROM all_lines)
        SELECT row_number() OVER (ORDER BY p) AS d, p, {blank} AS blank FROM parity WHERE NOT continuation"""
    )
    con.execute(
        f"""CREATE TEMP TABLE {starts} AS
        SELECT row_number() OVER (ORDER BY p) AS k, p FROM {dmap}
        WHERE d > {header_lines} AND NOT blank AND d NOT IN (SELECT _line FROM {reader_rejects})"""
    )
    return dmap, starts
