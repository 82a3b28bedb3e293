"""Format readers: whole-file checks, and the SQL that reads a *group* of an entity's files in one pass.

Every reader yields the same relation shape, so validation and loading are format-agnostic:
``_rn`` (reading order over the group, turned into the physical line by the loader), ``_file`` (path
relative to the landing root), ``_extra`` (JSON of values the contract does not know, NULL if none),
one column per contract column (the value's text for CSV, its JSON text for JSON formats) and, for
JSON, ``_doc_ok`` (the record is a JSON object). Records the CSV reader itself cannot parse (wrong field
count, broken quoting, invalid encoding) land in DuckDB's rejects table and are quarantined.

Whole-file checks raise FileRejected with a message that names the cause (header without a required
column or with the wrong delimiter, wrong encoding or byte-order mark, an NDJSON file that is really one
pretty-printed document, a JSON array file that is not an array).
"""
from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from smb_warehouse.core.sql import ident, lit
from smb_warehouse.ingestion.contracts import Column, Entity
from smb_warehouse.ingestion.lines import MAX_LINE_BYTES
from smb_warehouse.ingestion.scan import FileScan
from smb_warehouse.ingestion.validation import unmark_numbers_sql

HEADER_PEEK_BYTES = 1024 * 1024
_PY_CODECS = {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1", "cp1252": "cp1252"}


class FileRejected(Exception):
    """The file as a whole does not fit the contract; nothing from it may be loaded."""


@dataclass
class Batch:
    """One landed file the loader is about to read."""
    path: Path
    rel: str
    scan: FileScan
    compression: str | None = None
    header: list[str] = field(default_factory=list)
    mapped: dict[str, int] = field(default_factory=dict)
    extras: dict[str, int] = field(default_factory=dict)
    drift: list[str] = field(default_factory=list)
    stat: tuple[int, int] | None = None  # (size, mtime_ns) taken before the scan: a change means a writer is at work

    @property
    def new_line(self) -> str | None:
        """DuckDB's ``new_line`` option where its own guess (from the first line) can be wrong: CR files, and files
        with both CRLF and bare LF, whose first line may end inside a quoted value (a note typed on Windows in the
        first record of an LF file). A complete file's last line end is a record end; records that really end both
        ways still fail the read, and ``_line_end_problem`` says where."""
        if self.scan.line_terminator == b"\r":
            return "\\r"
        if self.scan.mixed_line_ends and self.scan.last_line_end in (b"\n", b"\r\n"):
            return "\\r\\n" if self.scan.last_line_end == b"\r\n" else "\\n"
        return None

    @property
    def plain_utf8(self) -> bool:
        return self.compression is None and bool(self.scan.utf8_valid)


# ---------------------------------------------------------------------------------------- checks
_BIG_ENDIAN = ("file starts with a UTF-16 big-endian byte-order mark (PowerShell's BigEndianUnicode): the readers take "
               "UTF-16 little-endian only; export the file as UTF-8 or as little-endian UTF-16 (Unicode)")


def _decode_head(batch: Batch, entity: Entity) -> str:
    """The first ~1 MB as text, decoded strictly with the contract encoding (gzip is opened; zstd files
    are checked by DuckDB instead and yield '')."""
    fmt = entity.format
    enc = fmt.duckdb_encoding
    data = batch.scan.head  # the first bytes of the (decompressed) text
    if data.startswith(b"\xfe\xff"):
        raise FileRejected(_BIG_ENDIAN)
    if enc == "utf-8" and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("file starts with a UTF-16 byte-order mark but the contract says utf-8 "
                           "(declare encoding: utf-16)")
    if enc == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("contract says utf-16 but the file has no UTF-16 byte-order mark")
    text = codecs.getincrementaldecoder(_PY_CODECS[enc])(errors="replace").decode(data)
    return text.lstrip("\ufeff")


def read_header(batch: Batch, entity: Entity) -> list[str]:
    """The file's column names, decoded strictly with the contract encoding: a header that does not
    decode means a binary file or a wrong encoding, and the whole file is rejected."""
    fmt = entity.format
    enc = fmt.duckdb_encoding
    if batch.scan.head.startswith(b"\xfe\xff"):
        raise FileRejected(_BIG_ENDIAN)
    if enc != "utf-16" and batch.scan.head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected(f"file starts with a UTF-16 byte-order mark but the contract says {fmt.encoding} "
                           "(declare encoding: utf-16)")
    if enc in ("utf-8", "latin-1", "cp1252"):
        raw = batch.scan.head
        cut = min((i for i in (raw.find(b"\n"), raw.find(b"\r")) if i >= 0), default=len(raw))
        try:
            line = raw[:cut].decode(_PY_CODECS[enc])
        except UnicodeDecodeError as exc:
            raise FileRejected(f"header is not valid {fmt.encoding} text ({exc.reason} at byte {exc.start}); "
                               "binary file or wrong encoding?") from None
    else:
        text = _decode_head(batch, entity)
        line = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    line = line.lstrip("\ufeff")
    unescaped = re.sub(re.escape(fmt.escape_char) + ".", "", line) if fmt.escape_char != fmt.quote else line
    if unescaped.count(fmt.quote) % 2:
        # a quoted column name holding a line break (typed in the header cell, as Excel allows): DuckDB's reader
        # does not skip such a header and yields no record at all; read as one line, the name would be cut there
        raise FileRejected("the header row runs over lines: a quoted column name holds a line break (typed in the "
                           f"header cell?); rename that column in the export (first line: {line[:200]!r})")
    if "\x00" in line or "\ufffd" in line:
        raise FileRejected("header contains NUL bytes or undecodable text; binary file or wrong encoding?")
    if len(fmt.delimiter) == 1:
        backslashed = fmt.escape_char != fmt.quote
        fields = next(csv.reader([line], delimiter=fmt.delimiter, quotechar=fmt.quote, doublequote=not backslashed,
                                 escapechar=fmt.escape_char if backslashed else None), [])
    else:  # multi-character delimiters (DuckDB allows them; the csv module does not)
        fields = line.split(fmt.delimiter)
    return [f.strip() for f in fields]


def map_header(entity: Entity, batch: Batch) -> None:
    """Map header positions to contract columns (by name, then alias; case-insensitive) into ``batch``."""
    header = batch.header
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
            if key in extras or (not name and key in header):  # a repeated or empty name: a key no header name has
                key = f"{key}_{pos + 1}"
                while key in extras or key in header:
                    key += "_"
            extras[key] = pos
            drift.append(f"added {name or key}")
            continue
        if col.name in mapped:
            raise FileRejected(
                f"columns {header[mapped[col.name]]!r} and {name!r} both map to contract column {col.name!r}")
        mapped[col.name] = pos
        if name.lower() != col.name.lower():
            drift.append(f"renamed {name}->{col.name}")
    missing_required = [c.name for c in entity.columns if c.required and c.name not in mapped]
    shown = entity.format.delimiter.join(header)
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    if missing_required:
        names = ", ".join(repr(n) for n in missing_required)
        noun = "column" if len(missing_required) == 1 else "columns"
        raise FileRejected(f"required {noun} {names} missing (header: {shown!r}; "
                           f"contract delimiter {entity.format.delimiter!r})")
    drift += [f"missing optional {c.name}" for c in entity.columns if c.name not in mapped]
    batch.mapped, batch.extras, batch.drift = mapped, extras, drift


def check_json_shape(batch: Batch, entity: Entity) -> None:
    """Refuse a JSON file whose overall shape is not the contract's (NDJSON vs one document)."""
    text = _decode_head(batch, entity)
    stripped = text.lstrip()
    if not stripped:
        return
    if entity.format.type == "json_array":
        if not stripped.startswith("["):
            what = "NDJSON (one object per line)" if stripped.startswith("{") else "not JSON"
            raise FileRejected(f"not a JSON array document: it starts with {stripped[:20]!r} ({what}); "
                               "the contract declares type json_array")
        return
    first = stripped.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0].strip()
    if stripped.startswith("["):
        raise FileRejected("one JSON array document, not NDJSON (one JSON object per line): declare "
                           "type json_array for this export, or export it as NDJSON")
    try:
        json.loads(first)
    except ValueError:
        if first in ("{", "[") or first.endswith(("{", "[")) or (first.startswith("{") and "\n" in stripped
                                                                   and stripped.split("\n", 1)[1][:1] in (" ", "\t")):
            raise FileRejected("one pretty-printed JSON document spread over many lines, not NDJSON (one JSON "
                               "object per line): export it as NDJSON") from None


