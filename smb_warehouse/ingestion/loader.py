"""THE generic loader: lands every new file of one contract entity into ``raw.<system>__<entity>``.

Nothing here knows about a particular system. Per entity and run:

1. discover the landing folder (discovery.py): batch files (any extension case, compressed, aliases),
   files that are not complete yet (``held``) and files the loader will not read (``ignored``, with why);
2. stream each batch's bytes once (scan.py): sha256 (same content already loaded -> skipped), size and
   shape facts; run the whole-file checks (header, encoding, JSON shape); a file whose name was loaded
   before with other content supersedes the old version;
3. in ONE transaction: read all new files of a group (same header) with ONE DuckDB reader call, validate
   and type them in the same statement and insert every record into the raw table (failed records
   marked); turn reading order into physical line numbers; flag duplicate keys with one aggregate; move
   the failed records, with their raw text, into ``raw.quarantine``; write one ``raw.load_audit`` row per
   file. Rows never come into Python.

Invariant per file: rows_read = rows_loaded + rows_quarantined, checked on what was written, inside the
transaction. A structurally broken file (required column missing, unreadable, wrong shape) loads
nothing, is audited as 'rejected' with a message naming the file and the cause, and after all files of
the entity have been processed ``ContractViolation`` names every such file; the entity's other files
still load. If DuckDB fails reading the group, each file is tried alone to find the culprit(s).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from smb_warehouse.core.sql import ident, lit
from smb_warehouse.core.warehouse import transaction
from smb_warehouse.ingestion import lines as L
from smb_warehouse.ingestion.contracts import METADATA_COLUMNS, RAW_SCHEMA, Entity
from smb_warehouse.ingestion.discovery import discover
from smb_warehouse.ingestion.readers import (
    RESERVED_MARK,
    SPARE_FIELDS,
    Batch,
    FileRejected,
    check_json_shape,
    csv_group_source,
    json_array_exact_source,
    json_fast_source,
    json_lines_source,
    json_path_parts,
    map_header,
    read_header,
    reserved_mark_sql,
)
from smb_warehouse.ingestion.scan import FileScan, scan_file
from smb_warehouse.ingestion.validation import (
    NOT_OBJECT,
    good_rows_insert_sql,
    header_echo_sql,
    marked_rows_insert_sql,
    validated_select_sql,
)

QUARANTINE_TABLE = f"{RAW_SCHEMA}.quarantine"
AUDIT_TABLE = f"{RAW_SCHEMA}.load_audit"
# Statuses whose content hash means "this batch is in the warehouse": the same bytes are skipped.
DONE_STATUSES = ("loaded", "empty")
# Statuses recorded once per (file, content): re-running over the same landing adds no audit rows.
# "duplicate": the same bytes as a file loaded under another name (skipped, and the audit says so).
NOTED_STATUSES = ("ignored", "held", "duplicate")

_QUARANTINE_DDL = f"""CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
    load_id VARCHAR, system VARCHAR, entity VARCHAR, source_file VARCHAR, source_line BIGINT,
    column_name VARCHAR, reason VARCHAR, raw_record VARCHAR, quarantined_at TIMESTAMP)"""
_AUDIT_DDL = f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    load_id VARCHAR, system VARCHAR, entity VARCHAR, source_file VARCHAR, content_sha256 VARCHAR,
    file_bytes BIGINT, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, status VARCHAR,
    schema_drift VARCHAR, message VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP)"""
_READER_REASONS = {
    "TOO MANY COLUMNS": "more fields than the header",
    "MISSING COLUMNS": "fewer fields than the header",
    "UNQUOTED VALUE": "broken quoting (text after a closing quote, or a quoted value that never closes)",
    "LINE SIZE OVER MAXIMUM": "record longer than 16 MiB",
}
_NOT_OBJECT = NOT_OBJECT
# DuckDB's readers expand these in a path as a glob (no escape exists): a file whose path holds one is refused
_GLOB_CHARACTERS = ("*", "?", "[", "]")


def _not_object_reason(raw: str) -> str:
    """SQL of the quarantine reason of a JSON record that did not parse as an object, from its text ``raw``: not JSON
    at all, an object that repeats a key (``{"a": 1, "a": 2}``: which value is meant is unclear, so it is never
    guessed), or another JSON value (an array, a number ...)."""
    return (f"CASE WHEN NOT coalesce(json_valid({raw}), false) THEN 'malformed JSON' "
            f"WHEN {reserved_mark_sql(raw)} THEN {lit(RESERVED_MARK)} "
            f"WHEN json_type({raw}) = 'OBJECT' AND len(json_keys({raw})) <> len(list_distinct(json_keys({raw}))) "
            f"THEN 'a JSON object that repeats a key (which of its values is meant is unclear)' "
            f"ELSE 'not a JSON object' END")


class ContractViolation(Exception):
    """One or more files of an entity were structurally rejected. ``result`` holds the full outcome
    (the good files of the same entity were loaded)."""

    def __init__(self, message: str, result: EntityLoadResult):
        super().__init__(message)
        self.result = result


@dataclass
class FileLoadResult:
    source_file: str  # relative to the landing root, forward slashes
    content_sha256: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = "loaded"  # loaded | empty | rejected | skipped_already_loaded | duplicate | held | ignored
    schema_drift: list[str] = field(default_factory=list)
    message: str | None = None
    file_bytes: int = 0
    superseded: bool = False  # an earlier version of this file name was replaced


@dataclass
class EntityLoadResult:
    system: str
    entity: str
    load_id: str
    files: list[FileLoadResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one "<file>: <problem>" per rejected file

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    def with_status(self, *statuses: str) -> list[FileLoadResult]:
        return [f for f in self.files if f.status in statuses]


# --------------------------------------------------------------------------------------- tables
def ensure_ingestion_tables(con: duckdb.DuckDBPyConnection, entities: tuple[Entity, ...] | list[Entity] = ()) -> None:
    """Create the raw schema, quarantine and audit tables (and raw tables of ``entities``). Idempotent."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(_QUARANTINE_DDL)
    con.execute(_AUDIT_DDL)
    for entity in entities:
        ensure_raw_table(con, entity)


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def ensure_raw_table(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create the entity's raw table; if the contract gained columns since, add them (NULL for old rows).
    A decimal column whose declared precision/scale grew is widened (lossless); a change that could not
    hold the old values, or any other type change, raises: that is a deliberate migration, not a load."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(entity.raw_ddl())
    existing = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [RAW_SCHEMA, entity.raw_table]).fetchall())
    wanted = [(c.name, c.raw_type) for c in entity.columns] + list(METADATA_COLUMNS.items())
    for name, typ in wanted:
        if name not in existing:
            con.execute(f"ALTER TABLE {entity.qualified_raw_table} ADD COLUMN {ident(name)} {typ}")
            continue
        have, want = _DECIMAL.fullmatch(existing[name]), _DECIMAL.fullmatch(typ)
        if have and want and have.groups() != want.groups():
            (hp, hs), (wp, ws) = map(int, have.groups()), map(int, want.groups())
            if wp - ws >= hp - hs and ws >= hs:
                con.execute(f"ALTER TABLE {entity.qualified_raw_table} ALTER COLUMN {ident(name)} TYPE {typ}")
            elif wp - ws < hp - hs or ws < hs:
                raise RuntimeError(
                    f"{entity.qualified_raw_table}.{name} is {existing[name]} but the contract now says {typ}, which "
                    "cannot hold every stored value exactly: migrate the table deliberately")


# ---------------------------------------------------------------------------------------- loading
def entity_files(entity: Entity, landing_root: Path) -> list[Path]:
    """The entity's batch files that are ready to load, in name order."""
    return [f.path for f in discover(entity, landing_root) if f.action == "load"]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean_error(exc: BaseException) -> str:
    """A DuckDB error as one line: the cause, without the reader's option dump and fix-it hints."""
    text = str(exc).strip()
    for marker in ("\nPossible fixes", "\n  file =", "\nOriginal Line", "\n\n"):
        text = text.split(marker, 1)[0]
    text = re.sub(r"^(Invalid Input|Conversion|IO|Binder|Parser|Constraint) Error: ", "", text)
    if "Map keys must be unique" in text:
        text = "a JSON object repeats a key"
    if "is not utf-16 encoded" in text.lower():
        text += (" (DuckDB's UTF-16 reader takes little-endian text without characters beyond U+FFFF: an emoji or a "
                 "big-endian file is refused; export the file as UTF-8)")
    elif "is not latin-1 encoded" in text.lower():
        text += (" (a Windows 'ANSI' export writes characters such as the euro sign as bytes 0x80 to 0x9F: declare "
                 "encoding: cp1252)")
    if "\\u0001" in text:  # the exact-number route's rewritten text: show the file's numbers, no offset into it
        text = re.sub(r'"\\u0001(-?[0-9][0-9.eE+-]*)"', r"\1", re.sub(r" at byte \d+ of input", "", text))
        text = re.sub(r'"\\u0{0,3}1?(?:-?[0-9][0-9.eE+-]*)?\.\.\.', "...", text)  # a mark cut by the reader's shortening
    return " ".join(text.split())[:500]


def _searchable(path: Path, compression: str | None):
    """The file's text bytes for a regular-expression search: a memory map of a plain file (never read into Python
    whole), the decompressed bytes of a gzip one; None for an empty or unreadable file or zstd."""
    import mmap

    try:
        if compression == "gzip":
            import gzip

            with gzip.open(path, "rb") as fh:
                return fh.read()
        if compression is None and path.stat().st_size:
            with path.open("rb") as fh:
                return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, EOFError, ValueError):
        pass
    return None


