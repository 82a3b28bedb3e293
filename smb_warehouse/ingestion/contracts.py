"""Source contracts, declared once as data in ``contracts/<system>.yml``.

A contract says, per source entity: where its batch files land, how they are encoded, which columns
exist (with type, required flag, accepted values, pattern, aliases for renamed columns, JSON path) and
which columns form the key. Everything downstream reads this one model: the generic loader, the raw
table DDL, the Dagster asset factory and the tests. Nothing here touches data.

File options (``format:`` at the top of a contract, overridable per entity):

* ``type``: ``csv`` | ``ndjson`` (one JSON object per line) | ``json_array`` (one array of objects).
* ``delimiter`` (csv, default ``,``), ``header`` (csv, default true), ``quote`` (csv, default ``"``; one
  character: a quote inside an unquoted value is read literally, so exports that never quote keep it),
  ``escape`` (csv, default: the quote doubled, ``""``, as RFC 4180 writes it; ``'\\'`` for backslash-escaped
  exports such as MySQL's ``SELECT ... INTO OUTFILE``: ``"27\\" monitor"``; its unquoted ``\\N`` is no value, and a
  file with an escape DuckDB's reader would not read as the export meant, ``\\t``, ``\\0``, an unquoted ``\\\\``,
  is refused naming the line). Under the default, a value that runs
  over lines and holds a backslash before a quote is quarantined with that hint: it is how a backslash-escaped
  export reads when declared as RFC 4180 (the escaped quote ends nothing and the next records join the value). A file
  holding a NUL byte is read by the strict CSV route (the fast one uses NUL as its null marker).
* ``encoding``: ``utf-8`` (default; a UTF-8 byte-order mark is allowed), ``utf-16`` (with BOM),
  ``latin-1`` / ``iso-8859-1``, ``cp1252`` / ``windows-1252`` (Windows exports; read through DuckDB's
  ``encodings`` extension, installed from the package registry as ``duckdb-extension-encodings``). A file
  whose non-ASCII bytes are all valid UTF-8 under a latin-1/cp1252 contract is refused: it is UTF-8, and
  read as the contract says its accented letters would load garbled (``é`` as ``Ã©``).
* ``extensions``: file name endings that hold this entity's data, matched case-insensitively. Default
  ``[.csv]`` for csv, ``[.ndjson, .jsonl]`` for ndjson, ``[.json]`` for json_array; add ``.txt`` or
  ``.tsv`` where a system names its CSV exports so. Each may also arrive compressed as ``<ext>.gz`` or
  ``<ext>.zst`` (``compression: auto``, the default; ``none`` turns that off). ``glob`` (optional) narrows
  the names further (``fnmatch`` pattern, case-insensitive). Every other file in the folder is recorded
  in ``raw.load_audit`` as ``ignored`` with the reason, never silently skipped.
* ``date_formats`` (default ``['%Y-%m-%d']``): strptime formats tried in order (a value whose shape fits a
  format but is no date in it, ``31/12/2024`` under ``%m/%d/%Y``, goes on to the next), matched strictly:
  ``%Y`` is exactly four digits (use ``%y`` only where a system really writes two-digit years), ``%d``/``%m``
  one or two digits, but two when a numeric directive touches them with no literal between (``%d%m%Y`` takes
  eight digits: ``3112024`` is quarantined, never 31 Dec 0024), everything else literally. Timestamps
  accept every ISO 8601 form real exports write (``T``/``t``/space, with or without seconds and fractions,
  ``Z``/``z``/``+hh:mm``/``+hhmm``/``+hh``) and these formats; values with an offset are converted to UTC,
  values without one are taken as UTC. An offset must be a real one (hours 00-23, minutes 00-59: ``+25:00``
  is quarantined, never shifted). A timestamp column's own ``formats`` may end in ``%z`` (same UTC result on
  every machine, whatever its time zone); a date format may not (a date is a calendar day: the contract is
  refused).
* ``decimal_separator`` (``.`` or ``,``) and ``thousands_separator`` (default none; a JSON entity does not take
  them from a CSV system format unless it declares them itself): a decimal must use
  exactly these; thousands groups must be full groups of three after a first group without a leading
  zero (``1.234,56``; ``0.125`` is never 125). Any other shape (currency signs, spaces, the other
  convention) is quarantined.
* ``null_tokens`` (default ``[NULL, null, N/A, n/a, '#N/A']``): cell texts that mean "no value", in every
  column type including text (an empty or blank cell, and JSON ``null``, always mean no value). A
  required column holding one is quarantined; an optional one is NULL and never costs the row.
* ``trim`` (default true): strip leading/trailing whitespace of text values before the null-token,
  pattern and accepted-value checks, so the checks see exactly the value staging sees. Other types are
  always trimmed.
* Completeness (a file is loaded only once it is complete): ``unterminated_last_line``: ``hold`` (default:
  a csv/ndjson file whose last byte is not a line break is still being written: it is recorded as
  ``held`` and loaded by a later run once complete), ``quarantine`` (load it, quarantining the cut last
  record), or ``accept`` (only together with ``done_marker``). ``done_marker`` (e.g. ``.done``): a data
  file is loaded only once ``<file name><marker>`` (in any letter case) exists beside it and is not older than it
  (a marker left from an earlier delivery does not vouch for a file written since). ``min_quiet_seconds`` (default 0): a
  file modified less than this long ago is held. A file whose name was loaded before with other content
  *supersedes* it: the old rows leave raw and quarantine in the same transaction (audit status
  ``superseded``).

System and entity names are lower case letters, digits and single underscores (they name the raw table
``<system>__<entity>``), one contract file per system, and every JSON path a simple ``$.key.key``: a contract that
breaks one of these is refused when it is read, not at the first load. So is a column name starting with ``_`` (the
loader's own columns; list such an export name under ``aliases``), two column names differing only in case, a name
or alias leading to two columns, a format directive the loader does not check (``%Z``), an empty ``date_formats``,
a pattern DuckDB's RE2 does not compile, a decimal precision below the default scale without a scale, and a flag
that is not true/false. The YAML is read as written: an unquoted list item is its text (``[NULL, NO, 01]``, not
null, false and 1, see ``_ContractLoader``), and one text where a list is expected is a one-item list
(``null_tokens: 'N/A'``).

Column options: ``type`` (string, integer, decimal, date, timestamp, boolean), ``required`` (always, for the
columns of the ``primary_key``, as in SQL), ``pii``,
``description``, ``pattern`` (full match), ``accepted_values``, ``aliases`` (renamed headers / JSON keys),
``path`` (JSON path ``$.a.b``; a record where a parent on the path is present but not an object, e.g. ``a`` a
string, is quarantined, never loaded as NULL), ``formats`` (date/timestamp formats for this column), ``precision`` and
``scale`` (decimal, default 18 and 4: a value with more integer or fraction digits than declared is
quarantined, never rounded), ``null_tokens`` and ``trim`` (override the file's).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from smb_warehouse.core.paths import CONTRACTS_DIR

# Contract type -> DuckDB type of the raw column. Decimals default to DECIMAL(18,4) (every money or
# quantity figure an SME exports, without float rounding; a column may declare its own precision/scale);
# timestamps are stored naive in UTC (converted on load).
RAW_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,4)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}
DEFAULT_PRECISION, DEFAULT_SCALE = 18, 4
FILE_FORMATS = ("csv", "ndjson", "json_array")
DEFAULT_EXTENSIONS = {"csv": (".csv",), "ndjson": (".ndjson", ".jsonl"), "json_array": (".json",)}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
DEFAULT_NULL_TOKENS = ("NULL", "null", "N/A", "n/a", "#N/A")
ENCODINGS = {  # contract spelling -> DuckDB read_csv/read_json encoding name
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8",
    "utf-16": "utf-16", "utf16": "utf-16",
    "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1",
    "cp1252": "cp1252", "windows-1252": "cp1252",
}
LAST_LINE_RULES = ("hold", "quarantine", "accept")
RAW_SCHEMA = "raw"
# Metadata columns every raw table carries, so each row traces back to its file and line.
METADATA_COLUMNS: dict[str, str] = {
    "_load_id": "VARCHAR",
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_loaded_at": "TIMESTAMP",
    "_extra_columns": "JSON",
}


class ContractError(ValueError):
    """A contract file itself is invalid (not the data it describes)."""


@dataclass(frozen=True)
class FileFormat:
    type: str = "csv"
    delimiter: str = ","
    quote: str = '"'
    escape: str | None = None  # None: the quote doubled (RFC 4180); '\\' for backslash-escaped exports (MySQL)
    encoding: str = "utf-8"
    header: bool = True
    date_formats: tuple[str, ...] = ("%Y-%m-%d",)
    decimal_separator: str = "."
    thousands_separator: str | None = None
    glob: str | None = None
    extensions: tuple[str, ...] | None = None
    compression: str = "auto"
    null_tokens: tuple[str, ...] = DEFAULT_NULL_TOKENS
    trim: bool = True
    unterminated_last_line: str = "hold"
    done_marker: str | None = None
    min_quiet_seconds: float = 0

    @property
    def escape_char(self) -> str:
        """The character that escapes a quote inside a quoted value (the quote itself unless declared)."""
        return self.escape or self.quote

    @property
    def file_extensions(self) -> tuple[str, ...]:
        """Accepted name endings, lower case, without compression suffixes."""
        return tuple(e.lower() for e in (self.extensions or DEFAULT_EXTENSIONS[self.type]))

    @property
    def file_glob(self) -> str:
        """A glob of the primary name form (``*.csv``); discovery also takes the other extensions, any
        letter case and compressed files (see ``discovery.py``)."""
        return self.glob or "*" + self.file_extensions[0]

    @property
    def duckdb_encoding(self) -> str:
        return ENCODINGS[self.encoding.lower()]


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    pii: bool = False
    pattern: str | None = None
    accepted_values: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    path: str | None = None  # JSON path for JSON formats; defaults to $.<name>
    formats: tuple[str, ...] | None = None  # date/timestamp formats overriding the file's
    precision: int | None = None  # decimal only
    scale: int | None = None  # decimal only
    null_tokens: tuple[str, ...] | None = None  # overrides the file's
    trim: bool | None = None  # overrides the file's

    @property
    def raw_type(self) -> str:
        if self.type == "decimal":
            return f"DECIMAL({self.precision or DEFAULT_PRECISION},{self.scale if self.scale is not None else DEFAULT_SCALE})"
        return RAW_TYPES[self.type]

    @property
    def precision_scale(self) -> tuple[int, int]:
        return (self.precision or DEFAULT_PRECISION, self.scale if self.scale is not None else DEFAULT_SCALE)

    @property
    def json_path(self) -> str:
        return self.path or f"$.{self.name}"


@dataclass(frozen=True)
class Entity:
    system: str
    name: str
    description: str
    format: FileFormat
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def raw_table(self) -> str:
        """Table name inside the raw schema, e.g. ``erp__customers``."""
        return f"{self.system}__{self.name}"

    @property
    def qualified_raw_table(self) -> str:
        return f"{RAW_SCHEMA}.{self.raw_table}"

    @property
    def asset_key_path(self) -> list[str]:
        """The Dagster asset key of the ingestion asset (dbt sources point at it)."""
        return [RAW_SCHEMA, self.system, self.name]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.system}.{self.name} has no column {name!r}")

    def landing_dir(self, landing_root: Path) -> Path:
        return landing_root / self.system / self.name

    def raw_ddl(self) -> str:
        cols = [f'"{c.name}" {c.raw_type}' for c in self.columns]
        cols += [f"{name} {typ}" for name, typ in METADATA_COLUMNS.items()]
        return f"CREATE TABLE IF NOT EXISTS {self.qualified_raw_table} ({', '.join(cols)})"


@dataclass(frozen=True)
class SystemContract:
    system: str
    description: str
    path: Path
    entities: dict[str, Entity] = field(default_factory=dict)


class _ContractLoader(yaml.SafeLoader):
    """YAML as contracts mean it: a plain (unquoted) item of a list is the text written. Plain YAML would read
    ``[NULL, N/A]`` as ``[None, 'N/A']``, ``[DE, NO, SE]`` as ``['DE', False, 'SE']`` and ``[01, 02]`` as ``[1, 2]``:
    null tokens and accepted values that are not what the contract says (the NULL cell loads as the text 'NULL',
    Norway is quarantined and 'False' accepted). Scalars outside lists keep their YAML types (``header: true``)."""

    def compose_node(self, parent, index):
        node = super().compose_node(parent, index)
        if isinstance(parent, yaml.SequenceNode) and isinstance(node, yaml.ScalarNode) and node.style is None:
            node.tag = "tag:yaml.org,2002:str"
        return node


def _texts(value: Any, where: str, option: str) -> tuple[str, ...] | None:
    """A list option's texts: a list of texts, or one text as a one-item list (``null_tokens: 'N/A'`` is
    ``['N/A']``, not the characters N, /, A). None when the option is not set. Raises ContractError for anything
    else (``null_tokens: NULL`` is YAML's null, ``accepted_values: yes`` its true: not the texts written)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ContractError(f"{where}: {option} must be a list of texts (quote them: ['NULL', 'N/A']), not {value!r}")


def _tuple(value: Any, where: str = "contract", option: str = "list") -> tuple[str, ...]:
    return _texts(value, where, option) or ()


def _flag(raw: dict[str, Any], key: str, where: str, default: bool | None) -> bool | None:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ContractError(f"{where}: {key} must be true or false, not {value!r}")
    return value


_TUPLE_OPTIONS = ("date_formats", "extensions", "null_tokens")


def _parse_format(raw: dict[str, Any] | None, base: FileFormat | None, where: str) -> FileFormat:
    merged: dict[str, Any] = dict(base.__dict__) if base else {}
    for key, value in (raw or {}).items():
        if key not in FileFormat.__dataclass_fields__:
            raise ContractError(f"{where}: unknown format option {key!r}")
        if key in _TUPLE_OPTIONS and value is None:  # `null_tokens: NULL` / `null_tokens:`: YAML's null, not a list
            raise ContractError(f"{where}: {key} must be a list of texts (quote them: ['NULL', 'N/A']), not {value!r}")
        merged[key] = _texts(value, where, key) if key in _TUPLE_OPTIONS else value
    if base is not None and base.type == "csv" and merged.get("type") != "csv":
        # a JSON entity of a system whose file format is CSV does not take the CSV's number conventions unless it
        # declares them: JSON writes numbers with a '.', and under an inherited thousands '.' a string "1.234"
        # would load as 1234 beside the number 1.234 loading as 1.234
        for option in ("decimal_separator", "thousands_separator"):
            if option not in (raw or {}):
                merged[option] = FileFormat.__dataclass_fields__[option].default
    fmt = FileFormat(**merged)
    if fmt.type not in FILE_FORMATS:
        raise ContractError(f"{where}: format type {fmt.type!r} not one of {FILE_FORMATS}")
    if fmt.encoding.lower() not in ENCODINGS:
        raise ContractError(f"{where}: encoding {fmt.encoding!r} not one of {sorted(ENCODINGS)}")
    if not isinstance(fmt.quote, str) or len(fmt.quote) != 1 or fmt.quote in ("\n", "\r") or fmt.quote in fmt.delimiter:
        raise ContractError(f"{where}: quote must be one character other than the delimiter and a line break (a quote "
                            f"inside an unquoted value is read literally, so exports that never quote keep the default), "
                            f"not {fmt.quote!r}")
    if fmt.escape is not None and (not isinstance(fmt.escape, str) or len(fmt.escape) != 1
                                   or fmt.escape in ("\n", "\r") or fmt.escape in fmt.delimiter):
        raise ContractError(f"{where}: escape must be one character other than the delimiter and a line break "
                            f"(the quote itself by default, as RFC 4180 writes it), not {fmt.escape!r}")
    if not isinstance(fmt.delimiter, str) or not fmt.delimiter or "\n" in fmt.delimiter or "\r" in fmt.delimiter:
        raise ContractError(f"{where}: delimiter must be one or more characters other than a line break, "
                            f"not {fmt.delimiter!r}")
    if fmt.decimal_separator not in (".", ","):
        raise ContractError(f"{where}: decimal_separator must be '.' or ','")
    if fmt.thousands_separator is not None and fmt.thousands_separator in (fmt.decimal_separator, fmt.delimiter):
        raise ContractError(f"{where}: thousands_separator must differ from the decimal separator and the delimiter")
    if fmt.compression not in ("auto", "none"):
        raise ContractError(f"{where}: compression must be 'auto' or 'none'")
    if fmt.unterminated_last_line not in LAST_LINE_RULES:
        raise ContractError(f"{where}: unterminated_last_line must be one of {LAST_LINE_RULES}")
    if fmt.unterminated_last_line == "accept" and not fmt.done_marker:
        raise ContractError(f"{where}: unterminated_last_line 'accept' needs a done_marker (nothing else proves "
                            "that a file without a final line break is complete)")
    if not fmt.date_formats:
        raise ContractError(f"{where}: date_formats needs at least one format")
    _check_formats(fmt.date_formats, where, "date_formats")
    if any("%z" in f for f in fmt.date_formats):
        raise ContractError(f"{where}: date_formats cannot hold a UTC offset (%z): a date is a calendar day; declare "
                            "the column as a timestamp to keep the instant")
    if any(not e.startswith(".") for e in fmt.file_extensions):
        raise ContractError(f"{where}: extensions must start with '.'")
    return fmt


_DIRECTIVES = {"Y": "[0-9]{4}", "y": "[0-9]{2}", "m": "[0-9]{1,2}", "d": "[0-9]{1,2}", "H": "[0-9]{1,2}",
               "I": "[0-9]{1,2}", "M": "[0-9]{2}", "S": "[0-9]{2}", "f": "[0-9]{1,6}", "p": "[AaPp][Mm]",
               "b": "[A-Za-z]{3,9}", "B": "[A-Za-z]{3,9}", "a": "[A-Za-z]{2,9}", "A": "[A-Za-z]{2,9}",
               "j": "[0-9]{1,3}", "z": "(?:[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9]|Z)", "%": "%"}
_NUMERIC = set("YymdHIMSfj")
_FIXED = {"m": "[0-9]{2}", "d": "[0-9]{2}", "H": "[0-9]{2}", "I": "[0-9]{2}", "j": "[0-9]{3}", "f": "[0-9]{6}"}


def format_regex(fmt: str) -> str:
    """A strict RE2 pattern for a strptime format: ``%Y`` exactly four digits, literals literal. A numeric
    directive that touches another one with no literal between (``%d%m%Y``, ``%Y%m%d``, ``%H%M%S``) is fixed
    width (``%d`` two digits): otherwise ``3112024`` (03112024 that lost its leading zero) would pass the shape
    check and strptime, reading greedily, would make it 31 Dec 0024."""
    tokens, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            if directive not in _DIRECTIVES:
                raise ValueError(f"unsupported format directive %{directive} in {fmt!r}")
            tokens.append(("%", directive))
            i += 2
        else:
            tokens.append(("", fmt[i]))
            i += 1
    out = []
    for k, (kind, text) in enumerate(tokens):
        if not kind:
            out.append(re.escape(text))
            continue
        touching = any(0 <= j < len(tokens) and tokens[j][0] == "%" and tokens[j][1] in _NUMERIC for j in (k - 1, k + 1))
        out.append(_FIXED[text] if touching and text in _FIXED and text in _NUMERIC else _DIRECTIVES[text])
    return "".join(out)


def _check_formats(formats: tuple[str, ...], where: str, option: str) -> None:
    """Every strptime format uses only the directives the loader checks a value's shape with (else every load of
    the entity would fail with no file named)."""
    for f in formats:
        has = {d: f"%{d}" in f for d in "YymbBdj"}
        if not (has["Y"] or has["y"]) or not (has["j"] or ((has["m"] or has["b"] or has["B"]) and has["d"])):
            # strptime fills what a format lacks from 1900-01-01: DATEV's '%d%m' would load every date in 1900
            raise ContractError(f"{where}: {option}: {f!r} does not name the year, month and day (%Y or %y, %m or "
                                f"%b, %d; or %j): the missing parts would be made up")
        try:
            format_regex(f)
        except ValueError as exc:
            raise ContractError(f"{where}: {option}: {exc} (the loader checks the shape of "
                                f"{' '.join('%' + d for d in _DIRECTIVES)})") from None


def _check_pattern(pattern: Any, where: str) -> None:
    """A column pattern is a text DuckDB's regular expressions (RE2) compile: Python-only syntax such as look-ahead
    ``(?!...)`` would otherwise reject every data file as unreadable, blaming the file."""
    import duckdb

    if not isinstance(pattern, str):
        raise ContractError(f"{where}: pattern must be a text (quote it), not {pattern!r}")
    try:
        duckdb.connect().execute("SELECT regexp_full_match('', ?)", [pattern]).fetchall()
    except duckdb.Error as exc:
        raise ContractError(f"{where}: pattern {pattern!r} is not a regular expression DuckDB (RE2) reads: "
                            f"{str(exc).splitlines()[0]}") from None


def _parse_column(name: str, raw: dict[str, Any], where: str) -> Column:
    if not isinstance(name, str) or not name or name.startswith("_"):
        raise ContractError(f"{where}.{name}: a column name must not start with '_' (the loader's own columns do, such "
                            f"as _source_file); name it without, and list the export's name under aliases")
    if not isinstance(raw, dict):
        raise ContractError(f"{where}.{name}: a column is a mapping of options ({{type: string}}), not {raw!r}")
    unknown = set(raw) - set(Column.__dataclass_fields__)
    if unknown:
        raise ContractError(f"{where}.{name}: unknown column option(s) {sorted(unknown)}")
    if raw.get("type") not in RAW_TYPES:
        raise ContractError(f"{where}.{name}: type {raw.get('type')!r} not one of {sorted(RAW_TYPES)}")
    values = raw.get("accepted_values")
    if (raw.get("precision") is not None or raw.get("scale") is not None) and raw["type"] != "decimal":
        raise ContractError(f"{where}.{name}: precision/scale only apply to decimal columns")
    precision, scale = raw.get("precision"), raw.get("scale")
    if precision is not None and not 1 <= int(precision) <= 38:
        raise ContractError(f"{where}.{name}: precision must be 1..38")
    if scale is not None and not 0 <= int(scale) <= int(precision or DEFAULT_PRECISION):
        raise ContractError(f"{where}.{name}: scale must be 0..precision")
    if scale is None and precision is not None and int(precision) < DEFAULT_SCALE:
        raise ContractError(f"{where}.{name}: precision {precision} needs a scale (0..{precision}): the default scale "
                            f"is {DEFAULT_SCALE}")
    column_where = f"{where}.{name}"
    for key in ("accepted_values", "aliases", "formats", "null_tokens"):
        if key in raw and raw[key] is None:  # `null_tokens: NULL` is YAML's null, which would mean "not set"
            raise ContractError(f"{column_where}: {key} must be a list of texts (quote them: ['NULL', 'N/A']), not None")
    formats = _texts(raw.get("formats"), column_where, "formats")
    _check_formats(formats or (), column_where, "formats")
    if raw.get("pattern") is not None:
        _check_pattern(raw["pattern"], column_where)
    if raw["type"] == "date" and any("%z" in f for f in formats or ()):
        raise ContractError(f"{where}.{name}: a date format cannot hold a UTC offset (%z): a date is a calendar day; "
                            "declare the column as a timestamp to keep the instant")
    return Column(
        name=name,
        type=raw["type"],
        required=_flag(raw, "required", column_where, False),
        description=str(raw.get("description", "")),
        pii=_flag(raw, "pii", column_where, False),
        pattern=raw.get("pattern"),
        accepted_values=_texts(values, column_where, "accepted_values"),
        aliases=_tuple(raw.get("aliases"), column_where, "aliases"),
        path=raw.get("path"),
        formats=formats or None,
        precision=int(precision) if precision is not None else None,
        scale=int(scale) if scale is not None else None,
        null_tokens=_texts(raw.get("null_tokens"), column_where, "null_tokens"),
        trim=_flag(raw, "trim", column_where, None),
    )


_NAME = re.compile(r"[a-z][a-z0-9_]*")  # system and entity names become raw table names and Dagster asset keys


def _check_json_paths(entity: Entity, where: str) -> None:
    """Every JSON path of a JSON entity is one the readers can address (``$.a.b``: keys without dots, brackets or
    quotes; an alias is a top-level key): else the first load would fail for every file, naming none."""
    if entity.format.type == "csv":
        return
    for col in entity.columns:
        for path in [col.json_path] + [f"$.{a}" for a in col.aliases]:
            if not path.startswith("$.") or any(ch in path for ch in "[]\"'*") or "" in path[2:].split("."):
                raise ContractError(f"{where}.{col.name}: JSON path {path!r} is not a simple $.key.key path (keys "
                                    "without dots, brackets or quotes)")


def parse_contract(path: Path) -> SystemContract:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_ContractLoader)
    system = doc["system"]
    if not isinstance(system, str) or not _NAME.fullmatch(system) or "__" in system:
        raise ContractError(f"{path.name}: system name {system!r} must be lower case letters, digits and single "
                            "underscores (it names the raw tables <system>__<entity>)")
    base = _parse_format(doc.get("format"), None, f"{path.name}")
    entities: dict[str, Entity] = {}
    for name, spec in doc["entities"].items():
        where = f"{path.name}:{name}"
        if not isinstance(name, str) or not _NAME.fullmatch(name) or "__" in name:
            raise ContractError(f"{where}: entity name {name!r} must be lower case letters, digits and single "
                                "underscores (it names the raw table <system>__<entity>)")
        columns = tuple(_parse_column(c, s, where) for c, s in spec["columns"].items())
        names = {c.name for c in columns}
        folded: dict[str, str] = {}
        for c in columns:  # DuckDB's and PostgreSQL's quoted names aside, SQL names are not case-sensitive
            if c.name.lower() in folded:
                raise ContractError(f"{where}: columns {folded[c.name.lower()]!r} and {c.name!r} differ only in case")
            folded[c.name.lower()] = c.name
        # a header name or JSON key finds its column by name or alias (headers in any case): one name, one column.
        # An alias that is another column's name sent that column's values to the alias's column
        owner: dict[str, str] = {}
        for c in columns:
            for label in dict.fromkeys(n.lower() for n in (c.name, *c.aliases)):
                if label in owner:
                    raise ContractError(f"{where}: {label!r} names or aliases both columns {owner[label]!r} and "
                                        f"{c.name!r}: each export name must lead to one column")
                owner[label] = c.name
        key = _tuple(spec.get("primary_key"), where, "primary_key")
        if not key or not set(key) <= names:
            raise ContractError(f"{where}: primary_key {list(key)} must name declared columns")
        # a key part is required, as in SQL: a row without one cannot be told apart or superseded (two NULL keys
        # were counted as the same key)
        columns = tuple(replace(c, required=True) if c.name in key else c for c in columns)
        entities[name] = Entity(
            system=system,
            name=name,
            description=str(spec.get("description", "")),
            format=_parse_format(spec.get("format"), base, where),
            primary_key=key,
            columns=columns,
        )
        _check_json_paths(entities[name], where)
    return SystemContract(system, str(doc.get("description", "")), path, entities)


@lru_cache(maxsize=8)
def load_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, SystemContract]:
    """All system contracts, keyed by system name. Raises ContractError when two files declare the same system
    (one would silently hide the other's entities)."""
    contracts = [parse_contract(p) for p in sorted(contracts_dir.glob("*.yml"))]
    by_system: dict[str, SystemContract] = {}
    for c in contracts:
        if c.system in by_system:
            raise ContractError(f"{c.path.name} and {by_system[c.system].path.name} both declare system {c.system!r}: "
                                "one contract file per system")
        by_system[c.system] = c
    return by_system


def all_entities(contracts_dir: Path = CONTRACTS_DIR) -> list[Entity]:
    return [e for c in load_contracts(contracts_dir).values() for e in c.entities.values()]
