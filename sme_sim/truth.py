"""Ground-truth files. Big tables (demand means, entities, labels) are streamed to disk as they are
produced; small ones are collected and written at the end. Never loaded into the warehouse."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np

from sme_sim.timeutil import fmt_dates
from sme_sim.writers import _csv_escape, fmt_decimal

STREAMED = {
    "demand_means.csv": ["date", "sku", "location_id", "true_mean", "stockout"],
    "entities.csv": ["entity_type", "system", "source_entity", "source_id", "true_entity_id"],
    "ap_invoice_matches.csv": ["invoice_id", "true_po_number", "scenario", "duplicate_of"],
    "ticket_labels.csv": ["ticket_id", "true_category", "true_priority", "source_category", "source_priority",
                          "true_customer_id", "true_sku", "incident_id"],
    "bank_anomalies.csv": ["txn_id", "anomaly_type"],
}


class Truth:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.counters: dict[str, int] = {}
        self._handles: dict[str, IO[str]] = {}
        for name, header in STREAMED.items():
            h = (root / name).open("w", encoding="utf-8", newline="")
            h.write(",".join(header) + "\n")
            self._handles[name] = h

    def rows(self, name: str, rows: Iterable[Iterable[object]]) -> None:
        """Append rows (tuples) to a streamed truth table."""
        h = self._handles[name]
        h.write("".join(",".join(_csv_escape(v, ",") if v is not None else "" for v in r) + "\n" for r in rows))

    def append_demand(self, days: np.ndarray, skus: np.ndarray, locs: np.ndarray, mean: np.ndarray,
                      stockout: np.ndarray) -> None:
        d = fmt_dates(days)
        m = fmt_decimal(mean, ".", 4)
        so = np.where(stockout, "true", "false").astype(object)
        lines = d + "," + skus + "," + locs + "," + m + "," + so
        self._handles["demand_means.csv"].write("\n".join(lines.tolist()) + "\n")

    def table(self, name: str, header: list[str], rows: Iterable[Iterable[object]]) -> None:
        """Write a small, complete truth table in one go."""
        with (self.root / name).open("w", encoding="utf-8", newline="") as h:
            h.write(",".join(header) + "\n")
            for r in rows:
                h.write(",".join(_csv_escape(v, ",") if v is not None else "" for v in r) + "\n")

    def close(self) -> None:
        for h in self._handles.values():
            h.close()