def _line_at(data, pos: int) -> int:
    """The 1-based line holding byte ``pos`` (LFs counted in 4 MB slices: a memory map has no count)."""
    return sum(data[i:min(i + (1 << 22), pos)].count(b"\n") for i in range(0, pos, 1 << 22)) + 1


def _escape_problem(path: Path, compression: str | None, escape: str, quote: str, delimiter: str) -> str | None:
    """Why a file under ``escape`` (``\\``: a backslash-escaped export, as MySQL writes one) cannot be read exactly,
    or None. DuckDB's reader decodes the escape only inside quoted values, and there keeps only the character after
    it; MySQL escapes everywhere. What reads back as the export meant: inside quotes the escape before a quote,
    itself or a line break; unquoted, MySQL's ``\\N`` (its NULL, which the loader takes as no value) and text
    without the escape. Anything else is refused: ``\\t`` would load as ``t``, ``\\0`` (NUL) as ``0``, an unquoted
    ``\\\\`` as two backslashes and a quoted ``"\\\\N"`` (the text ``\\N``) as no value. The bytes are searched
    through a memory map (gzip: decompressed), never line by line in Python."""
    e, q = re.escape(escape.encode()), re.escape(quote.encode())
    patterns = [  # (regular expression, what the reader would make of it)
        # a run of escapes is read from its start: an escaped escape before a letter is fine
        (rb"(?<!" + e + rb")(?:" + e + e + rb")*" + e + rb"[^" + q + e + rb"\r\nN]", "the character after the escape alone"),
        (q + e + e + rb"N" + q, "no value (the loader takes \\N as MySQL's NULL)"),
    ]
    if len(delimiter) == 1:  # an unquoted value holding an escaped escape: DuckDB keeps both characters
        d = re.escape(delimiter.encode())
        patterns.append((rb"(?m)(?:^|" + d + rb")(?!" + q + rb")[^" + d + rb"\r\n]*" + e + e, "both characters"))
    data = _searchable(path, compression)
    if data is None:
        return None
    if data.find(quote.encode()) < 0:
        # no value is quoted (MySQL's OUTFILE without ENCLOSED BY): an escape before a line break is a line break in
        # the value, which the reader would end the record at (the value cut, the rest read as a record of its own)
        patterns.append((rb"(?<!" + e + rb")(?:" + e + e + rb")*" + e + rb"(?=\r?\n)", "the value cut at the line break, "
                         "the rest of it read as a record of its own"))
    hits = [(m.end(), m, what) for pattern, what in patterns if (m := re.search(pattern, data))]
    if not hits:
        return None
    end, found, what = min(hits, key=lambda h: h[0])
    line = _line_at(data, end)
    text = bytes(data[max(found.start(), end - 12):end]).decode("latin-1")
    return (f"escape {escape!r} at line {line} ({text!r}) that the CSV reader would not read as the export meant "
            f"(it would load {what}); under escape {escape!r} only {escape}{quote}, {escape}{escape} and {escape} before a "
            f"line break inside quotes, and an unquoted {escape}N (no value), read back exactly: fix the export, or leave "
            f"escape out of the contract if it writes {escape!r} literally")


def _line_end_problem(path: Path, compression: str | None) -> str | None:
    """Why DuckDB's CSV reader gave up on a file with its bare "state machine reached an invalid state", when the
    cause is its line ends: CRLF and bare LF mixed (two exports joined, a hand edit), or a lone CR inside a line.
    The reader takes one kind of line end per file. None when the line ends are not the cause or the file cannot
    be looked at here (zstd). The bytes are searched through a memory map, never read into Python whole."""
    data = _searchable(path, compression)
    if data is None:
        return None
    crlf = data.find(b"\r\n")
    bare_lf = re.search(rb"(?<!\r)\n", data)
    lone_cr = re.search(rb"\r(?!\n)", data)

    if crlf >= 0 and bare_lf:
        # a bare LF inside a quoted value (a line break typed in an Excel cell) is fine: name the first one outside
        # quotes (an even number of quote characters before it; loops over the bare LFs only, on a refused file)
        outside, before, parity = None, 0, 0
        for found in re.finditer(rb"(?<!\r)\n", data):
            parity = (parity + data[before:found.start()].count(b'"')) % 2
            before = found.start()
            if not parity:
                outside = found.start()
                break
        where = f"line {_line_at(data, outside)} ends" if outside is not None else "a line ends"
        return (f"mixed line ends: records end in CRLF (line {_line_at(data, crlf)}) and in a bare LF ({where} so); the CSV "
                "reader takes one kind per file: convert the file (e.g. dos2unix) or fix the export")
    if lone_cr and (crlf >= 0 or bare_lf) and (lone_cr.end() < len(data)):
        return (f"a lone CR (carriage return) inside line {_line_at(data, lone_cr.start())} of a file whose lines end in "
                f"{'CRLF' if crlf >= 0 else 'LF'}: quote that value, or remove the CR in the export")
    return None


@dataclass
class _Plan:
    csv_groups: list[list[Batch]] = field(default_factory=list)  # padded fast route
    csv_strict: list[list[Batch]] = field(default_factory=list)  # reader rejects, exact line mapping
    json_fast: list[Batch] = field(default_factory=list)
    json_lines: list[Batch] = field(default_factory=list)
    json_array_exact: list[Batch] = field(default_factory=list)


class _FilesChanged(Exception):
    """Files whose size or modification time changed between their scan and the end of their read (a writer still
    at work): what was read is not what was hashed and checked, so the transaction is rolled back."""

    def __init__(self, rels: list[str]):
        super().__init__(", ".join(rels))
        self.rels = rels


def _planned(plan: _Plan) -> list[Batch]:
    return [b for group in plan.csv_groups + plan.csv_strict for b in group] + plan.json_fast + plan.json_lines \
        + plan.json_array_exact


def _file_stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class _GroupFailed(Exception):
    def __init__(self, batches: list[Batch], kind: str, cause: BaseException | str):
        super().__init__(str(cause))
        self.batches, self.kind, self.cause = list(batches), kind, cause


def load_entity(con: duckdb.DuckDBPyConnection, entity: Entity, landing_root: Path, load_id: str) -> EntityLoadResult:
    """Load every new landed file of ``entity`` in one transaction; raise ContractViolation afterwards if
    any file was rejected (the result, with every file's outcome, is on the exception)."""
    landing_root = Path(landing_root).absolute()
    ensure_ingestion_tables(con, [entity])
    result = EntityLoadResult(entity.system, entity.name, load_id)
    started = _utcnow()
    by_rel: dict[str, FileLoadResult] = {}
    batches: list[Batch] = []
    seen: dict[str, str] = {}  # content hash -> file of this run's batches: a copy under another name is skipped
    done = _done_hashes(con, entity)
    twins: list[tuple] = []  # (found, scan, stat) of files skipped as a copy of content loaded under another name

    def admit(found, scan: FileScan, stat: tuple[int, int] | None, res: FileLoadResult) -> None:
        batch = _admit(entity, found, scan, stat, res)
        if batch is not None:
            batches.append(batch)
            seen[scan.sha256] = found.rel

    for found in discover(entity, landing_root):
        res = FileLoadResult(found.rel, None)
        result.files.append(res)
        by_rel[found.rel] = res
        if found.action == "ignored":
            res.status, res.message = "ignored", found.reason
            if found.path.is_file():
                res.content_sha256, res.file_bytes = _sha_size(found.path)
            continue
        if any(ch in str(found.path) for ch in _GLOB_CHARACTERS):
            res.status = "rejected"
            res.message = (f"the path holds one of {' '.join(_GLOB_CHARACTERS)}, which DuckDB's file readers take as a "
                           "pattern (another file would be read in its place): rename the file or folder")
            continue
        stat = _file_stat(found.path)
        try:
            scan = scan_file(found.path, compressed=found.compression or False)
        except OSError as exc:  # a broken symlink, no read permission, deleted since the listing
            res.status, res.message = "rejected", f"cannot be read: {exc.strerror or exc}"
            continue
        res.content_sha256, res.file_bytes = scan.sha256, scan.size
        if found.action == "held":
            res.status, res.message = "held", found.reason
            continue
        if scan.sha256 in seen or scan.sha256 in done:
            first = seen.get(scan.sha256) or done[scan.sha256]
            res.status = "skipped_already_loaded" if first == found.rel else "duplicate"
            if res.status == "duplicate":
                res.message = f"same content as {first}, which is loaded: skipped"
                twins.append((found, scan, stat))
            continue
        admit(found, scan, stat, res)
    # a name loaded before that now holds other content supersedes its old rows, also when that content is skipped
    # as a copy of another file (its rows are there under the other name): a fresh build would not hold the old ones
    superseded = _superseded(con, entity, [b.rel for b in batches] + [r.source_file for r in result.files
                                                                       if r.status in ("empty", "duplicate")])
    # A file superseded in this run takes its old content out of the warehouse: a copy of that content under
    # another name, skipped as its duplicate until now, is decided again in this run, as a fresh build of this
    # landing zone would load it (otherwise it would load one run later, with nothing changed in the landing zone).
    gone = {h for h, rel in done.items() if rel in superseded}
    for found, scan, stat in twins:
        if scan.sha256 in gone and scan.sha256 not in seen:
            res = by_rel[found.rel]
            res.status = res.message = None
            admit(found, scan, stat, res)
    superseded = _superseded(con, entity, [b.rel for b in batches] + [r.source_file for r in result.files
                                                                       if r.status in ("empty", "duplicate")])
    plan = _plan(con, entity, batches, landing_root)
    while True:
        # a new version that is refused (here or in an attempt below) replaces nothing: the old rows stay
        superseding = [rel for rel in superseded if by_rel[rel].status not in ("rejected", "held")]
        try:
            _load_transaction(con, entity, landing_root, load_id, plan, by_rel, superseding, result, started)
            break
        except _GroupFailed as failed:  # rolled back: find the culprit(s), then load the rest again
            _isolate(con, entity, landing_root, plan, failed, by_rel)
        except _FilesChanged as changed:  # rolled back: hold the files a writer is still changing, load the rest
            for rel in changed.rels:
                by_rel[rel].status = "held"
                by_rel[rel].message = ("changed while it was being read (size or modification time): a writer is "
                                       "still at work; it is loaded once it stops changing")
                by_rel[rel].rows_read = by_rel[rel].rows_loaded = by_rel[rel].rows_quarantined = 0
            batches = [b for b in batches if b.rel not in changed.rels]
            plan = _plan(con, entity, [b for b in batches if by_rel[b.rel].status != "rejected"], landing_root)
        except duckdb.Error as exc:  # rolled back: nothing of this run is in the warehouse
            message = f"load failed: {_clean_error(exc)}"
            for b in batches:
                res = by_rel[b.rel]
                res.status, res.message = "rejected", message
                res.rows_read = res.rows_loaded = res.rows_quarantined = 0
                res.schema_drift = []
            plan = _Plan()
    result.failures = [f"{r.source_file}: {r.message}" for r in result.files if r.status == "rejected"]
    if result.failures:
        raise ContractViolation(
            f"{len(result.failures)} file(s) of {entity.system}.{entity.name} violate the contract "
            f"and were not loaded:\n" + "\n".join(result.failures), result)
    return result


