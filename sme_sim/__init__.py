"""Simulated SME source systems (ERP, CRM, finance, support desk) with a separate ground truth.

`generate(out, truth, seed, scale, scenario, start_date=None)` writes contract-conforming extracts to the landing
folder and the answers (entity links, invoice matches, demand means, anomalies, labels, malformed
rows) to the ground-truth folder. Deterministic: same parameters -> byte-identical files."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any


def generate(out: Path, truth: Path, seed: int = 42, scale: float = 1.0, scenario: str = "stable",
             force: bool = True, start_date: dt.date | None = None) -> dict[str, Any]:
    """``start_date``: first simulated day, a January 1st (default 2024-01-01); 731 days are simulated."""
    from sme_sim.pipeline import generate as _generate

    return _generate(Path(out), Path(truth), seed=seed, scale=scale, scenario=scenario, force=force, start_date=start_date)


__all__ = ["generate"]