# ------------------------------------------------------------------------------------------ SQL
def _comp(batch: Batch) -> str:
    return f", compression={lit(batch.compression)}" if batch.compression else ""


def _paths(batches: list[Batch]) -> str:
    return "[" + ", ".join(lit(str(b.path)) for b in batches) + "]"


def rel_name(batches: list[Batch], column: str = "filename") -> str:
    """SQL turning the reader's absolute ``filename`` into the landing-relative name."""
    b = batches[0]
    return f"substr({column}, {len(str(b.path)) - len(b.rel) + 1})"


# the strict route's null marker for padded fields: NUL bytes can occur in the files that take it, this text can too
# but never unnoticed (see csv_group_source)
STRICT_NULL = "chr(0) || 'no such field' || chr(0)"
SPARE_FIELDS = 8  # extra fields a padded read keeps (a record with more is a reader error -> strict route)


def expected_line_sql(batches: list[Batch], header_lines: int) -> str:
    """SQL of the physical line from ``_rn`` (reading order over the group) and ``_file``, for files where
    every physical line after the header yields exactly one record (no blank lines, no record spanning
    lines): line = header + position in the file. The loader verifies that per file after the read."""
    offsets, before = [], 0
    for b in batches:
        offsets.append((b.rel, before - header_lines))
        before += (b.scan.line_count or 0) - header_lines
    if all(o == offsets[0][1] for _, o in offsets):
        return f"(_rn - {offsets[0][1]})"
    cases = " ".join(f"WHEN {lit(rel)} THEN {off}" for rel, off in offsets)
    return f"(_rn - CASE _file {cases} END)"


