"""Publishing events to the stream: what a source system's connector, the API webhook and the replay do."""
from __future__ import annotations

from typing import Any

from events import broker
from events.schema import Event, dumps
from events.store import iso, utcnow

MAXLEN = 1_000_000  # approximate cap of the stream (XADD MAXLEN ~): history for replay, bounded memory


def publish(client, event: Event, published_by: str, stream: str | None = None) -> str:
    """Append one validated ``Event`` to the stream; returns the stream entry id. ``published_by`` is who
    sent it (the API key's name, or the connector), kept with the event for the audit trail."""
    entry = {"event": dumps(event), "published_by": published_by, "published_at": iso(utcnow())}
    return client.xadd(stream or broker.stream_name(), entry, maxlen=MAXLEN, approximate=True).decode()


def publish_many(client, events: list[Event], published_by: str, stream: str | None = None) -> list[str]:
    """``publish`` for many events in one round trip (a pipeline)."""
    pipe = client.pipeline(transaction=False)
    for event in events:
        pipe.xadd(stream or broker.stream_name(), {"event": dumps(event), "published_by": published_by,
                                                   "published_at": iso(utcnow())}, maxlen=MAXLEN, approximate=True)
    return [r.decode() for r in pipe.execute()]


def publish_raw(client, fields: dict[str, Any], stream: str | None = None) -> str:
    """Append raw fields without validation (tests use it to send what a broken producer would)."""
    return client.xadd(stream or broker.stream_name(), fields).decode()