def _admit(entity: Entity, found, scan: FileScan, stat: tuple[int, int] | None, res: FileLoadResult) -> Batch | None:
    """The batch to load for a scanned new file, or None with ``res`` saying why not (held: incomplete; empty;
    rejected by the whole-file checks; held: no final line break)."""
    if not scan.complete:
        res.status, res.message = "held", scan.problem
        return None
    if scan.only_whitespace:
        res.status = "empty"
        return None
    batch = Batch(found.path, found.rel, scan, found.compression, stat=stat)
    try:
        _whole_file_checks(entity, batch)
    except FileRejected as exc:
        res.status, res.message = "rejected", str(exc)
        return None
    rule = entity.format.unterminated_last_line
    if scan.ends_with_newline is False and rule == "hold" and entity.format.type != "json_array":
        res.status = "held"
        res.message = ("no line break at the end: the file looks like it is still being written; it is loaded "
                       "once complete (contract option unterminated_last_line)")
        return None
    return batch


def _sha_size(path: Path) -> tuple[str, int]:
    scan = scan_file(path, compressed=True)
    return scan.sha256, scan.size


def _done_hashes(con: duckdb.DuckDBPyConnection, entity: Entity) -> dict[str, str]:
    """Content hash -> (first) file name of the entity's batches that are in the warehouse (the same bytes
    are skipped; under another name the skip is audited as a duplicate)."""
    return dict(con.execute(
        f"SELECT content_sha256, min(source_file) FROM {AUDIT_TABLE} WHERE system = ? AND entity = ? "
        f"AND status IN {DONE_STATUSES} GROUP BY 1", [entity.system, entity.name]).fetchall())


def _superseded(con: duckdb.DuckDBPyConnection, entity: Entity, names: list[str]) -> list[str]:
    """Files about to load whose name was loaded before with other content."""
    if not names:
        return []
    rows = con.execute(
        f"SELECT DISTINCT source_file FROM {AUDIT_TABLE} WHERE system = ? AND entity = ? AND status IN {DONE_STATUSES} "
        "AND source_file IN (SELECT unnest(?::VARCHAR[]))", [entity.system, entity.name, names]).fetchall()
    return sorted(r[0] for r in rows)


def _whole_file_checks(entity: Entity, batch: Batch) -> None:
    fmt = entity.format
    if fmt.duckdb_encoding in ("latin-1", "cp1252") and batch.scan.utf8_valid and not batch.scan.ascii_only:
        # Every non-ASCII byte sits in a valid UTF-8 sequence: the file is UTF-8 (real latin-1/cp1252 text is not
        # valid UTF-8 once it holds an accented letter next to a plain one). Read as the contract says, 'é' would
        # load as 'Ã©' with no error anywhere: refused instead.
        raise FileRejected(f"the file is UTF-8 text (every non-ASCII byte is part of a valid UTF-8 sequence) but the "
                           f"contract says {fmt.encoding}: read so, its accented letters would load garbled ('é' as "
                           "'Ã©'); declare encoding: utf-8 for this export")
    if fmt.type == "csv" and fmt.escape_char != fmt.quote:
        problem = _escape_problem(batch.path, batch.compression, fmt.escape_char, fmt.quote, fmt.delimiter)
        if problem:
            raise FileRejected(problem)
    if fmt.type == "csv":
        batch.header = read_header(batch, entity) if fmt.header else [c.name for c in entity.columns]
        map_header(entity, batch)
    else:
        check_json_shape(batch, entity)


def _plan(con: duckdb.DuckDBPyConnection, entity: Entity, batches: list[Batch], landing_root: Path) -> _Plan:
    plan = _Plan()
    if entity.format.type == "csv":
        groups: dict[tuple, list[Batch]] = {}
        for b in batches:
            # the fast route reads with NUL as its null marker: a NUL byte in the data would read as a missing field
            # mixed line ends (Excel: CRLF after a record, a bare LF inside a quoted cell): the padded reader gives up
            strict = (b.scan.line_count is None or b.scan.has_blank_lines or bool(b.scan.has_nul)
                      or bool(b.scan.mixed_line_ends))
            groups.setdefault((strict, tuple(b.header), b.compression, b.new_line, b.scan.has_quote), []).append(b)
        for key, group in groups.items():
            (plan.csv_strict if key[0] else plan.csv_groups).append(group)
        return plan
    plain = [b for b in batches if b.plain_utf8 and entity.format.duckdb_encoding == "utf-8"]
    risky = set(_risky_number_files(con, entity, plain, landing_root))
    for b in batches:
        if entity.format.type == "json_array":
            (plan.json_array_exact if b.rel in risky else plan.json_fast).append(b)
        elif b in plain and b.rel not in risky and not b.scan.has_blank_lines and b.scan.bom is None:
            # DuckDB's NDJSON reader refuses a byte-order mark on the first line ("BOM is not supported"), which
            # the fast route would take for a malformed first record: such files take the line route
            plan.json_fast.append(b)
        else:
            plan.json_lines.append(b)
    return plan


def _risky_number_files(con: duckdb.DuckDBPyConnection, entity: Entity, batches: list[Batch],
                        landing_root: Path) -> list[str]:
    """Files that take the exact-number route (numbers re-read from their text) because DuckDB's JSON reader, which
    parses a number as a double, could change what they mean: a run of 16+ digits (a number that long may not
    survive the double), a number with an exponent (``1e-400`` underflows to 0), a number under the key of a string
    column (the double's text is not what the file wrote: ``7.10`` would be stored as '7.1', ``1e2`` as '100.0'),
    or a key with a ``\\u`` escape (``"\\u0073"`` is a string column's key the name test cannot see). The test is
    a regular expression over the text: a match inside a string value only costs the slower route."""
    if not batches:
        return []
    string_keys = sorted({json_path_parts(path)[-1] for c in entity.columns if c.type == "string"
                          for path in [c.json_path] + [f"$.{a}" for a in c.aliases] if json_path_parts(path)})
    # a number with an exponent: the double may underflow to 0 (1e-400) or change its digits; an escaped character
    # (\u0073 for 's'): a key the string-key test below cannot see by its name
    pattern = (r'[0-9.]{16}|[:,\[][ \t]*-?[0-9]+(?:\.[0-9]*)?[eE]'  # a run of 16+ digits; a number with an exponent
               r'|\\u[0-9a-fA-F]{4}(?:[^"\\]|\\.)*"[ \t]*:')  # a key holding a \u escape
    if string_keys:
        pattern += '|"(?:' + "|".join(re.escape(k) for k in string_keys) + ')"[ \t]*:[ \t]*-?[0-9]'
    with _search_path(con, landing_root):
        try:
            rows = con.execute(f"SELECT substr(filename, {len(str(landing_root)) + 2}) FROM read_text("
                               f"{[str(b.path) for b in batches]!r}) WHERE regexp_matches(content, {lit(pattern)})").fetchall()
        except duckdb.Error:  # not valid UTF-8 somewhere: the line route handles every file exactly
            return [b.rel for b in batches]
    return [r[0] for r in rows]