def csv_group_source(entity: Entity, batches: list[Batch], rejects: str, scans: str, padded: bool = False,
                     encoding: str | None = None) -> str:
    """One read over files with the same header (mapping taken from the first). Fields are read by
    position as ``_f1.._fN``; contract columns are aliases of them (NULL when the header lacks one).

    ``padded`` (the fast route): ``SPARE_FIELDS`` more columns (``_x1..``) than the header, null padding,
    and a null string that cannot occur, so a record with too many or too few fields still comes out as
    one row (empty fields are '', missing ones NULL): every data line is one row, ``_rn`` becomes the
    physical line in the same statement, and the field count is checked like a value (``padded_shape``
    in the loader). Otherwise (strict route) the read is padded the same way, so the field count is checked
    like a value there too (DuckDB's own check lets a record through whose extra fields are all empty:
    ``1,Smith, John,`` under a 3-field header loaded as name 'Smith', city 'John'), and the records it
    cannot read at all (an unclosed quote, invalid bytes, more than ``SPARE_FIELDS`` extra fields) go to
    its rejects table. DuckDB pads only a single-threaded read of a file with values over lines, so the strict
    route reads with ``parallel=false``; files holding NUL bytes take it, so its null marker is ``STRICT_NULL``
    (a field equal to it reads as missing, and ``padded_shape(strict=True)`` quarantines the record)."""
    fmt = entity.format
    first = batches[0]
    header = first.header if fmt.header else [c.name for c in entity.columns]
    width = len(header)
    pos_names = [f"_f{i + 1}" for i in range(width)] + [f"_x{i + 1}" for i in range(SPARE_FIELDS)]
    columns = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in pos_names) + "}"
    extra = ("json_object(" + ", ".join(f"{lit(k)}, nullif(_f{p + 1}, '')" for k, p in first.extras.items()) + ")"
             if first.extras else "NULL::JSON")
    contract_cols = ", ".join(
        f"{'_f' + str(first.mapped[c.name] + 1) if c.name in first.mapped else 'NULL::VARCHAR'} AS {ident(c.name)}"
        for c in entity.columns)
    nl = f", new_line={lit(first.new_line)}" if first.new_line else ""
    options = (f"columns={columns}, header={str(fmt.header).lower()}, delim={lit(fmt.delimiter)}, "
               f"quote={lit(fmt.quote)}, escape={lit(fmt.escape_char)}, encoding={lit(encoding or fmt.duckdb_encoding)}"
               f"{_comp(first)}{nl}, auto_detect=false, max_line_size={MAX_LINE_BYTES}, filename=true")
    if not padded:
        return (f"SELECT row_number() OVER () AS _rn, {rel_name(batches)} AS _file, {extra} AS _extra, {contract_cols}, "
                f"{', '.join(pos_names)} FROM read_csv({_paths(batches)}, {options}, null_padding=true, nullstr={STRICT_NULL}, "
                f"parallel=false, store_rejects=true, ignore_errors=true, rejects_table={lit(rejects)}, "
                f"rejects_scan={lit(scans)})")
    header_lines = 1 if fmt.header else 0
    return (f"SELECT * REPLACE ({expected_line_sql(batches, header_lines)} AS _rn) FROM ("
            f"SELECT row_number() OVER () AS _rn, {rel_name(batches)} AS _file, {extra} AS _extra, {contract_cols}, "
            f"{', '.join(pos_names)} FROM read_csv({_paths(batches)}, {options}, null_padding=true, nullstr=chr(0)))")


