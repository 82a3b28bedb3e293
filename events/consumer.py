"""The event consumer: stream -> contract validation -> micro-batch in the landing zone -> real-time
decision -> event store -> acknowledgement.

Per read (up to ``count`` entries, waiting at most ``block_ms`` for the first):

1. each entry's envelope is parsed (``events.schema``); an unreadable one is quarantined with the reason;
2. event ids already in the store (a re-sent event, or a redelivery after a crash) are acknowledged and
   skipped: every event is recorded once;
3. per event type, the records are validated by the file loader (``events.validate``); the valid ones are
   landed as ONE micro-batch file of their entity (``events.microbatch.land``: temp name, fsync, rename),
   the invalid ones are quarantined with every reason the loader gave;
4. landed bank lines and tickets get their real-time decision (``events.scoring``);
5. events and decisions are appended to the store in one transaction, then the entries are acknowledged.

Crash safety: an entry is acknowledged only after step 5, so a crash leaves it pending and the next start
re-reads it (``XREADGROUP`` from id 0 first). A crash between landing the file and step 5 lands the record
a second time on redelivery; the loader keeps both versions in raw and staging takes the latest version of
the key, so the warehouse holds one row.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from events import broker
from events.microbatch import batch_name, land, render
from events.schema import EVENT_TYPES, Event, parse
from events.scoring import RealtimeScorer
from events.store import DecisionRow, EventRow, EventStore, iso, utcnow
from events.validate import Validator
from smb_warehouse.core import paths

log = logging.getLogger(__name__)


def anomaly_threshold() -> float:
    return float(os.environ.get("SMB_ANOMALY_SCORE_THRESHOLD") or 0.7)


@dataclass
class BatchResult:
    read: int = 0
    landed: int = 0
    quarantined: int = 0
    skipped: int = 0
    decided: int = 0
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _text(value: Any) -> str | None:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _stream_time(stream_id: str) -> str:
    millis = int(stream_id.split("-")[0])
    return iso(datetime.utcfromtimestamp(millis / 1000))


class Consumer:
    """One consumer of the group (several may run: each entry goes to one of them)."""

    def __init__(self, client=None, name: str | None = None, landing: Path | None = None,
                 store: EventStore | None = None, scorer: RealtimeScorer | None = None,
                 stream: str | None = None, group: str | None = None):
        self.client = client or broker.client()
        self.name = name or f"consumer-{os.getpid()}"
        self.landing = Path(landing) if landing else paths.landing_dir()
        self.store = store or EventStore()
        self.scorer = scorer if scorer is not None else RealtimeScorer()
        self.stream = stream or broker.stream_name()
        self.group = group or broker.group_name()
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._validators: dict[str, Validator] = {}  # one scratch DuckDB per event type (groups run in parallel)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="event-group")
        self._pending_checked = False

    def ensure_group(self) -> None:
        """Create the consumer group (from the start of the stream) when missing."""
        import redis

        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def poll(self, count: int = 500, block_ms: int = 200) -> BatchResult:
        """Read and process one batch (this consumer's pending entries first, after a restart)."""
        start = "0" if not self._pending_checked else ">"
        reply = self.client.xreadgroup(self.group, self.name, {self.stream: start}, count=count,
                                       block=None if start == "0" else block_ms)
        entries = [(sid.decode(), {k.decode(): v for k, v in fields.items()})
                   for _, items in reply or [] for sid, fields in items]
        if start == "0" and not entries:
            self._pending_checked = True
            return BatchResult()
        return self.process(entries)

    def run(self, stop: threading.Event, count: int = 500, block_ms: int = 200) -> None:
        """Poll until ``stop`` is set; a failing batch is logged and left pending (re-read after a restart)."""
        self.ensure_group()
        if hasattr(self.scorer, "warm"):
            try:
                self.scorer.warm()
            except Exception as exc:  # no published warehouse yet: events still land, decisions wait
                log.warning("real-time scoring not ready: %s", exc)
        while not stop.is_set():
            try:
                result = self.poll(count=count, block_ms=block_ms)
            except Exception:
                log.exception("event batch failed; its entries stay pending")
                time.sleep(1)
                continue
            if result.read:
                log.info("events: %s", result)

    def process(self, entries: list[tuple[str, dict[str, Any]]]) -> BatchResult:
        """Process stream entries ``(id, fields)``; acknowledges them once recorded."""
        result = BatchResult(read=len(entries))
        if not entries:
            return result
        received = iso(utcnow())
        rows: list[EventRow] = []
        parsed: list[tuple[str, Event, dict[str, Any]]] = []
        for sid, fields in entries:
            raw = _text(fields.get("event")) or ""
            meta = {"stream_id": sid, "published_by": _text(fields.get("published_by")),
                    "published_at": _text(fields.get("published_at")) or _stream_time(sid)}
            try:
                parsed.append((sid, parse(raw), meta))
            except Exception as exc:
                doc = _loose(raw)
                rows.append(EventRow(
                    event_id=f"stream:{sid}", stream_id=sid, type=str(doc.get("type") or "unknown")[:100],
                    type_version=None, source=None, record_key=None, published_by=meta["published_by"],
                    published_at=meta["published_at"], received_at=received, status="quarantined",
                    reason=f"envelope: {' '.join(str(exc).split())[:2000]}", batch_file=None, batch_line=None,
                    payload=raw[:100_000]))
        known = self.store.known(e.event_id for _, e, _ in parsed)
        fresh: dict[str, tuple[str, Event, dict[str, Any]]] = {}
        for item in parsed:
            if item[1].event_id in known or item[1].event_id in fresh:
                result.skipped += 1
            else:
                fresh[item[1].event_id] = item
        decisions: list[DecisionRow] = []
        by_type: dict[str, list[tuple[str, Event, dict[str, Any]]]] = {}
        for item in fresh.values():
            by_type.setdefault(item[1].type, []).append(item)
        groups = list(by_type.items())
        if len(groups) > 1:  # entity groups in parallel: DuckDB and the models release the GIL
            handled = list(self._pool.map(lambda g: self._handle(*g, received), groups))
        else:
            handled = [self._handle(*g, received) for g in groups]
        for group_rows, group_decisions, landed in handled:
            rows += group_rows
            decisions += group_decisions
            if landed:
                result.files.append(landed)
        for row in rows:
            if row.status == "landed":
                result.landed += 1
            else:
                result.quarantined += 1
        result.decided = len(decisions)
        recorded = utcnow()  # a decision counts as made when it becomes visible (the store write below)
        for d in decisions:
            d.decided_at = iso(recorded)
            published = datetime.fromisoformat(fresh[d.event_id][2]["published_at"])
            d.latency_ms = round((recorded - published).total_seconds() * 1000, 3)
        self.store.record(rows, decisions)
        self.client.xack(self.stream, self.group, *[sid for sid, _ in entries])
        return result

    def _handle(self, type_name: str, items: list, received: str) -> tuple[list[EventRow], list[DecisionRow], str | None]:
        """Validate, land and decide one event type's records of a batch."""
        event_type = EVENT_TYPES[type_name]
        entity = event_type.contract()
        checked = self._validator(type_name).validate(entity, [e.data for _, e, _ in items])
        good = [(item, v) for item, v in zip(items, checked.verdicts) if v.ok]
        landed_file, lines = None, []
        if good:
            with self._seq_lock:
                self._seq += 1
                seq = self._seq
            name = batch_name(entity, self.name, seq)
            rendered = render(entity, [e.data for (_, e, _), _ in good])
            path = land(self.landing, entity, name, rendered.content)
            landed_file, lines = path.relative_to(self.landing).as_posix(), rendered.lines
        line_of = {id(item): line for (item, _), line in zip(good, lines)}
        rows = []
        for item, verdict in zip(items, checked.verdicts):
            sid, event, meta = item
            rows.append(EventRow(
                event_id=event.event_id, stream_id=sid, type=event.type, type_version=event.type_version,
                source=event.source, record_key=event.key(), published_by=meta["published_by"],
                published_at=meta["published_at"], received_at=received,
                status="landed" if verdict.ok else "quarantined", reason=verdict.reason,
                batch_file=landed_file if verdict.ok else None, batch_line=line_of.get(id(item)),
                payload=_payload(event)))
        decisions = self._decide(event_type.decision, good) if good and event_type.decision else []
        return rows, decisions, landed_file

    def _validator(self, type_name: str) -> Validator:
        with self._seq_lock:
            return self._validators.setdefault(type_name, Validator())

    def _decide(self, kind: str, good: list) -> list[DecisionRow]:
        typed = [v.typed for _, v in good]
        try:
            if kind == "bank_txn_anomaly":
                made = self.scorer.bank(typed, anomaly_threshold())
            else:
                made = self.scorer.tickets(typed)
        except Exception as exc:  # the event is landed; the batch run will score it
            log.warning("real-time %s failed: %s", kind, exc)
            return []
        out = []
        for ((_, event, meta), _), decision in zip(good, made):
            decided = utcnow()
            latency = (decided - datetime.fromisoformat(meta["published_at"])).total_seconds() * 1000
            out.append(DecisionRow(event.event_id, kind, decision.subject_id, decision.score, decision.label,
                                   decision.detail, decision.model_name, decision.model_version, iso(decided),
                                   round(latency, 3)))
        return out


def _loose(raw: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
        return doc if isinstance(doc, dict) else {}
    except ValueError:
        return {}


def _payload(event: Event) -> str:
    from events.schema import dumps

    return dumps(event)
