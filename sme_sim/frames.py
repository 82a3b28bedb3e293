"""Small helpers shared by the simulators: event queues, batch keys, DataFrame -> writer columns."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sme_sim.timeutil import month_of_day, months


class EventQueue:
    """Rows that happen on a later day than the chunk that created them (receipts, invoices,
    payments). Holds at most a few months of events, so memory stays bounded."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def push(self, df: pd.DataFrame) -> None:
        if len(df):
            self.parts.append(df)

    def pop(self, until_day: int, col: str = "day") -> pd.DataFrame | None:
        if not self.parts:
            return None
        df = pd.concat(self.parts, ignore_index=True) if len(self.parts) > 1 else self.parts[0]
        due = (df[col] <= until_day).to_numpy()
        rest = df[~due]
        self.parts = [rest.reset_index(drop=True)] if len(rest) else []
        out = df[due]
        if not len(out):
            return None
        return out.sort_values(col, kind="stable").reset_index(drop=True)


MONTHS = np.array(months(), dtype=object)


def batch_keys(days: np.ndarray, rng: np.random.Generator | None = None, late_rate: float = 0.0,
               late_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Monthly batch key per row; a few rows arrive one batch late. Returns (keys, is_late)."""
    m = np.clip(month_of_day(days), 0, len(MONTHS) - 1)
    if late_mask is None:
        late_mask = rng.random(len(m)) < late_rate if (rng is not None and late_rate > 0) else np.zeros(len(m), bool)
    late = late_mask & (m < len(MONTHS) - 1)
    return MONTHS[m + late], late


def cols(df: pd.DataFrame, names: list[str]) -> dict[str, np.ndarray]:
    """DataFrame columns as numpy arrays for Landing.write (strings as objects with None for null)."""
    out: dict[str, np.ndarray] = {}
    for n in names:
        s = df[n]
        if s.dtype.kind in "iufb":
            out[n] = s.to_numpy()
        else:
            arr = s.to_numpy(dtype=object, copy=True)
            arr[pd.isna(arr)] = None
            out[n] = arr
    return out