def json_path_parts(path: str) -> list[str] | None:
    """Split a simple JSON path ('$.a.b') into keys; None for paths we cannot split safely."""
    if not path.startswith("$.") or any(ch in path for ch in "[]\"'*"):
        return None
    return path[2:].split(".")


def _parent_kind_sql(parts: list[str], marked: bool) -> str:
    """SQL of why a nested path ``$.a.b...`` cannot hold a value: the first of its parents that is present but not a
    JSON object, as ``"a JSON <kind> at $.a"`` (NULL when every parent is an object, null or missing). Without it,
    ``json_extract`` on a string or array parent gives NULL: the column would load NULL and the parent's value
    (a known key) would be in no column and not in ``_extra`` either, lost without a word."""
    branches = []
    for depth in range(1, len(parts)):
        node = (f"m[{lit(parts[0])}]" if depth == 1
                else f"json_extract(m[{lit(parts[0])}], {lit('$.' + '.'.join(parts[1:depth]))})")
        text = (f"CASE WHEN starts_with({node}::VARCHAR, {lit(chr(34) + chr(92) + 'u0001')}) THEN 'number' "
                "ELSE 'string' END") if marked else "'string'"
        kind = (f"CASE json_type({node}) WHEN 'VARCHAR' THEN {text} WHEN 'ARRAY' THEN 'array' "
                f"WHEN 'BOOLEAN' THEN 'boolean' ELSE 'number' END")
        branches.append(f"WHEN json_type({node}) NOT IN ('OBJECT', 'NULL') "
                        f"THEN concat('a JSON ', {kind}, ' at ', {lit('$.' + '.'.join(parts[:depth]))}, "
                        f"{lit(' where the contract path $.' + '.'.join(parts) + ' expects an object')})")
    return "CASE " + " ".join(branches) + " END"


