"""Replay the simulator's extracts (or any landing zone) as events, at a chosen rate.

Each record of the event types' entities (bank transactions, AP invoices, tickets) in the landing folder's
files becomes one event whose ``data`` holds the values exactly as the file has them (text as exported, so
the consumer validates them as the file would be), with ``event_id`` ``<prefix>:<file, / as .>:<line>`` (replaying
the same file again is recorded once; pass another prefix to send the same records as new events).
"""
from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from events.schema import EVENT_TYPES, SPEC, Event
from smb_warehouse.ingestion.contracts import Entity
from smb_warehouse.ingestion.discovery import discover


def _csv_records(entity: Entity, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    fmt = entity.format
    names = {c.name: c.name for c in entity.columns}
    for column in entity.columns:
        for alias in column.aliases:
            names[alias] = column.name
    text = path.read_bytes().decode({"cp1252": "cp1252", "latin-1": "latin-1"}.get(fmt.duckdb_encoding, "utf-8-sig"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter, quotechar=fmt.quote)
    header = next(reader)
    line = 2
    for row in reader:
        record = {names.get(h.strip(), h.strip()): (v if v != "" else None) for h, v in zip(header, row)}
        yield line, record
        line = reader.line_num + 1


def _json_records(entity: Entity, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, text in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not text.strip():
            continue
        try:
            doc = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError:
            continue  # a malformed line of the extract (the loader quarantines it there): no record to send
        if not isinstance(doc, dict):
            continue
        record = {}
        for column in entity.columns:
            node: Any = doc
            for part in column.json_path[2:].split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                node = next((doc.get(a) for a in column.aliases if a in doc), None)
            if not isinstance(node, (dict, list)):
                record[column.name] = node
        yield n, record


def records(landing: Path, types: list[str] | None = None) -> Iterator[Event]:
    """Events for every record of the chosen types' entities in ``landing``, file by file in name order."""
    for type_name in types or list(EVENT_TYPES):
        entity = EVENT_TYPES[type_name].contract()
        for found in discover(entity, landing):
            if found.action != "load" or found.compression:
                continue
            read = _csv_records if entity.format.type == "csv" else _json_records
            for line, record in read(entity, found.path):
                yield Event(spec=SPEC, event_id=f"{found.rel.replace('/', '.')}:{line}", type=type_name, source="replay",
                        data=record)


def replay(client, landing: Path, rate: float, types: list[str] | None = None, limit: int | None = None,
           prefix: str = "replay", published_by: str = "replay") -> int:
    """Publish up to ``limit`` events from ``landing`` at ``rate`` events per second (0: as fast as possible).
    Returns how many were published."""
    from events.producer import publish_many

    sent, batch, started = 0, [], time.monotonic()
    chunk = max(1, int(rate / 20)) if rate else 200  # ~20 round trips per second at the target rate
    for event in records(landing, types):
        if limit is not None and sent + len(batch) >= limit:
            break
        batch.append(event.model_copy(update={"event_id": f"{prefix}:{event.event_id}"[:128]}))
        if len(batch) >= chunk:
            publish_many(client, batch, published_by)
            sent += len(batch)
            batch = []
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    if batch:
        publish_many(client, batch, published_by)
        sent += len(batch)
    return sent
