"""Format readers: turn one landed file into a staged relation of VARCHAR values, inside DuckDB.

Every reader produces the same shape, so validation and loading are format-agnostic:

* ``records``: ``_line BIGINT`` (physical line, or element index for JSON arrays), ``_raw VARCHAR``
  (the record as text, for quarantine), ``_extra JSON`` (values the contract does not know, NULL if
  none) and one VARCHAR column per contract column (named like the contract column);
* ``rejects``: ``_line, _raw, _reason`` for records the reader itself could not parse (wrong field
  count, invalid encoding, malformed JSON). They are quarantined, never silently dropped.

Readers use DuckDB's native scanners and set-based SQL only; rows never travel through Python.
Structural problems (missing required columns, unreadable header or document) raise FileRejected.
"""
from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from smb_warehouse.core.sql import ident, lit
from smb_warehouse.ingestion.contracts import Column, Entity
from smb_warehouse.ingestion.lines import exact_line_map, fast_view_sql, skip_adjusted
from smb_warehouse.ingestion.scan import FileScan

# Longest line/record we accept. DuckDB's default (2 MB) is too small for support tickets with
# pasted e-mail threads; anything over this is a reader reject, not a crash.
MAX_LINE_BYTES = 16 * 1024 * 1024
HEADER_PEEK_BYTES = 1024 * 1024
# The unit separator cannot appear unescaped inside valid JSON, so reading NDJSON "as CSV" with it
# as delimiter yields exactly one field per physical line.
_UNIT_SEPARATOR = "chr(31)"
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "iso8859-1": "latin-1", "utf-16": "utf-16"}


class FileRejected(Exception):
    """The file as a whole does not fit the contract; nothing from it may be loaded."""


@dataclass
class StagedFile:
    records: str
    rejects: str | None
    schema_drift: list[str] = field(default_factory=list)  # known from the header (CSV)
    # JSON keys can differ per record: drift is then read from the _extra values after validation.
    drift_from_extras: bool = False


def stage_file(
    con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, scan: FileScan, prefix: str
) -> StagedFile:
    kind = entity.format.type
    if kind == "csv":
        return _stage_csv(con, entity, path, scan, prefix)
    if kind == "ndjson":
        return _stage_ndjson(con, entity, path, prefix)
    return _stage_json_array(con, entity, path, prefix)


# --------------------------------------------------------------------------------------------- CSV
def _duckdb_encoding(encoding: str) -> str:
    try:
        return _DUCKDB_ENCODINGS.get(codecs.lookup(encoding).name, encoding)
    except LookupError:
        raise FileRejected(f"contract encoding {encoding!r} is not a known encoding") from None


def read_header(path: Path, entity: Entity) -> list[str]:
    """The file's column names, decoded with the contract encoding (strict: a header that does not
    decode means a binary file or a wrong encoding, and the whole file is rejected)."""
    fmt = entity.format
    codec = codecs.lookup(fmt.encoding).name
    with path.open("rb") as fh:
        if codec.startswith(("utf-16", "utf-32")):  # newline bytes differ; decode a prefix instead
            text = codecs.getincrementaldecoder(codec)(errors="strict").decode(fh.read(HEADER_PEEK_BYTES))
            line = text.split("\n", 1)[0]
        else:
            raw = fh.readline(HEADER_PEEK_BYTES)
            try:
                line = raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"header is not valid {fmt.encoding} text ({exc.reason} at byte {exc.start}); "
                    "binary file or wrong encoding?"
                ) from None
    line = line.lstrip("\ufeff").rstrip("\r\n")
    if "\x00" in line:
        raise FileRejected("header contains NUL bytes; binary file or wrong encoding?")
    if len(fmt.delimiter) == 1:
        fields = next(csv.reader([line], delimiter=fmt.delimiter, quotechar='"'), [])
    else:  # multi-character delimiters (DuckDB allows them; the csv module does not)
        fields = line.split(fmt.delimiter)
    return [f.strip() for f in fields]