def _repeated_key_sql(parts: list[str]) -> str:
    """SQL of why a nested path ``$.a.b...`` cannot be read: the first object on its way (``$.a``, ...) that repeats a
    key (``{"a": {"b": 1, "b": 9}}``), as ``"a JSON object at $.a repeats a key"``; NULL when none does. JSON's
    extraction would give the first value of the repeated key, a guess (a repeated top-level key is ``_DOC_OK``'s)."""
    branches = []
    for depth in range(1, len(parts)):
        node = (f"m[{lit(parts[0])}]" if depth == 1
                else f"json_extract(m[{lit(parts[0])}], {lit('$.' + '.'.join(parts[1:depth]))})")
        branches.append(f"WHEN json_type({node}) = 'OBJECT' AND len(json_keys({node})) <> "
                        f"len(list_distinct(json_keys({node}))) "
                        f"THEN {lit('a JSON object at $.' + '.'.join(parts[:depth]) + ' repeats a key')}")
    return "CASE " + " ".join(branches) + " END"


def _inner_paths(patch: dict, trail: tuple[str, ...] = ()) -> list[list[str]]:
    """The key paths of the objects inside a merge patch, deepest first (``{"y": {"z": None}}`` -> ``[["y"]]``)."""
    out: list[list[str]] = []
    for key, child in patch.items():
        if isinstance(child, dict):
            out += _inner_paths(child, (*trail, key)) + [[*trail, key]]
    return out


def json_columns_sql(entity: Entity, marked: bool = False) -> tuple[str, str]:
    """(per-column value SQL from the map ``m``, ``_extra`` SQL). Top-level keys come straight from the
    map; nested paths from the parent's JSON; aliases are tried after the name. Each column ``i`` also gets
    ``_pk<i>`` (VARCHAR): why the record cannot give the column a value, else NULL: its nested contract path
    is blocked by a parent that is a string, array ... (``_parent_kind_sql``), or its name and an alias both hold
    one (CSV refuses such a header); validation quarantines such a record with that reason.
    ``marked``: numbers were rewritten by ``exact_numbers_sql`` (the careful routes)."""
    cols, top_known, parents = [], set(), {}
    for i, c in enumerate(entity.columns):
        options = []
        for path in [c.json_path] + [f"$.{a}" for a in c.aliases]:
            parts = json_path_parts(path)
            if parts is None:
                raise FileRejected(f"contract JSON path {path!r} of column {c.name!r} is not a simple $.a.b path")
            top_known.add(parts[0])
            if len(parts) == 1:
                options.append(f"m[{lit(parts[0])}]")
            else:
                parents.setdefault(parts[0], []).append(parts[1:])
                options.append(f"json_extract(m[{lit(parts[0])}], {lit('$.' + '.'.join(parts[1:]))})")
        value = f"coalesce({', '.join(options)})" if len(options) > 1 else options[0]
        parts = json_path_parts(c.json_path)
        blocked = (f"coalesce({_repeated_key_sql(parts)}, CASE WHEN {value} IS NULL THEN {_parent_kind_sql(parts, marked)} "
                   "END)" if len(parts) > 1 else "NULL::VARCHAR")
        if len(options) > 1:  # the name and an alias (or two aliases) both hold a value: which one is meant is unclear
            names = [c.json_path] + [f"$.{a}" for a in c.aliases]
            present = " + ".join(f"coalesce({o}::VARCHAR <> 'null', false)::INT" for o in options)
            blocked = (f"CASE WHEN {present} > 1 THEN {lit('more than one of ' + ', '.join(names) + ' holds a value')} "
                       f"ELSE {blocked} END")
        cols.append(f"{value} AS {ident(c.name)}, {blocked} AS {ident(f'_pk{i}')}")
    known = "[" + ", ".join(lit(k) for k in sorted(top_known)) + "]"
    present = " + ".join(f"map_contains(m, {lit(k)})::INT" for k in sorted(top_known))
    # a record that repeats a key is quarantined (_DOC_OK); its extra keys are not gathered (a MAP cannot hold them)
    top_extra = (f"CASE WHEN cardinality(m) > {present} AND {_DOC_OK} THEN to_json(map_from_entries("
                 f"list_filter(map_entries(m), e -> NOT list_contains({known}, e.key)))) END")
    pieces = [top_extra]
    for parent, subs in parents.items():
        patch: dict = {}
        for sub in subs:
            node = patch
            for key in sub[:-1]:
                node = node.setdefault(key, {})
            node[sub[-1]] = None
        left = f"json_merge_patch(m[{lit(parent)}], {lit(json.dumps(patch))})"
        # objects the patch emptied on the way to a deeper path ($.x.y.z leaves {"y": {}}) are not extra keys: dropped,
        # deepest first
        for keys in _inner_paths(patch):
            nulled: dict = {}
            node = nulled
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = None
            path = "$." + ".".join(f'"{k}"' for k in keys)
            left = (f"CASE WHEN json_extract({left}, {lit(path)})::VARCHAR = '{{}}' "
                    f"THEN json_merge_patch({left}, {lit(json.dumps(nulled))}) ELSE {left} END")
        pieces.append(f"CASE WHEN json_type(m[{lit(parent)}]) = 'OBJECT' AND {left}::VARCHAR NOT IN ('{{}}') "
                      f"THEN json_object({lit(parent)}, {left}) END")
    # the pieces have no top-level key in common: joined as text (a merge patch would drop every key holding null,
    # {"custom_fields": {"cf_other": null}} as {"custom_fields": {}}: a key the export sent, gone from drift too)
    extra = pieces[0] if len(pieces) == 1 else (
        "nullif('{' || array_to_string(list_transform(list_filter([" + ", ".join(f"({p})::VARCHAR" for p in pieces)
        + "], x -> x IS NOT NULL AND x <> '{}'), x -> x[2:-2]), ',') || '}', '{}')::JSON")
    if marked:  # keys no column takes keep their numbers as the file wrote them, never the route's mark
        extra = f"{unmark_numbers_sql(f'({extra})::VARCHAR')}::JSON"
    return ", ".join(cols), extra


