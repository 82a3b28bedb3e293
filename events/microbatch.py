"""Micro-batch files: records rendered in their contract entity's own file format, landed atomically.

A micro-batch is what a nightly export is, only smaller: a file in ``<landing>/<system>/<entity>/`` named
``<entity>_events_<UTC yyyymmddThhmmss.ffffff>_<consumer>_<seq><ext>`` (names sort in arrival order), in the
format the contract declares (CSV with its delimiter, quote, header and decimal separator, or NDJSON with
each column at its JSON path), so the one loader reads it exactly as it reads a file export.

Completeness: the file is written under ``<landing>/.events-incoming/`` (a folder no entity reads), flushed
and fsynced, then renamed into the entity folder (same file system: an atomic rename). A loader run that
lists the folder sees the whole file or none of it, and every file ends with a line break, so the loader's
``unterminated_last_line: hold`` rule never holds a micro-batch.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from smb_warehouse.ingestion.contracts import Entity

INCOMING = ".events-incoming"
SUPPORTED_FORMATS = ("csv", "ndjson")
PYTHON_CODECS = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1", "cp1252": "cp1252"}


@dataclass(frozen=True)
class Rendered:
    """File bytes and, per record (same order), the physical line (1-based) where the record starts."""

    content: bytes
    lines: list[int]


def _text(value: Any, entity: Entity) -> str:
    """A scalar as the system's export writes it: decimals with the contract's decimal separator."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", entity.format.decimal_separator)
    if isinstance(value, float):
        raise TypeError("floats are not written (inexact); pass Decimal or text")
    return str(value)


def _nest(entity: Entity, record: dict[str, Any]) -> dict[str, Any]:
    """The JSON object whose contract JSON paths hold the record's values (unknown keys kept at the top)."""
    known = {c.name: c for c in entity.columns}
    out: dict[str, Any] = {}
    for name, value in record.items():
        column = known.get(name)
        parts = column.json_path[2:].split(".") if column is not None else [name]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


_MARK = "\u0000dec:"


def _decimals_marked(o: Any) -> Any:
    """Decimals replaced by a marked string, turned back into bare JSON numbers by ``_unmark``."""
    if isinstance(o, Decimal):
        return _MARK + format(o, "f")
    if isinstance(o, dict):
        return {k: _decimals_marked(v) for k, v in o.items()}
    return o


def _unmark(text: str) -> str:
    out, i, marker = [], 0, '"\\u0000dec:'
    while True:
        j = text.find(marker, i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        end = text.index('"', j + len(marker))
        out.append(text[i:j])
        out.append(text[j + len(marker):end])
        i = end + 1


def render(entity: Entity, records: Sequence[dict[str, Any]]) -> Rendered:
    """``records`` (column -> scalar; str written verbatim, Decimal/int/bool in the contract's notation) as
    one file of ``entity``'s format. Columns: the contract's, in contract order, then any unknown keys
    (sorted), which the loader keeps in ``_extra_columns`` as schema drift, as it does for files.

    Raises ``NotImplementedError`` for a format other than csv/ndjson, ``TypeError`` for a float value.
    """
    fmt = entity.format
    if fmt.type not in SUPPORTED_FORMATS:
        raise NotImplementedError(f"{entity.system}/{entity.name}: micro-batches are written for {SUPPORTED_FORMATS}, "
                                  f"not {fmt.type}")
    lines: list[int] = []
    buffer = io.StringIO()
    if fmt.type == "csv":
        names = [c.name for c in entity.columns]
        extra = sorted({k for r in records for k in r} - set(names))
        header = names + extra
        writer = csv.writer(buffer, delimiter=fmt.delimiter, quotechar=fmt.quote, lineterminator="\n",
                            quoting=csv.QUOTE_MINIMAL)
        line = 1
        if fmt.header:
            writer.writerow(header)
            line = 2
        for record in records:
            row = io.StringIO()
            csv.writer(row, delimiter=fmt.delimiter, quotechar=fmt.quote, lineterminator="\n",
                       quoting=csv.QUOTE_MINIMAL).writerow([_text(record.get(c), entity) for c in header])
            text = row.getvalue()
            lines.append(line)
            line += text.count("\n")
            buffer.write(text)
    else:
        for n, record in enumerate(records, 1):
            for value in record.values():
                if isinstance(value, float):
                    raise TypeError("floats are not written (inexact); pass Decimal or text")
            lines.append(n)
            buffer.write(_unmark(json.dumps(_decimals_marked(_nest(entity, dict(record))), ensure_ascii=False,
                                            separators=(",", ":"))) + "\n")
    return Rendered(buffer.getvalue().encode(PYTHON_CODECS.get(fmt.duckdb_encoding, "utf-8")), lines)


def batch_name(entity: Entity, consumer: str, seq: int, now: datetime | None = None) -> str:
    """``<entity>_events_<UTC stamp>_<consumer>_<seq><ext>``: sorts in arrival order within the entity."""
    now = now or datetime.now(UTC)
    safe = "".join(ch if ch.isalnum() or ch in "-" else "-" for ch in consumer)[:40] or "consumer"
    return f"{entity.name}_events_{now.strftime('%Y%m%dT%H%M%S%f')}_{safe}_{seq:06d}{entity.format.file_extensions[0]}"


def land(landing_root: Path, entity: Entity, name: str, content: bytes) -> Path:
    """Write ``content`` to ``<landing>/<system>/<entity>/<name>`` atomically (temp file in
    ``<landing>/.events-incoming/``, fsync, rename). Returns the final path. Refuses to overwrite."""
    landing_root = Path(landing_root)
    target_dir = entity.landing_dir(landing_root)
    target_dir.mkdir(parents=True, exist_ok=True)
    incoming = landing_root / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    if target.exists():
        raise FileExistsError(f"{target} exists: a micro-batch name is never reused")
    temp = incoming / f"{entity.system}__{name}.part"
    with open(temp, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, target)
    return target


def is_microbatch(name: str) -> bool:
    """Whether a landing file name is one of ours (``<entity>_events_<stamp>_<consumer>_<seq><ext>``)."""
    return "_events_" in name and not name.startswith(".")


def landed_microbatches(landing_root: Path, entities: Sequence[Entity]) -> list[Path]:
    """Every micro-batch file in the entities' landing folders, in name order (no file is read)."""
    out: list[Path] = []
    for entity in entities:
        folder = entity.landing_dir(Path(landing_root))
        if folder.is_dir():
            out += sorted(p for p in folder.iterdir() if p.is_file() and is_microbatch(p.name))
    return out
