"""Malformed-row injection. The loader must quarantine these rows, so every one is recorded in the
ground truth with its physical line. Corruption works on already formatted cell strings, so what is
recorded is exactly what was written; id columns are never touched (truth lists them per source id)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smb_warehouse.ingestion.contracts import Entity

# Columns whose value identifies the row/source entity; breaking them would make truth unmappable.
PROTECTED = {"debtor_id", "vendor_id", "customer_email", "account_id", "customer_id", "supplier_id", "sku",
             "po_number", "order_id", "invoice_id", "txn_id", "payment_id", "ticket_id", "contact_id"}

BAD_DATES = {"iso": "2024-13-45", "eu": "45/13/2024"}
BAD_TS = {"iso": "2024-13-45 25:61:00", "isoT": "2024-13-45T25:61:00Z"}


@dataclass(frozen=True)
class Corruption:
    kind: str
    column: str  # '' for row-level kinds (extra_field, broken_json)


def pick_rows(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    if n == 0 or rate <= 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(rng.random(n) < rate)


def choose(rng: np.random.Generator, entity: Entity, file_type: str) -> Corruption:
    """Pick a corruption kind that is possible for this entity and file format."""
    protected = set(entity.primary_key) | PROTECTED
    free = [c for c in entity.columns if c.name not in protected]
    options: list[Corruption] = []
    options += [Corruption("wrong_type", c.name) for c in free if c.type in ("integer", "decimal")]
    options += [Corruption("bad_date", c.name) for c in free if c.type in ("date", "timestamp")]
    options += [Corruption("missing_required", c.name) for c in free if c.required]
    options += [Corruption("bad_accepted_value", c.name) for c in free if c.accepted_values]
    # Group by kind first so a wide entity does not only get one kind of damage.
    kinds = sorted({o.kind for o in options})
    if file_type == "csv":
        kinds.append("extra_field")
    elif file_type == "ndjson":
        kinds.append("broken_json")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind in ("extra_field", "broken_json"):
        return Corruption(kind, "")
    cands = [o for o in options if o.kind == kind]
    return cands[int(rng.integers(len(cands)))]


def bad_value(corr: Corruption, col_type: str, date_style: str, ts_style: str) -> str | None:
    """The malformed cell value for a column-level corruption."""
    if corr.kind == "wrong_type":
        return "12x"
    if corr.kind == "bad_date":
        return BAD_DATES[date_style] if col_type == "date" else BAD_TS[ts_style]
    if corr.kind == "missing_required":
        return None
    return "not_a_valid_value"