# A record is an object when it parsed into a MAP with each key once: DuckDB's JSON-to-MAP conversion keeps a
# repeated key twice ({"a": 1, "a": 2}), and m['a'] would then silently give the first value; which one the
# export meant is unclear, so such a record is quarantined (loader._not_object_reason says why).
_DOC_OK = "(m IS NOT NULL AND cardinality(m) = len(list_distinct(map_keys(m))))"


def json_fast_source(entity: Entity, batches: list[Batch]) -> str:
    """DuckDB's JSON reader, each record parsed once into a MAP of JSON values (malformed lines and
    non-object records come out as a NULL map, in place: numbering stays aligned). Blank lines are
    skipped by the reader, so files with blank lines take the line route instead."""
    cols, extra = json_columns_sql(entity)
    files = _paths(batches)
    line = expected_line_sql(batches, 0) if entity.format.type == "ndjson" else "_rn"
    opts = f"records=false, filename=true, maximum_object_size={MAX_LINE_BYTES}{_comp(batches[0])}"
    if entity.format.type == "ndjson":
        return (f"SELECT {line} AS _rn, _file, {_DOC_OK} AS _doc_ok, {extra} AS _extra, {cols} FROM ("
                f"SELECT row_number() OVER () AS _rn, {rel_name(batches)} AS _file, m FROM read_json({files}, "
                f"format='newline_delimited', columns={{'m': 'MAP(VARCHAR, JSON)'}}, ignore_errors=true, {opts}))")
    # ignore_errors is off for documents: a broken array must fail (the reader would stop early silently)
    # arrays are small master-data documents: each element is kept as text for quarantine
    return (f"SELECT _rn, _file, {_DOC_OK} AS _doc_ok, _rawdoc, {extra} AS _extra, {cols} FROM ("
            f"SELECT _rn, _file, coalesce(j::VARCHAR, 'null') AS _rawdoc, try(from_json(j, '\"MAP(VARCHAR, JSON)\"')) AS m FROM ("
            f"SELECT row_number() OVER () AS _rn, {rel_name(batches)} AS _file, j FROM read_json({files}, format='array', "
            f"columns={{'j': 'JSON'}}, {opts})))")


