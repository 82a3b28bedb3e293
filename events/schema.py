"""The versioned event schema: one envelope, one payload version per event type.

    {
      "spec": "smb-event/1",                 envelope version (this module)
      "event_id": "2f6c...",                 producer-chosen id, unique per event (1-128 chars of [A-Za-z0-9_.:-])
      "type": "bank_transaction.created",    one of EVENT_TYPES
      "type_version": 1,                     payload version of that type
      "source": "bank-feed",                 optional: the producing system or connector
      "occurred_at": "2026-01-05T10:00:00Z", optional: when it happened at the source
      "data": {...}                          ONE record of the type's contract entity, keyed by the
                                             contract's column names (contracts/<system>.yml)
    }

The envelope is checked here (shape, known type and version); the record itself is checked by the same
contract validation as a file of that entity (``events.validate``), values written as the system writes
them in its exports (e.g. finance dates ``dd/mm/yyyy``, decimals with a comma; JSON numbers are accepted
for decimals and integers and written in the contract's notation).

Version policy: a change that existing producers' events would fail (a renamed or newly required field)
is a new ``type_version``; both are accepted until the old one is retired. Adding an optional contract
column is not a new version.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from smb_warehouse.ingestion.contracts import Entity, load_contracts

SPEC = "smb-event/1"
ISO_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$"


@dataclass(frozen=True)
class EventType:
    """An event type: which contract entity its record belongs to and which real-time decision it gets."""

    name: str
    system: str
    entity: str
    versions: tuple[int, ...]
    decision: str | None  # "bank_txn_anomaly" | "ticket_triage" | None
    description: str

    def contract(self) -> Entity:
        return load_contracts()[self.system].entities[self.entity]


EVENT_TYPES: dict[str, EventType] = {t.name: t for t in (
    EventType("bank_transaction.created", "finance", "bank_transactions", (1,), "bank_txn_anomaly",
              "A new bank statement line from the bank feed."),
    EventType("ap_invoice.created", "finance", "ap_invoices", (1,), None,
              "A new vendor (AP) invoice header keyed by the AP clerk."),
    EventType("support_ticket.created", "support", "tickets", (1,), "ticket_triage",
              "A new support ticket from the desk."),
)}
EventTypeName = Literal["bank_transaction.created", "ap_invoice.created", "support_ticket.created"]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Scalar = str | int | Decimal | bool | None


class Event(BaseModel):
    """One event as published. Validation errors name the field (pydantic's messages)."""

    model_config = ConfigDict(extra="forbid", str_max_length=100_000)

    spec: Literal["smb-event/1"] = Field(description="Envelope version; always `smb-event/1` for this schema.")
    event_id: EventId = Field(description="Unique id chosen by the producer; a re-sent event with the same id is "
                                          "recorded once.")
    type: EventTypeName = Field(description="Event type: which contract entity `data` is a record of.")
    type_version: StrictInt = Field(default=1, ge=1, description="Payload version of the type.")
    source: Annotated[str, StringConstraints(max_length=200)] | None = Field(default=None, description="Producing system.")
    occurred_at: Annotated[str, StringConstraints(pattern=ISO_TIMESTAMP)] | None = Field(
        default=None, description="When it happened at the source (ISO 8601 date-time with offset).")
    data: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)], Scalar] = Field(
        description="One record, keyed by the contract's column names; values as the system exports them.")

    @field_validator("type_version")
    @classmethod
    def _known_version(cls, value: int, info) -> int:
        event_type = EVENT_TYPES.get(info.data.get("type", ""))
        if event_type is not None and value not in event_type.versions:
            raise ValueError(f"type_version {value} of {event_type.name} is not supported "
                             f"(supported: {list(event_type.versions)})")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _real_timestamp(cls, value: str | None) -> str | None:
        if value is not None:
            datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        return value

    @field_validator("data")
    @classmethod
    def _finite_numbers(cls, value: dict) -> dict:
        bad = [k for k, v in value.items() if isinstance(v, Decimal) and not v.is_finite()]
        if bad:
            raise ValueError(f"non-finite number in {', '.join(bad)}")
        return value

    @property
    def event_type(self) -> EventType:
        return EVENT_TYPES[self.type]

    def key(self) -> str:
        """The record's primary key value(s) as text (``|``-joined), or '' when missing."""
        entity = self.event_type.contract()
        return "|".join("" if self.data.get(k) is None else str(self.data.get(k)) for k in entity.primary_key)


def parse(raw: bytes | str) -> Event:
    """An event from its JSON text (numbers kept exact as Decimal). Raises pydantic ``ValidationError`` or
    ``ValueError`` (not JSON) with a message naming the problem."""
    try:
        doc: Any = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    return Event.model_validate(doc)


def _json_value(value: Scalar) -> str:
    return str(value) if isinstance(value, Decimal) else json.dumps(value, ensure_ascii=False)


def dumps(event: Event) -> str:
    """The event as compact JSON, decimals written as JSON numbers digit for digit (never through float)."""
    head = event.model_dump(mode="json", exclude_none=True, exclude={"data"})
    data = ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_value(v)}" for k, v in event.data.items())
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + f',"data":{{{data}}}}}'

