"""Orchestrates one generation: masters first, then the day-by-day simulation in chunks (a month, or
less at large scale) with ERP -> finance -> support, then the small truth tables and the manifest."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from sme_sim import masters, support
from sme_sim.demand import LINES_PER_DAY, REGIME_START, DemandModel
from sme_sim.entities import build_world
from sme_sim.erp import ErpSim
from sme_sim.finance import FinanceSim
from sme_sim.seeds import rng_for
from sme_sim.timeutil import DEFAULT_START, calendar_from, day_to_date, month_bounds, months
from sme_sim.truth import Truth
from sme_sim.writers import Landing

GENERATOR_VERSION = "1.0"
SYSTEMS = ("erp", "crm", "finance", "support")
SCENARIOS = ("stable", "regime_change", "regime_drop")
MAX_LINES_PER_CHUNK = 200_000  # bounds memory: a chunk's order lines are built, written and dropped


def parameters(seed: int, scale: float, scenario: str, start_date: dt.date | None = None) -> dict[str, Any]:
    params = {"seed": int(seed), "scale": float(scale), "scenario": scenario, "generator_version": GENERATOR_VERSION}
    if start_date is not None and start_date != DEFAULT_START:  # default generations keep their manifest as it was
        params["start_date"] = start_date.isoformat()
    return params


def chunks(scale: float) -> list[tuple[int, int, int]]:
    """(first day, last day, month index); months split into equal parts when they would be large."""
    out = []
    for m in range(len(months())):
        first, last = month_bounds(m)
        days = last - first + 1
        parts = int(min(days, max(1, np.ceil(LINES_PER_DAY * scale * days * 1.3 / MAX_LINES_PER_CHUNK))))
        edges = np.linspace(first, last + 1, parts + 1).round().astype(int)
        out += [(int(a), int(b) - 1, m) for a, b in zip(edges[:-1], edges[1:])]
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def existing_manifest(out: Path, truth: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    """The previous generation's manifest if it matches these parameters and its files are present."""
    path = truth / "manifest.json"
    if not path.exists():
        return None
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    if man.get("parameters") != params:
        return None
    for f in man.get("files", []):
        base = out if f["area"] == "landing" else truth
        if not (base / f["path"]).exists():
            return None
    return man


def _clear(out: Path, truth: Path) -> None:
    for system in SYSTEMS:
        shutil.rmtree(out / system, ignore_errors=True)
    if truth.exists():
        for p in list(truth.glob("*.csv")) + [truth / "manifest.json"]:
            p.unlink(missing_ok=True)


def generate(out: Path, truth: Path, seed: int = 42, scale: float = 1.0, scenario: str = "stable",
             force: bool = True, start_date: dt.date | None = None) -> dict[str, Any]:
    """Generate landing extracts under `out` and ground truth under `truth`; returns the manifest.
    ``start_date`` (a January 1st; default 2024-01-01) is the first simulated day: the same simulation on
    other calendar dates (weekdays and seasons follow the calendar)."""
    with calendar_from(start_date):
        return _generate(out, truth, seed, scale, scenario, force, start_date)


def _generate(out: Path, truth: Path, seed: int, scale: float, scenario: str, force: bool,
              start_date: dt.date | None) -> dict[str, Any]:
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    if scale <= 0:
        raise ValueError("scale must be positive")
    out, truth = Path(out), Path(truth)
    params = parameters(seed, scale, scenario, start_date)
    if not force:
        man = existing_manifest(out, truth, params)
        if man is not None:
            return man | {"skipped": True}
    _clear(out, truth)
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(seed, scale)
    dm = DemandModel(seed, scale, world.products, len(world.locations), scenario)
    tr = Truth(truth)
    landing = Landing(out, rng_for(seed, "corruption"))

    drift = masters.write_erp_customers(seed, world, landing, tr)
    masters.write_erp_suppliers_products(seed, world, landing, tr)
    masters.write_crm(seed, scale, world, dm, landing, tr)
    support.write_kb(seed, world, dm, landing)
    landing.close_all()

    erp = ErpSim(seed, scale, world, dm, landing, tr)
    fin = FinanceSim(seed, scale, world, landing, tr)
    sup = support.SupportSim(seed, scale, world, dm, landing, tr)
    keys = months()
    last_month = -1
    for d0, d1, m in chunks(scale):
        res = erp.run_chunk(d0, d1)
        fin.on_orders(res["orders"], d0)
        fin.on_receipts(res["receipts"], d0)
        if m != last_month:
            fin.service_invoices(m)
            if m > 0:
                landing.close_before(keys[m - 1])
            last_month = m
        fin.flush(d0, d1)
        sup.run_chunk(d0, d1)
    landing.close_all()
    sup.finish()

    tr.rows("entities.csv", [("customer", "finance", "ar_invoices", d["debtor_id"], t)
                             for t, d in sorted(world.debtors.items()) if d["debtor_id"] in fin.debtors_used])
    tr.rows("entities.csv", [("supplier", "finance", "ap_invoices", v["vendor_id"], v["true_id"])
                             for v in world.vendors if v["vendor_id"] in fin.vendors_used])
    tr.close()
    tr.table("malformed_rows.csv", ["system", "entity", "file", "line", "kind", "column"], landing.malformed)
    tr.table("schema_drift.csv", ["system", "entity", "file", "extract_version", "change"], drift)
    tr.table("regime_changes.csv", ["sku", "location_id", "change_date", "affected", "level_factor", "weekly_profile",
                                    "yearly_seasonality"],
             [(p["sku"], "*", day_to_date(REGIME_START).isoformat(), "true" if dm.regime[i] else "false",
               round(float(dm.regime_level[i]), 4), "weekend_heavy" if dm.regime[i] else "b2b_weekday",
               "inverted" if dm.regime[i] else "unchanged") for i, p in enumerate(world.products)]
             if scenario != "stable" else [])
    tr.table("companies.csv", ["true_entity_id", "entity_type", "name", "country", "domain", "is_customer"],
             [(c["true_id"], "customer", c["name"], c["country"], c["domain"], "true" if c["is_customer"] else "false")
              for c in world.companies]
             + [(s["true_id"], "supplier", s["supplier_name"], s["country"], None, "false") for s in world.suppliers]
             + [(p["true_id"], "product", p["product_name"], None, None, "false") for p in world.products])
    return write_manifest(out, truth, params, landing)


def write_manifest(out: Path, truth: Path, params: dict[str, Any], landing: Landing) -> dict[str, Any]:
    files = []
    for rel in sorted(landing.files):
        st = landing.files[rel]
        files.append({"area": "landing", "path": rel, "rows": st.rows, "sha256": _sha256(out / rel)})
    for p in sorted(truth.glob("*.csv")):
        with p.open("rb") as f:
            rows = sum(1 for _ in f) - 1
        files.append({"area": "ground_truth", "path": p.name, "rows": rows, "sha256": _sha256(p)})
    counts: dict[str, int] = {}
    for f in files:
        if f["area"] == "landing":
            key = "/".join(f["path"].split("/")[:2])
            counts[key] = counts.get(key, 0) + f["rows"]
    man = {"parameters": params, "row_counts": dict(sorted(counts.items())), "files": files}
    (truth / "manifest.json").write_text(json.dumps(man, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return man