# Numbers are rewritten to JSON strings marked with U+0001 before parsing, so their digits survive
# exactly (DuckDB's JSON parser reads numbers as doubles). Strings are matched first and kept as they are.
_NUMBER_OR_STRING = r'("(?:[^"\\]|\\.)*")|(-?[0-9][0-9.eE+-]*)'
# A string of the file that itself starts with U+0001 (escaped, or the raw byte) would read as a marked number:
# ``"\u000112"`` as the number 12. Real exports never write one; such a record (an array: its document) is refused
# rather than guessed: RESERVED_MARK says why. The pattern walks the text token by token from the start, so a
# quote inside a string is never taken for the start of one.
_RESERVED_STRING = r'^(?:[^"]|"(?:[^"\\]|\\.)*")*"(?:\\u0001|\x01)'
RESERVED_MARK = ("a string value starts with the control character U+0001, which the loader reserves to keep the "
                 "file's numbers exact")


def reserved_mark_sql(text: str) -> str:
    """SQL flag: the JSON text ``text`` holds a string starting with U+0001 (a cheap ``contains`` first)."""
    return (f"((contains({text}, {lit(chr(92) + 'u0001')}) OR contains({text}, chr(1))) "
            f"AND regexp_matches({text}, {lit(_RESERVED_STRING)}))")


def exact_numbers_sql(text: str) -> str:
    return (f"replace(replace(replace(regexp_replace({text}, {lit(_NUMBER_OR_STRING)}, "
            f"'\\1' || chr(1) || '\\2' || chr(2), 'g'), chr(1) || chr(2), ''), chr(1), '\"\\u0001'), chr(2), '\"')")


def json_lines_source(entity: Entity, lines_table: str) -> str:
    """NDJSON from numbered physical lines ``lines_table(_file, _line, l)``: exact numbers, exact lines."""
    cols, extra = json_columns_sql(entity, marked=True)
    return (f"SELECT _line AS _rn, _file, {_DOC_OK} AND NOT _reserved AS _doc_ok, {extra} AS _extra, {cols} FROM ("
            f"SELECT _file, _line, {reserved_mark_sql('l')} AS _reserved, "
            f"try(from_json({exact_numbers_sql('l')}, '\"MAP(VARCHAR, JSON)\"')) AS m "
            f"FROM {lines_table} WHERE l IS NOT NULL AND trim(l, ' \t\r') <> '')")


def json_array_exact_source(entity: Entity, batch: Batch) -> str:
    """One JSON array document with exact numbers: the elements, numbered from 1."""
    cols, extra = json_columns_sql(entity, marked=True)
    return (f"SELECT _rn, _file, {_DOC_OK} AS _doc_ok, _rawdoc, {extra} AS _extra, {cols} FROM ("
            f"SELECT _file, _rn, coalesce({unmark_numbers_sql('e::VARCHAR')}, 'null') AS _rawdoc, "
            f"try(from_json(e, '\"MAP(VARCHAR, JSON)\"')) AS m FROM (SELECT {lit(batch.rel)} AS _file, "
            f"generate_subscripts(a, 1) AS _rn, unnest(a) AS e FROM ("
            f"SELECT CASE WHEN {reserved_mark_sql('content')} THEN error({lit(RESERVED_MARK)}) ELSE "
            f"coalesce(from_json({exact_numbers_sql('content')}, '[\"JSON\"]'), error('the document does not "
            f"parse as a JSON array')) END AS a FROM (SELECT CASE WHEN starts_with(content, chr(65279)) "
            f"THEN substr(content, 2) ELSE content END AS content FROM read_text({lit(str(batch.path))})))))")