def _map_header(entity: Entity, header: list[str]) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Map header positions to contract columns (by name, then alias; case-insensitive).

    Returns (contract column -> position, extra name -> position, schema drift notes)."""
    lookup: dict[str, Column] = {}
    for col in entity.columns:
        for name in (col.name, *col.aliases):
            lookup.setdefault(name.lower(), col)
    mapped: dict[str, int] = {}
    extras: dict[str, int] = {}
    drift: list[str] = []
    for pos, name in enumerate(header):
        col = lookup.get(name.lower())
        if col is None:
            key = name or f"_column_{pos + 1}"
            extras[key if key not in extras else f"{key}_{pos + 1}"] = pos
            drift.append(f"added {key}")
            continue
        if col.name in mapped:
            raise FileRejected(
                f"columns {header[mapped[col.name]]!r} and {name!r} both map to contract column {col.name!r}"
            )
        mapped[col.name] = pos
        if name.lower() != col.name.lower():
            drift.append(f"renamed {name}->{col.name}")
    missing_required = [c.name for c in entity.columns if c.required and c.name not in mapped]
    if missing_required:
        names = ", ".join(repr(n) for n in missing_required)
        noun = "column" if len(missing_required) == 1 else "columns"
        shown = entity.format.delimiter.join(header)
        shown = shown if len(shown) <= 200 else shown[:200] + "..."
        raise FileRejected(
            f"required {noun} {names} missing (header: {shown!r}; "
            f"contract delimiter {entity.format.delimiter!r})"
        )
    drift += [f"missing optional {c.name}" for c in entity.columns if c.name not in mapped]
    return mapped, extras, drift


def _stage_csv(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, scan: FileScan, prefix: str) -> StagedFile:
    fmt = entity.format
    header = read_header(path, entity) if fmt.header else [c.name for c in entity.columns]
    mapped, extras, drift = _map_header(entity, header)
    # DuckDB sees positional names (c1..cN): header text can be anything, including duplicates.
    pos_names = [f"c{i + 1}" for i in range(len(header))]
    columns = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in pos_names) + "}"
    rej_tab, rej_scan, base, view = (f"{prefix}_{s}" for s in ("rej", "rscan", "base", "v"))
    staged = StagedFile(records=view, rejects=f"{prefix}_rejects", schema_drift=drift)
    named = [f"{lit(h or f'_column_{i + 1}')}, {p}" for i, (h, p) in enumerate(zip(header, pos_names))]
    extra_expr = (
        "json_object(" + ", ".join(f"{lit(k)}, c{p + 1}" for k, p in extras.items()) + ")" if extras else "NULL::JSON"
    )
    contract_cols = [
        f"{'c' + str(mapped[c.name] + 1) if c.name in mapped else 'NULL::VARCHAR'} AS {ident(c.name)}"
        for c in entity.columns
    ]
    # Newlines inside quoted values shift physical lines: detect them to pick the line-number route.
    newline_expr = " + ".join(f"coalesce(strpos({p}, chr(10)) > 0, false)::INT" for p in pos_names)
    encoding = _duckdb_encoding(fmt.encoding)
    con.execute(
        f"""CREATE TEMP TABLE {base} AS
        SELECT row_number() OVER () AS _rn, {newline_expr} AS _nl,
               json_object({', '.join(named)})::VARCHAR AS _raw, {extra_expr} AS _extra, {', '.join(contract_cols)}
        FROM read_csv({lit(str(path))}, columns={columns}, header={str(fmt.header).lower()},
                      delim={lit(fmt.delimiter)}, quote='"', escape='"', encoding={lit(encoding)},
                      auto_detect=false, all_varchar=true, max_line_size={MAX_LINE_BYTES},
                      store_rejects=true, ignore_errors=true, rejects_table={lit(rej_tab)}, rejects_scan={lit(rej_scan)})"""
    )
    reader_rej = f"{prefix}_rrej"
    _reader_rejects(con, rej_tab, reader_rej)
    header_lines = 1 if fmt.header else 0
    multiline = con.execute(
        f"SELECT coalesce(bool_or(_nl > 0), false) OR (SELECT coalesce(bool_or(strpos(_raw, chr(10)) > 0), false) "
        f"FROM {reader_rej}) FROM {base}").fetchone()[0]
    # Single-column files keep blank lines as (NULL) records, so there they shift nothing.
    blank_lines_skipped = scan.has_blank_lines and len(header) > 1
    if not (multiline or blank_lines_skipped):
        con.execute(f"CREATE TEMP VIEW {staged.rejects} AS SELECT * FROM {reader_rej}")
        con.execute(fast_view_sql(view, base, reader_rej, header_lines))
        return staged
    dmap, starts = exact_line_map(con, path, encoding, prefix, not blank_lines_skipped, header_lines, reader_rej)
    # LEFT JOINs: should a malformed file defeat the mapping, a record keeps its reader line rather
    # than disappearing (row conservation beats line precision).
    con.execute(f"CREATE TEMP VIEW {staged.rejects} AS SELECT coalesce(m.p, r._line) AS _line, r._raw, r._reason "
                f"FROM {reader_rej} r LEFT JOIN {dmap} m ON m.d = r._line")
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT b.* EXCLUDE (_rn, _nl), coalesce(s.p, {header_lines} + b._rn) "
                f"AS _line FROM {base} b LEFT JOIN {starts} s ON s.k = b._rn")
    return staged


def _reader_rejects(con: duckdb.DuckDBPyConnection, rejects_table: str, target: str) -> None:
    # DuckDB writes one reject row per error (a short row yields one per missing column): one per line.
    con.execute(
        f"""CREATE TEMP TABLE {target} AS
        SELECT line AS _line, any_value(csv_line) AS _raw,
               'row rejected by reader: ' || string_agg(DISTINCT error_type || ' (' || error_message || ')', '; ') AS _reason
        FROM {rejects_table} GROUP BY line"""
    )


# ------------------------------------------------------------------------------------------- JSON
def _json_parts(path: str) -> list[str] | None:
    """Split a simple JSON path ('$.a.b') into keys; None for paths we cannot split safely."""
    if not path.startswith("$.") or any(ch in path for ch in "[]\"'*"):
        return None
    return path[2:].split(".")


def _extras_expr(entity: Entity) -> str:
    """JSON of the object's keys the contract does not read, or NULL. A JSON merge patch with null
    values deletes keys (RFC 7386), which removes all known paths in one set-based call."""
    patch: dict = {}
    parents: list[list[str]] = []
    for col in entity.columns:
        for parts in [_json_parts(col.json_path)] + [[a] for a in col.aliases]:
            if not parts:
                continue
            node = patch
            for i, key in enumerate(parts[:-1]):
                node = node.setdefault(key, {})
                if parts[: i + 1] not in parents:
                    parents.append(parts[: i + 1])
            node[parts[-1]] = None
    expr = f"json_merge_patch(_doc, {lit(json.dumps(patch))})"
    # A nested object whose keys were all known is left behind as {}: drop it, deepest first.
    for parts in sorted(parents, key=len, reverse=True):
        drop: dict = {}
        node = drop
        for key in parts[:-1]:
            node = node.setdefault(key, {})
        node[parts[-1]] = None
        json_path = "$." + ".".join(parts)
        expr = (f"CASE WHEN json_extract({expr}, {lit(json_path)})::VARCHAR = '{{}}' "
                f"THEN json_merge_patch({expr}, {lit(json.dumps(drop))}) ELSE {expr} END")
    return f"nullif(({expr})::VARCHAR, '{{}}')::JSON"


def _json_records_view(con: duckdb.DuckDBPyConnection, entity: Entity, source: str, view: str, rejects: str,
                       reader_rejects: str | None) -> None:
    """Split parsed JSON texts (source: _line, _raw) into contract columns and quarantinable texts.
    TRY_CAST to JSON turns malformed text into NULL, so no extraction can raise on it."""
    parsed = f"(SELECT _line, _raw, TRY_CAST(_raw AS JSON) AS _doc FROM {source})"
    cols = []
    for c in entity.columns:
        options = [f"json_extract_string(_doc, {lit(c.json_path)})"]
        options += [f"json_extract_string(_doc, {lit('$.' + json.dumps(a))})" for a in c.aliases]
        cols.append(f"coalesce({', '.join(options)}) AS {ident(c.name)}")
    is_object = "json_type(_doc) = 'OBJECT'"
    con.execute(f"CREATE TEMP VIEW {view} AS SELECT _line, _raw, {_extras_expr(entity)} AS _extra, "
                f"{', '.join(cols)} FROM {parsed} WHERE {is_object}")
    bad = (f"SELECT _line, _raw, CASE WHEN _doc IS NULL THEN 'malformed JSON' ELSE 'not a JSON object' END "
           f"AS _reason FROM {parsed} WHERE _doc IS NULL OR NOT {is_object}")
    con.execute(f"CREATE TEMP VIEW {rejects} AS {bad}"
                + (f" UNION ALL SELECT _line, _raw, _reason FROM {reader_rejects}" if reader_rejects else ""))


def _stage_ndjson(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, prefix: str) -> StagedFile:
    rej_tab, rej_scan, lines, reader_rej, view, rejects = (
        f"{prefix}_{s}" for s in ("rej", "rscan", "lines", "rrej", "v", "rejects"))
    staged = StagedFile(records=view, rejects=rejects, drift_from_extras=True)
    # One field per physical line; single-column reads keep blank lines (as NULL), so row_number is
    # the physical line number except for lines the reader rejected (handled as for CSV).
    con.execute(
        f"""CREATE TEMP TABLE {lines} AS
        SELECT row_number() OVER () AS _rn, line AS _raw
        FROM read_csv({lit(str(path))}, columns={{'line': 'VARCHAR'}}, header=false, delim={_UNIT_SEPARATOR},
                      quote='', escape='', encoding={lit(_duckdb_encoding(entity.format.encoding))},
                      auto_detect=false, max_line_size={MAX_LINE_BYTES},
                      store_rejects=true, ignore_errors=true, rejects_table={lit(rej_tab)}, rejects_scan={lit(rej_scan)})"""
    )
    _reader_rejects(con, rej_tab, reader_rej)
    # Blank (or whitespace-only) lines are not records: not loaded, not quarantined, not counted.
    source = (f"(SELECT {skip_adjusted('l._rn', reader_rej)} AS _line, l._raw FROM {lines} l "
              f"WHERE l._raw IS NOT NULL AND trim(l._raw) <> '')")
    _json_records_view(con, entity, source, view, rejects, reader_rej)
    return staged


def _stage_json_array(con: duckdb.DuckDBPyConnection, entity: Entity, path: Path, prefix: str) -> StagedFile:
    elements, view, rejects = f"{prefix}_elements", f"{prefix}_v", f"{prefix}_rejects"
    staged = StagedFile(records=view, rejects=rejects, drift_from_extras=True)
    try:  # a document that does not parse is one structural error: the whole file is rejected
        con.execute(
            f"""CREATE TEMP TABLE {elements} AS
            SELECT row_number() OVER () AS _line, json::VARCHAR AS _raw
            FROM read_json_objects({lit(str(path))}, format='array', maximum_object_size={MAX_LINE_BYTES})"""
        )
    except duckdb.Error as exc:
        raise FileRejected(f"not a readable JSON array document: {str(exc).strip()}") from None
    _json_records_view(con, entity, elements, view, rejects, None)
    return staged