class _search_path:
    """Relative file names for DuckDB's readers (``filename`` then is the landing-relative path)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, root: Path):
        self.con, self.root = con, root

    def __enter__(self):
        self.old = self.con.execute("SELECT current_setting('file_search_path')").fetchone()[0]
        self.con.execute(f"SET file_search_path = {lit(str(self.root))}")

    def __exit__(self, *exc):
        self.con.execute(f"SET file_search_path = {lit(self.old or '')}")


def _load_encodings(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    if entity.format.duckdb_encoding != "cp1252":
        return
    try:
        import duckdb_extension_encodings
    except ImportError as exc:  # pragma: no cover - installed with the project
        raise FileRejected("encoding cp1252 needs the package duckdb-extension-encodings") from exc
    folder = Path(duckdb_extension_encodings.__file__).parent / "extensions"
    ext = next(folder.glob("*/encodings.duckdb_extension"))
    con.execute(f"LOAD {lit(str(ext))}")


# ----------------------------------------------------------------------------------- transaction
def _load_transaction(con, entity: Entity, landing_root: Path, load_id: str, plan: _Plan,
                      by_rel: dict[str, FileLoadResult], superseded: list[str], result: EntityLoadResult,
                      started: datetime) -> None:
    prefix = f"_ing_{uuid.uuid4().hex[:12]}"
    bad = f"{load_id} (quarantine {uuid.uuid4().hex[:8]})"
    now = _utcnow()
    ctx = _Ctx(con, entity, load_id, bad, now, prefix)
    ctx.root = str(landing_root)
    try:
        _load_encodings(con, entity)
        with _search_path(con, landing_root), transaction(con):
            ctx.create_scratch()
            for rel in superseded:
                _supersede(con, entity, rel, load_id)
                if rel in by_rel:
                    by_rel[rel].superseded = True
            for group in plan.csv_groups:
                _run_group(ctx, list(group), "csv")
            for group in plan.csv_strict:
                _run_group(ctx, list(group), "csv_strict")
            if plan.json_fast:
                _run_group(ctx, plan.json_fast, "json_fast")
            if plan.json_lines:
                _run_group(ctx, plan.json_lines, "json_lines")
            for b in plan.json_array_exact:
                _run_group(ctx, [b], "json_array_exact")
            changed = [b.rel for b in _planned(plan) if b.stat is not None and _file_stat(b.path) != b.stat]
            if changed:
                raise _FilesChanged(changed)
            ctx.finish(by_rel)
            for res in result.files:
                if res.status in ("loaded", "empty", "rejected") or (
                        res.status in NOTED_STATUSES and not _noted(con, entity, res)):
                    _audit(con, entity, res, load_id, started)
    finally:
        _drop_temp(con, prefix)
        for name in ctx.scratch_files:
            Path(name).unlink(missing_ok=True)


class _Ctx:
    """Scratch state of one entity transaction."""

    def __init__(self, con, entity: Entity, load_id: str, bad: str, now: datetime, prefix: str):
        self.con, self.entity, self.load_id, self.bad, self.now, self.prefix = con, entity, load_id, bad, now, prefix
        self.root = ""  # the landing root, as the readers' absolute file names start
        self.n = 0
        self.drift: dict[str, list[str]] = {}
        self.groups: list[tuple[list[Batch], str]] = []
        self.exact_files: list[str] = []
        self.plain: dict[str, str] = {}  # plain UTF-8 files -> line terminator
        self.mixed: set[str] = set()  # files whose line ends are mixed (scan.mixed_line_ends)
        self.line_sources: dict[str, tuple] = {}  # rel -> (encoding, compression, new_line)
        self.has_spans = False
        self.scratch_files: list[str] = []

    def name(self, what: str) -> str:
        self.n += 1
        return f"{self.prefix}_{what}{self.n}"

    def create_scratch(self) -> None:
        c = self.con
        c.execute(f"CREATE TEMP TABLE {self.prefix}_rj (_file VARCHAR, _line BIGINT, _raw VARCHAR, _reason VARCHAR)")
        c.execute(f"CREATE TEMP TABLE {self.prefix}_want (_file VARCHAR, _line BIGINT, _span BIGINT)")
        c.execute(f"CREATE TEMP TABLE {self.prefix}_txt (_file VARCHAR, _line BIGINT, raw VARCHAR)")
        c.execute(f"CREATE TEMP TABLE {self.prefix}_lines (_file VARCHAR, _line BIGINT, l VARCHAR, rejected BOOLEAN)")
        c.execute(f"CREATE TEMP TABLE {self.prefix}_bad (_file VARCHAR, _line BIGINT, _column VARCHAR, _reason VARCHAR, "
                  "raw VARCHAR)")

    @property
    def markers(self) -> str:
        return f"({lit(self.load_id)}, {lit(self.bad)})"

    def finish(self, by_rel: dict[str, FileLoadResult]) -> None:
        """Quarantine every failed record with its raw text, drop them from raw, count per file."""
        c, e, p = self.con, self.entity, self.prefix
        table = e.qualified_raw_table
        rels = [b.rel for group, _ in self.groups for b in group]
        if not rels:
            return
        files = f"(SELECT unnest({lit_list(rels)}))"
        c.execute(f"INSERT INTO {p}_want SELECT _source_file, _source_line, 1 FROM {table} "
                  f"WHERE _load_id = {lit(self.bad)} AND _source_file IN {files} AND (_extra_columns->>'raw') IS NULL "
                  f"UNION SELECT _file, _line, 1 FROM {p}_rj")
        self.fetch_texts()
        qcols = "(load_id, system, entity, source_file, source_line, column_name, reason, raw_record, quarantined_at)"
        meta = f"{lit(self.load_id)}, {lit(e.system)}, {lit(e.name)}"
        not_object = _not_object_reason("coalesce(r._extra_columns->>'raw', t.raw)")
        reason = (f"CASE WHEN r._extra_columns->>'errors' = {lit(_NOT_OBJECT)} THEN {not_object} "
                  f"ELSE r._extra_columns->>'errors' END")
        c.execute(f"""INSERT INTO {QUARANTINE_TABLE} {qcols}
            SELECT {meta}, r._source_file, r._source_line, CASE WHEN r._extra_columns->>'errors' <> {lit(_NOT_OBJECT)}
                   THEN r._extra_columns->>'column' END, {reason},
                   coalesce(r._extra_columns->>'raw', t.raw), {lit(str(self.now))}::TIMESTAMP
            FROM {table} r LEFT JOIN {p}_txt t ON t._file = r._source_file AND t._line = r._source_line
            WHERE r._load_id = {lit(self.bad)} AND r._source_file IN {files}""")
        c.execute(f"""INSERT INTO {QUARANTINE_TABLE} {qcols}
            SELECT {meta}, j._file, j._line, NULL, j._reason, coalesce(t.raw, j._raw), {lit(str(self.now))}::TIMESTAMP
            FROM {p}_rj j LEFT JOIN {p}_txt t ON t._file = j._file AND t._line = j._line""")
        bad_reason = f"CASE WHEN _reason = {lit(_NOT_OBJECT)} THEN {_not_object_reason('raw')} ELSE _reason END"
        c.execute(f"""INSERT INTO {QUARANTINE_TABLE} {qcols}
            SELECT {meta}, _file, _line, CASE WHEN _reason <> {lit(_NOT_OBJECT)} THEN _column END, {bad_reason}, raw,
                   {lit(str(self.now))}::TIMESTAMP FROM {p}_bad""")
        counts = {r[0]: r[1:] for r in c.execute(
            f"SELECT _source_file, count(*) FILTER (WHERE _load_id = {lit(self.load_id)}), "
            f"count(*) FILTER (WHERE _load_id = {lit(self.bad)}) FROM {table} WHERE _load_id IN {self.markers} "
            f"AND _source_file IN {files} GROUP BY 1").fetchall()}
        quarantined = dict(c.execute(
            f"SELECT source_file, count(*) FROM {QUARANTINE_TABLE} WHERE load_id = ? AND system = ? AND entity = ? "
            f"AND source_file IN {files} GROUP BY 1", [self.load_id, e.system, e.name]).fetchall())
        rejects = dict(c.execute(f"SELECT _file, count(*) FROM {p}_rj GROUP BY 1").fetchall())
        recovered = dict(c.execute(f"SELECT _file, count(*) FROM {p}_bad GROUP BY 1").fetchall())
        if sum(v[1] for v in counts.values()):  # careful routes only: the fast ones never insert failed rows
            c.execute(f"DELETE FROM {table} WHERE _load_id = {lit(self.bad)} AND _source_file IN {files}")
        for rel in rels:
            res = by_rel[rel]
            loaded, failed = counts.get(rel, (0, 0))
            res.rows_read = loaded + failed + rejects.get(rel, 0) + recovered.get(rel, 0)
            res.rows_loaded, res.rows_quarantined = loaded, quarantined.get(rel, 0)
            if res.rows_loaded + res.rows_quarantined != res.rows_read:
                raise RuntimeError(f"{rel}: row conservation violated: read {res.rows_read}, loaded {loaded}, "
                                   f"quarantined {res.rows_quarantined}")
            res.status = "loaded"
            res.message = f"{res.rows_quarantined} record(s) quarantined" if res.rows_quarantined else None
            res.schema_drift = self.drift.get(rel, [])

    def fetch_texts(self) -> None:
        """Raw texts of the wanted (file, line) pairs that have none yet: from the line tables already
        read, else from the file's bytes (split at the line terminator, decoded with the contract's
        encoding: re-encoding the text gives the record's bytes back), else (zstd) DuckDB's line reader."""
        c, p = self.con, self.prefix
        pending = (f"(SELECT * FROM {p}_want w WHERE NOT EXISTS (SELECT 1 FROM {p}_txt t "
                   f"WHERE t._file = w._file AND t._line = w._line))")
        # a line the reader rejected (invalid bytes) holds DuckDB's lossy decoding: its text comes from the bytes below
        c.execute(f"INSERT INTO {p}_txt SELECT DISTINCT w._file, w._line, l.l FROM {pending} w JOIN {p}_lines l "
                  f"ON l._file = w._file AND l._line = w._line AND NOT l.rejected")
        if self.has_spans:
            c.execute(f"UPDATE {p}_want SET _span = m._span FROM {p}_spans m WHERE {p}_want._file = m._file "
                      f"AND {p}_want._line = m._line")
        wanted: dict[str, list[tuple[int, int]]] = {}
        for rel, line, span in c.execute(f"SELECT DISTINCT _file, _line, _span FROM {pending} ORDER BY 1, 2").fetchall():
            wanted.setdefault(rel, []).append((line, span))
        rows: list[tuple[str, int, str]] = []
        for rel, lines in wanted.items():
            texts = _line_texts(Path(self.root) / rel, self.entity, self.line_sources.get(rel, (None, None, None))[1], lines)
            if texts is None:  # zstd: DuckDB's line reader
                pl = self.numbered(rel)
                L.fetch_line_texts(c, pending, rel, pl, f"{p}_txt")
                continue
            rows += [(rel, line, text) for (line, _), text in zip(lines, texts)]
        if rows:
            files, nums, texts = zip(*rows)
            c.execute(f"INSERT INTO {p}_txt SELECT unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[])",
                      [list(files), list(nums), list(texts)])

    def numbered(self, rel: str) -> str:
        enc, comp, nl = self.line_sources[rel]
        key = f"{self.prefix}_pl_{abs(hash(rel))}"
        exists = self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
                                  [key + "_pl"]).fetchone()[0]
        if exists:
            return f"{key}_pl"
        # mixed line ends, and UTF-16 (whose line ends the byte scan cannot see): DuckDB's line reader may give up
        texts = (_all_line_texts(Path(self.root) / rel, self.entity, comp)
                 if rel in self.mixed or enc == "utf-16" else None)
        table = L.numbered_lines(self.con, lit(f"{self.root}/{rel}"), enc, comp, nl, key, texts)
        # A line the reader rejected (invalid bytes) holds DuckDB's lossy decoding, which can swallow the quote after
        # a cut UTF-8 sequence ('end\xc3",1'): the quote automaton would then see a quoted value that never closes and
        # shift every later record's line. Its text is taken from its bytes instead (\xNN for undecodable ones).
        bad = [r[0] for r in self.con.execute(f"SELECT p FROM {table} WHERE rejected ORDER BY p").fetchall()]
        texts = _line_texts(Path(self.root) / rel, self.entity, comp, [(line, 1) for line in bad]) if bad else None
        if texts is not None:
            self.con.execute(f"UPDATE {table} SET l = t.l FROM (SELECT unnest(?::BIGINT[]) AS p, unnest(?::VARCHAR[]) AS l) t "
                             f"WHERE {table}.p = t.p", [bad, texts])
        return table


def _all_line_texts(path: Path, entity: Entity, compression: str | None) -> list[str] | None:
    """Every physical line of a file DuckDB's line reader may not split (mixed line ends, ``FileScan.mixed_line_ends``;
    UTF-16): split at the byte that ends its records (``_record_terminator``), the CR of CRLF and a leading BOM
    dropped, decoded with the contract's encoding (undecodable bytes as \\xNN). None for what Python cannot open.
    Such files are Excel-sized (Excel's own exports); the line map needs every line."""
    data = _file_bytes(path, compression)
    codec = _PY_CODEC[entity.format.duckdb_encoding]
    if data is None:
        return None
    if codec == "utf-16":  # two-byte units: split the text, not the bytes
        text = data.decode("utf-16", errors="backslashreplace").lstrip("\ufeff")
        lines = text.split(_record_terminator(text))
        if lines and lines[-1] == "":
            lines.pop()
        return [x[:-1] if x.endswith("\r") else x for x in lines]
    parts = data.split(_record_terminator(data))
    if parts and parts[-1] == b"":
        parts.pop()
    if parts and parts[0].startswith(b"\xef\xbb\xbf"):
        parts[0] = parts[0][3:]
    return [(x[:-1] if x.endswith(b"\r") else x).decode(codec, errors="backslashreplace") for x in parts]


def _record_terminator(data):
    """The byte that ends this file's records: LF (CRLF counts as LF, its CR dropped), or CR for an old-Mac file,
    decided by which ends more lines, so a line break typed in a cell (a bare LF in a CR file, as "CSV (Macintosh)"
    writes it; a bare LF in an Excel CRLF file) never splits a record."""
    cr, lf = ("\r", "\n") if isinstance(data, str) else (b"\r", b"\n")  # bytes, or the text of a UTF-16 file
    return cr if data.count(cr) - data.count(cr + lf) > data.count(lf) else lf


_PY_CODEC = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1", "cp1252": "cp1252"}


def _file_bytes(path: Path, compression: str | None) -> bytes | None:
    import gzip

    if compression == "gzip":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    if compression == "zstd":
        import zstandard

        with path.open("rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as reader:
            return reader.read()
    return path.read_bytes()


def _line_texts(path: Path, entity: Entity, compression: str | None, lines: list[tuple[int, int]]) -> list[str] | None:
    """The texts of physical lines (1-based line, span) of one file, or None when Python cannot open the
    compression. Bytes are split at the file's line terminator (LF; CR for old-Mac files), the CR of CRLF
    and a leading BOM dropped, and decoded with the contract's encoding (undecodable bytes shown as \\xNN)."""
    data = _file_bytes(path, compression)
    codec = _PY_CODEC[entity.format.duckdb_encoding]
    if codec == "utf-16":
        text = data.decode("utf-16", errors="backslashreplace")
        parts_t = text.split(_record_terminator(text))
        out = []
        for line, span in lines:
            seg = [x[:-1] if x.endswith("\r") else x for x in parts_t[line - 1: line - 1 + span]]
            out.append("\n".join(seg).lstrip("\ufeff"))
        return out
    parts = data.split(_record_terminator(data))
    out = []
    for line, span in lines:
        seg = [x[:-1] if x.endswith(b"\r") else x for x in parts[line - 1: line - 1 + span]]
        raw = b"\n".join(seg)
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        out.append(raw.decode(codec, errors="backslashreplace"))
    return out


def lit_list(values: list[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]::VARCHAR[]"


def _run_group(ctx: _Ctx, batches: list[Batch], kind: str) -> None:
    """Read, validate and insert one group of files by route ``kind``:

    * ``csv`` / ``json_fast`` (fast routes, one record per physical line, numbered in the insert): only
      rows that pass are inserted; the lines that did not arrive are then re-read from their text and
      validated again to get their reasons (``_recover``), so nothing is deleted from raw again;
    * ``csv_strict`` / ``json_lines`` / ``json_array_exact`` / arrays (careful routes): every row is
      inserted, failed ones marked, and moved to quarantine by ``finish``.
    """
    c, e, p = ctx.con, ctx.entity, ctx.prefix
    fmt = e.format
    rels = [b.rel for b in batches]
    ctx.groups.append((batches, kind))
    for b in batches:
        ctx.line_sources[b.rel] = (fmt.duckdb_encoding, b.compression, b.new_line)
        if b.plain_utf8 and fmt.duckdb_encoding == "utf-8":
            ctx.plain[b.rel] = "\r" if b.scan.line_terminator == b"\r" else "\n"
        if b.scan.mixed_line_ends:
            ctx.mixed.add(b.rel)
    rej, scans = ctx.name("rej"), ctx.name("scan")
    raw, shape = None, None
    if kind == "csv":
        source = csv_group_source(e, batches, rej, scans, padded=True)
        shape = padded_shape(e, batches)
    elif kind == "csv_strict":
        source = csv_group_source(e, batches, rej, scans)
        shape = padded_shape(e, batches, strict=True)
    elif kind == "json_fast":
        source = json_fast_source(e, batches)
    elif kind == "json_lines":
        for b in batches:
            pl = ctx.numbered(b.rel)
            c.execute(f"INSERT INTO {p}_lines SELECT {lit(b.rel)}, p, l, rejected FROM {pl}")
        c.execute(f"INSERT INTO {p}_rj SELECT _file, _line, l, 'line rejected by the reader: not valid "
                  f"{fmt.encoding} text (INVALID ENCODING)' FROM {p}_lines WHERE rejected "
                  f"AND _file IN (SELECT unnest({lit_list(rels)}))")
        source = json_lines_source(e, f"(SELECT * FROM {p}_lines WHERE NOT rejected AND _file IN "
                                      f"(SELECT unnest({lit_list(rels)})))")
    else:
        source = json_array_exact_source(e, batches[0])
    if fmt.type == "json_array":
        raw = "_rawdoc"
    is_csv = kind in ("csv", "csv_strict")
    echo = header_echo_sql(e, batches[0].header, batches[0].mapped) if is_csv else None  # a group shares its header
    validated = validated_select_sql(e, source, json=not is_csv, doc_ok=None if is_csv else "_doc_ok", shape=shape,
                                     echo=echo, numbers_marked=kind in ("json_lines", "json_array_exact"))
    loaded_at = lit(str(ctx.now))
    # CSV fast route: only passing rows are inserted (a DELETE of failed rows would make the commit rewrite the
    # data just written); NDJSON fast route: every row, failed ones marked (re-validating the few failed lines
    # would cost a second plan of the whole validation, more than moving them).
    insert = (good_rows_insert_sql(e, validated, ctx.load_id, loaded_at) if kind == "csv" else
              marked_rows_insert_sql(e, validated, ctx.load_id, ctx.bad, loaded_at, raw))
    try:
        c.execute(insert)
    except duckdb.Error as exc:
        raise _GroupFailed(batches, kind, exc) from None
    try:  # an error while numbering lines or finding duplicates is this group's, not the whole entity's
        _after_read(ctx, batches, kind, rej, scans)
    except duckdb.Error as exc:
        raise _GroupFailed(batches, kind, exc) from None


def _after_read(ctx: _Ctx, batches: list[Batch], kind: str, rej: str, scans: str) -> None:
    """Line numbers, reasons of the rows that did not arrive, drift, duplicate keys and cut last records of one
    group just inserted by ``_run_group``."""
    c, e = ctx.con, ctx.entity
    fmt = e.format
    rels = [b.rel for b in batches]
    table = e.qualified_raw_table
    files = f"(SELECT unnest({lit_list(rels)}))"
    if kind == "csv":  # one scan: lines present per block of 64 (count, bit mask); per-file figures follow from it
        blocks = ctx.name("blk")
        c.execute(f"""CREATE TEMP TABLE {blocks} AS SELECT _source_file AS f, _source_line // 64 AS blk, count(*) AS n,
            min(_source_line) AS lo, max(_source_line) AS hi,
            bit_or(CASE WHEN _source_line >= 0 THEN 1::UBIGINT << (_source_line % 64)::INT END) AS mask
            FROM {table} WHERE _load_id = {lit(ctx.load_id)} AND _source_file IN {files} GROUP BY ALL""")
        stats = {r[0]: r[1:] for r in c.execute(
            f"SELECT f, min(lo), sum(n)::BIGINT, max(hi) FROM {blocks} GROUP BY 1").fetchall()}
        _recover(ctx, batches, kind, stats, blocks)
    else:
        stats = {r[0]: r[1:] for r in c.execute(
            f"SELECT _source_file, min(_source_line), count(*), max(_source_line) FROM {table} "
            f"WHERE _load_id IN {ctx.markers} AND _source_file IN {files} GROUP BY 1").fetchall()}
        if kind == "csv_strict":
            _csv_lines(ctx, batches, {rel: v[:2] for rel, v in stats.items()}, rej, scans)
        elif kind == "json_fast" and fmt.type == "ndjson":
            _check_aligned(batches, kind, stats)
        elif kind == "json_fast":
            _shift_lines(ctx, {rel: v[0] - 1 for rel, v in stats.items()}, files)
    if fmt.type != "csv":
        _json_drift(ctx, rels, files)
    else:
        for b in batches:
            ctx.drift[b.rel] = list(b.drift)
    _duplicates(ctx, files)
    if fmt.unterminated_last_line == "quarantine":
        _cut_last_records(ctx, [b for b in batches if b.scan.ends_with_newline is False])


def padded_shape(entity: Entity, batches: list[Batch], strict: bool = False) -> tuple[str, str]:
    """(ok flag, message) SQL of the field count check of a padded CSV read (see ``csv_group_source``).
    ``strict``: the strict route's null marker could be a field's text, so every field of the header must be present
    (not only the last)."""
    width = len(batches[0].header) if entity.format.header else len(entity.columns)
    names = [f"_f{i + 1}" for i in range(width)] + [f"_x{i + 1}" for i in range(SPARE_FIELDS)]
    fields = " + ".join(f"({n} IS NOT NULL)::INT" for n in names)
    present = " AND ".join(f"{n} IS NOT NULL" for n in (names[:width] if strict else names[width - 1:width]))
    return (f"({present} AND _x1 IS NULL)",
            f"'record has ' || ({fields}) || CASE WHEN _x1 IS NULL THEN ' field(s)' ELSE ' fields' END || "
            f"', the header has {width}'")


def _check_aligned(batches: list[Batch], kind: str, stats: dict) -> None:
    """NDJSON fast route (every row inserted, failed ones marked): every physical line is exactly one record
    (the reader keeps malformed lines in place as a NULL map), so each file must have produced one row per
    line, numbered 1..lines. Anything else sends the group to the careful route (``_GroupFailed``)."""
    for b in batches:
        first, count, last = stats.get(b.rel, (None, 0, None))
        expected = b.scan.line_count
        if count != expected or (count and (first != 1 or last != expected)):
            raise _GroupFailed(batches, kind, f"{b.rel}: the reader's records do not match the file's lines "
                                              f"({count} records for {expected} data lines)")


def _recover(ctx: _Ctx, batches: list[Batch], kind: str, stats: dict, blocks: str) -> None:
    """CSV fast route (padded read: every physical data line is one record; only passing rows inserted).
    Lines that did not arrive in raw failed validation: re-read just those from their text, validate them
    again for their reasons, and keep them (with their exact text) for quarantine. A count that does not
    add up sends the group to the careful route."""
    c, e, p = ctx.con, ctx.entity, ctx.prefix
    header = 1 if e.format.header else 0
    short = []
    for b in batches:
        first, count, last = stats.get(b.rel, (None, 0, None))
        expected = b.scan.line_count - header
        if count > expected or (count and (first < header + 1 or last > b.scan.line_count)):
            raise _GroupFailed(batches, kind, f"{b.rel}: the reader's records do not match the file's lines")
        if count < expected:
            short.append(b)
    if not short:
        return
    # Which lines are missing: the blocks of 64 lines that are short (from the block aggregate of the present
    # lines), and inside them the lines whose bit is not set.
    ranges = " UNION ALL ".join(
        f"SELECT {lit(b.rel)} AS f, unnest(range({(header + 1) // 64}, {b.scan.line_count // 64 + 1})) AS blk, "
        f"{header + 1} AS lo, {b.scan.line_count} AS hi" for b in short)
    c.execute(f"""INSERT INTO {p}_want SELECT f, l, 1 FROM (
        SELECT f, unnest(range(a, z + 1)) AS l, mask FROM (
            SELECT r.f, greatest(r.blk * 64, r.lo) AS a, least(r.blk * 64 + 63, r.hi) AS z, coalesce(c.mask, 0::UBIGINT) AS mask,
                   coalesce(c.n, 0) AS n FROM ({ranges}) r LEFT JOIN {blocks} c USING (f, blk)) WHERE n < z - a + 1)
        WHERE (mask >> (l % 64)::INT) & 1::UBIGINT = 0""")
    ctx.fetch_texts()
    missing = ctx.name("miss")
    c.execute(f"""CREATE TEMP TABLE {missing} AS SELECT row_number() OVER (ORDER BY w._file, w._line) AS k, w._file,
        w._line, t.raw FROM {p}_want w JOIN {p}_txt t USING (_file, _line)
        WHERE w._file IN (SELECT unnest({lit_list([b.rel for b in short])}))""")
    # A quoted field may span lines: the padded reader then numbers the record by its first line, and its other
    # lines are "missing" here. Alone, such a line would fail validation and be quarantined as a record of its
    # own (a record counted twice). Every record that spans lines ends on a line with an odd number of quote
    # characters (the closing quote of the field, beside balanced pairs), a line of a record never does: any
    # such line sends the group to the careful route, which reads records, not lines.
    quote = lit(e.format.quote or '"')
    text = "raw"
    if e.format.escape_char != e.format.quote:  # an escaped quote opens and closes nothing
        text = f"regexp_replace(raw, {lit(re.escape(e.format.escape_char) + '.')}, '', 'g')"
    n_missing, unbalanced = c.execute(
        f"SELECT count(*), count(*) FILTER ((length({text}) - length(replace({text}, {quote}, ''))) % 2 = 1) "
        f"FROM {missing}").fetchone()
    if unbalanced:
        raise _GroupFailed(batches, kind, f"{unbalanced} line(s) that did not load have an unbalanced quote "
                                          "(a quoted field spanning lines)")
    validated = _revalidate_csv(ctx, batches[0], missing)
    bad = c.execute(f"""INSERT INTO {p}_bad SELECT v._file, v._rn, v._first, v._errs, m.raw
        FROM ({validated}) v JOIN {missing} m ON m._file = v._file AND m._line = v._rn WHERE NOT v._ok""").fetchone()[0]
    if bad != n_missing:
        raise _GroupFailed(batches, kind, f"{n_missing} lines did not load but {bad} of them fail validation alone")


def _revalidate_csv(ctx: _Ctx, like: Batch, missing: str) -> str:
    """Validated SELECT over the missing records' texts, written (with the header line) to a scratch UTF-8
    CSV file and read with the same padded reader, numbered back to their file and line."""
    import tempfile

    c, e = ctx.con, ctx.entity
    texts = c.execute(f"SELECT raw FROM {missing} ORDER BY k").fetchall()
    head = like.scan.head
    cut = min((i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0), default=len(head))
    header_line = head[:cut].decode(_py_codec(e), errors="strict").lstrip("\ufeff")
    header_lines = 1 if e.format.header else 0
    fd, name = tempfile.mkstemp(prefix="smb_recheck_", suffix=".csv")
    with open(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write((header_line + "\n") * header_lines + "".join((t or "") + "\n" for (t,) in texts))
    ctx.scratch_files.append(name)
    scan = scan_file(Path(name))
    tmp = Batch(Path(name), Path(name).name, scan, None, like.header, like.mapped, like.extras, like.drift)
    source = csv_group_source(e, [tmp], ctx.name("rr"), ctx.name("rs"), padded=True, encoding="utf-8")
    shape = padded_shape(e, [tmp])
    validated = validated_select_sql(e, source, json=False, shape=shape,
                                     echo=header_echo_sql(e, like.header, like.mapped))
    return (f"SELECT m._file, m._line AS _rn, v._ok, v._errs, v._first FROM ({validated}) v "
            f"JOIN {missing} m ON m.k = v._rn - {header_lines}")


def _py_codec(entity: Entity) -> str:
    return {"utf-8": "utf-8-sig", "utf-16": "utf-16", "latin-1": "latin-1", "cp1252": "cp1252"}[entity.format.duckdb_encoding]


def _shift_lines(ctx: _Ctx, offsets: dict[str, int], files: str) -> None:
    """``_source_line -= offset`` per file (reading order over the group -> position in the file)."""
    if not offsets:
        return
    c = ctx.con
    tab = ctx.name("off")
    c.execute(f"CREATE TEMP TABLE {tab} (f VARCHAR, o BIGINT)")
    c.executemany(f"INSERT INTO {tab} VALUES (?, ?)", list(offsets.items()))
    c.execute(f"UPDATE {ctx.entity.qualified_raw_table} SET _source_line = _source_line - o.o FROM {tab} o "
              f"WHERE _source_file = o.f AND _load_id IN {ctx.markers}")


def _csv_lines(ctx: _Ctx, batches: list[Batch], stats: dict, rej: str, scans: str) -> None:
    c, e, p = ctx.con, ctx.entity, ctx.prefix
    header = 1 if e.format.header else 0
    table = e.qualified_raw_table
    reasons = "CASE e.error_type " + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in _READER_REASONS.items()) + \
              f" WHEN 'INVALID ENCODING' THEN {lit('not valid ' + e.format.encoding + ' text')}" \
              " WHEN 'INVALID UNICODE' THEN 'not valid unicode' ELSE lower(e.error_type) END"
    rejects = ctx.name("rjf")
    c.execute(f"""CREATE TEMP TABLE {rejects} AS
        SELECT substr(s.file_path, {len(ctx.root) + 2}) AS _file, e.line AS _line, any_value(e.csv_line) AS _raw,
               'record rejected by the CSV reader: ' || string_agg(DISTINCT {reasons} || ' (' || e.error_type || ')', '; ')
                   AS _reason
        FROM {rej} e JOIN {scans} s USING (scan_id, file_id) GROUP BY ALL""")
    rj = {}
    for f, n, multi in c.execute(
            f"SELECT _file, count(*), bool_or(contains(_raw, chr(10))) FROM {rejects} GROUP BY 1").fetchall():
        rj[f] = (n, multi)
    fast, exact = {}, []
    for b in batches:
        mn, recs = stats.get(b.rel, (1, 0))
        nrej, multi = rj.get(b.rel, (0, False))
        lines = b.scan.line_count
        if lines is not None and not b.scan.has_blank_lines and not multi and lines == header + recs + nrej:
            fast[b.rel] = mn - 1 - header
        else:
            exact.append((b, mn))
    files = f"(SELECT unnest({lit_list(list(fast))}))"
    _shift_lines(ctx, fast, files)
    with_rejects = [f for f in fast if f in rj]
    if with_rejects:
        seg = ctx.name("seg")
        c.execute(f"""CREATE TEMP TABLE {seg} AS SELECT _file AS f, q, max(i) AS i FROM (
            SELECT _file, _line - row_number() OVER (PARTITION BY _file ORDER BY _line) AS q,
                   row_number() OVER (PARTITION BY _file ORDER BY _line) AS i
            FROM {rejects} WHERE _file IN (SELECT unnest({lit_list(with_rejects)}))) GROUP BY ALL""")
        c.execute(f"""UPDATE {table} SET _source_line = {table}._source_line + u.i FROM (
            SELECT r.rowid AS rid, s.i FROM {table} r ASOF JOIN {seg} s ON r._source_file = s.f AND r._source_line > s.q
            WHERE r._load_id IN {ctx.markers} AND r._source_file IN (SELECT unnest({lit_list(with_rejects)}))) u
            WHERE {table}.rowid = u.rid""")
    for b, mn in exact:
        _exact_lines(ctx, b, mn, rejects, header)
    c.execute(f"INSERT INTO {p}_rj SELECT * FROM {rejects}")


def _exact_lines(ctx: _Ctx, b: Batch, min_rn: int, rejects: str, header: int) -> None:
    c, e, p = ctx.con, ctx.entity, ctx.prefix
    table = e.qualified_raw_table
    pl = ctx.numbered(b.rel)
    dmap = L.exact_line_map(c, pl, e.format.delimiter, e.format.quote, ctx.name("x"), header,
                            blank_lines_are_records=len(b.header) <= 1, escape=e.format.escape_char)
    starts = ctx.name("starts")
    c.execute(f"""CREATE TEMP TABLE {starts} AS SELECT row_number() OVER (ORDER BY p) AS k, p, span FROM {dmap}
        WHERE d > {header} AND NOT blank AND d NOT IN (SELECT _line FROM {rejects} WHERE _file = {lit(b.rel)})""")
    n_starts, n_rows = c.execute(f"SELECT (SELECT count(*) FROM {starts}), (SELECT count(*) FROM {table} WHERE "
                                 f"_source_file = {lit(b.rel)} AND _load_id IN {ctx.markers})").fetchone()
    if n_starts != n_rows:  # every record start must be one record read: else a record would be lost or misnumbered
        raise _GroupFailed([b], "csv_strict", f"the CSV reader gave {n_rows} record(s) where the file's lines hold "
                                              f"{n_starts} (a record it skipped without a word)")
    c.execute(f"UPDATE {table} SET _source_line = s.p FROM {starts} s WHERE _source_file = {lit(b.rel)} "
              f"AND _load_id IN {ctx.markers} AND {table}._source_line - {min_rn - 1} = s.k")
    c.execute(f"UPDATE {rejects} SET _line = m.p FROM {dmap} m WHERE _file = {lit(b.rel)} AND {rejects}._line = m.d")
    if not ctx.has_spans:
        c.execute(f"CREATE TEMP TABLE {p}_spans (_file VARCHAR, _line BIGINT, _span BIGINT)")
        ctx.has_spans = True
    c.execute(f"INSERT INTO {p}_spans SELECT {lit(b.rel)}, p, span FROM {dmap} WHERE span > 1")
    ctx.exact_files = [*ctx.exact_files, b.rel]


def _duplicates(ctx: _Ctx, files: str) -> None:
    """Later valid records of a key already seen in the same file are quarantined, pointing at the first.
    One aggregate over a 64-bit hash of (file, key) finds candidates (usually none); only those are
    compared exactly, then the later occurrences are moved (a delete only when duplicates exist)."""
    c, e, p = ctx.con, ctx.entity, ctx.prefix
    table = e.qualified_raw_table
    keys = [ident(k) for k in e.primary_key]
    this_load = f"_load_id = {lit(ctx.load_id)} AND _source_file IN {files}"
    hashed = f"hash(_source_file, {', '.join(keys)})"
    cand = ctx.name("hcand")
    c.execute(f"CREATE TEMP TABLE {cand} AS SELECT {hashed} AS h FROM {table} WHERE {this_load} GROUP BY 1 HAVING count(*) > 1")
    if not c.execute(f"SELECT count(*) FROM {cand}").fetchone()[0]:
        return
    dups = ctx.name("dups")
    c.execute(f"CREATE TEMP TABLE {dups} AS SELECT _source_file, {', '.join(keys)}, min(_source_line) AS first "
              f"FROM {table} WHERE {this_load} AND {hashed} IN (SELECT h FROM {cand}) GROUP BY ALL HAVING count(*) > 1")
    key_text = " || ', ' || ".join(
        f"{lit(k + '=')} || coalesce('''' || r.{ident(k)}::VARCHAR || '''', 'NULL')" for k in e.primary_key)
    match = " AND ".join(f"r.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
    later = ctx.name("later")
    c.execute(f"""CREATE TEMP TABLE {later} AS SELECT r.rowid AS rid, r._source_file AS _file, r._source_line AS _line,
        'duplicate key (' || {key_text} || ') first seen at line ' || d.first AS _reason
        FROM {table} r JOIN {dups} d ON r._source_file = d._source_file AND {match}
        WHERE r.{this_load.replace(' AND _source_file', ' AND r._source_file')} AND r._source_line > d.first""")
    c.execute(f"INSERT INTO {p}_want SELECT _file, _line, 1 FROM {later}")
    ctx.fetch_texts()
    c.execute(f"INSERT INTO {p}_bad SELECT l._file, l._line, NULL, l._reason, t.raw FROM {later} l "
              f"LEFT JOIN {p}_txt t USING (_file, _line)")
    c.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rid FROM {later})")


def _cut_last_records(ctx: _Ctx, batches: list[Batch]) -> None:
    """With ``unterminated_last_line: quarantine``: the record on a file's unterminated last line is
    quarantined (it may have been cut while the file was being written)."""
    c, e = ctx.con, ctx.entity
    table = e.qualified_raw_table
    for b in batches:
        # the record that holds the last physical line: the one starting there, or one spanning lines that ends there
        # (not simply the last record still in raw: when the cut one failed or was a duplicate, that is another)
        last = b.scan.line_count
        spanning = (f" OR _source_line IN (SELECT _line FROM {ctx.prefix}_spans WHERE _file = {lit(b.rel)} "
                    f"AND _line + _span - 1 = {last})" if ctx.has_spans else "")
        c.execute(f"""UPDATE {table} SET _load_id = {lit(ctx.bad)}, _extra_columns = json_object('errors',
            'last record has no line break at the end of the file: it may have been cut while the file was being written',
            'column', NULL) WHERE _source_file = ? AND _load_id IN {ctx.markers} AND (_source_line = {last}{spanning})""",
                  [b.rel])


def _json_drift(ctx: _Ctx, rels: list[str], files: str) -> None:
    """Keys the contract does not know, per file (one level into objects the contract reads parts of)."""
    c, e = ctx.con, ctx.entity
    parents = sorted({p.split(".")[1] for p in (col.json_path for col in e.columns) if p.count(".") > 1})
    sub = "".join(f" UNION SELECT _source_file, {lit(pa + '.')} || unnest(json_keys(_extra_columns, {lit('$.' + pa)})) "
                  f"FROM x WHERE json_type(_extra_columns, {lit('$.' + pa)}) = 'OBJECT'" for pa in parents)
    rows = c.execute(
        f"WITH x AS (SELECT _source_file, _extra_columns FROM {e.qualified_raw_table} WHERE _load_id = {lit(ctx.load_id)} "
        f"AND _source_file IN {files} AND _extra_columns IS NOT NULL) "
        f"SELECT _source_file, k FROM (SELECT _source_file, unnest(json_keys(_extra_columns)) AS k FROM x{sub}) "
        f"WHERE k NOT IN (SELECT unnest({lit_list(parents)})) GROUP BY ALL ORDER BY ALL").fetchall()
    for rel in rels:
        ctx.drift[rel] = [f"added {k}" for f, k in rows if f == rel][:50]


def _supersede(con, entity: Entity, rel: str, load_id: str) -> None:
    con.execute(f"DELETE FROM {entity.qualified_raw_table} WHERE _source_file = ?", [rel])
    con.execute(f"DELETE FROM {QUARANTINE_TABLE} WHERE system = ? AND entity = ? AND source_file = ?",
                [entity.system, entity.name, rel])
    con.execute(f"UPDATE {AUDIT_TABLE} SET status = 'superseded', message = ? WHERE system = ? AND entity = ? "
                f"AND source_file = ? AND status IN {DONE_STATUSES}",
                [f"superseded by a new version of the file (load {load_id})", entity.system, entity.name, rel])


def _isolate(con, entity: Entity, landing_root: Path, plan: _Plan, failed: _GroupFailed,
             by_rel: dict[str, FileLoadResult]) -> None:
    """A group failed (reader error, or records that do not line up with the file's lines): try each of
    its files alone, outside any transaction. A file the fast route cannot take goes to the careful
    route of its format (CSV: reader rejects and exact line mapping; NDJSON: numbered lines; JSON array:
    exact document parse); a file no route can read is rejected with the reader's cause."""
    failed_rels = {b.rel for b in failed.batches}
    for groups in (plan.csv_groups, plan.csv_strict):
        groups[:] = [[b for b in g if b.rel not in failed_rels] for g in groups]
        groups[:] = [g for g in groups if g]
    for lst in (plan.json_fast, plan.json_lines, plan.json_array_exact):
        lst[:] = [b for b in lst if b.rel not in failed_rels]
    careful = {"csv": "csv_strict", "json_fast": "json_lines" if entity.format.type == "ndjson" else "json_array_exact"}
    single = len(failed.batches) == 1
    for b in failed.batches:
        problem = None
        if failed.kind in careful and not single and _probe(con, entity, landing_root, b, failed.kind) is None:
            (plan.csv_groups.append([b]) if failed.kind == "csv" else plan.json_fast.append(b))
            continue
        kind = careful.get(failed.kind, failed.kind)
        if kind != failed.kind or not single:
            problem = _probe(con, entity, landing_root, b, kind)
        elif single:
            problem = _clean_error(failed.cause) if isinstance(failed.cause, BaseException) else str(failed.cause)
        # DuckDB gives up on line ends it does not take, or (told the file's record end) skips the records that end
        # the other way: either way, say which lines end how
        if problem and entity.format.type == "csv" and ("state machine reached an invalid state" in problem or (
                b.scan.mixed_line_ends and "where the file's lines hold" in problem)):
            problem = _line_end_problem(b.path, b.compression) or problem
        if problem is None:
            if kind == "csv_strict":
                plan.csv_strict.append([b])
            else:
                (plan.json_lines if kind == "json_lines" else plan.json_array_exact).append(b)
            continue
        res = by_rel[b.rel]
        what = "not a readable JSON array document" if entity.format.type == "json_array" else \
            f"unreadable as {entity.format.type}"
        res.status, res.message = "rejected", f"{what}: {problem}"


def _probe(con, entity: Entity, landing_root: Path, b: Batch, kind: str) -> str | None:
    """None if the file loads alone by route ``kind`` (its insert is run and rolled back), else the
    cleaned reader error, with the file's absolute path replaced by its landing-relative name."""
    prefix = f"_probe_{uuid.uuid4().hex[:8]}"
    ctx = _Ctx(con, entity, "probe", "probe (quarantine)", _utcnow(), prefix)
    ctx.root = str(landing_root)
    try:
        _load_encodings(con, entity)
        with _search_path(con, landing_root):
            con.execute("BEGIN TRANSACTION")
            try:
                ctx.create_scratch()
                _run_group(ctx, [b], kind)
            finally:
                con.execute("ROLLBACK")
        return None
    except _GroupFailed as failed:
        cause = failed.cause
        return (_clean_error(cause) if isinstance(cause, BaseException) else str(cause)).replace(
            f'"{b.path}"', b.rel).replace(str(b.path), b.rel)
    except duckdb.Error as exc:
        return _clean_error(exc).replace(f'"{b.path}"', b.rel).replace(str(b.path), b.rel)
    finally:
        _drop_temp(con, prefix)


def _noted(con, entity: Entity, res: FileLoadResult) -> bool:
    row = con.execute(
        f"SELECT count(*) FROM {AUDIT_TABLE} WHERE system = ? AND entity = ? AND source_file = ? AND status = ? "
        "AND content_sha256 IS NOT DISTINCT FROM ?", [entity.system, entity.name, res.source_file, res.status,
                                                      res.content_sha256]).fetchone()
    return bool(row[0])


def _audit(con: duckdb.DuckDBPyConnection, entity: Entity, res: FileLoadResult, load_id: str, started: datetime) -> None:
    con.execute(
        f"INSERT INTO {AUDIT_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, entity.system, entity.name, res.source_file, res.content_sha256, res.file_bytes,
         res.rows_read, res.rows_loaded, res.rows_quarantined, res.status,
         "; ".join(res.schema_drift) or None, res.message, started, _utcnow()])


def _drop_temp(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    """Drop every temp object of this load (found by its unique prefix). Views first."""
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, ?)",
                        [prefix]).fetchall()
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, ?)",
                         [prefix]).fetchall()
    for (name,) in views:
        con.execute(f"DROP VIEW IF EXISTS temp.main.{ident(name)}")
    for (name,) in tables:
        con.execute(f"DROP TABLE IF EXISTS temp.main.{ident(name)}")
